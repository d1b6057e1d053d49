import Nightshift

/// One argument of a chat tool (``ChatTools``): its name, what it takes and what it is for. The
/// tool's JSON Schema and the check of a call's arguments are both made from these, so they agree.
public struct ChatToolArgument: Sendable, Hashable {
    /// What an argument takes. A closed set that may grow: a struct with static members.
    public struct Kind: Sendable, Hashable {
        /// The JSON Schema of a value of the kind.
        let schema: JSONValue
        /// How the kind is named after "expected".
        let expectation: String
        /// Whether `value` is of the kind.
        let accepts: @Sendable (JSONValue) -> Bool
        /// The members of an object kind (checked one by one), else empty.
        let members: [ChatToolArgument]

        /// A string.
        public static let string = Kind(schema: ["type": "string"], expectation: "a string") { $0.stringValue != nil }
        /// `true` or `false`.
        public static let boolean = Kind(schema: ["type": "boolean"], expectation: "true or false") {
            if case .bool = $0 { return true }
            return false
        }
        /// An array of strings.
        public static let strings = Kind(schema: ["type": "array", "items": ["type": "string"]], expectation: "an array of strings") {
            $0.arrayValue?.allSatisfy { $0.stringValue != nil } ?? false
        }

        /// An integer from `minimum` to `maximum` (a number without a fraction counts).
        public static func integer(minimum: Int64, maximum: Int64? = nil) -> Kind {
            var schema: [String: JSONValue] = ["type": "integer", "minimum": .int(minimum)]
            if let maximum { schema["maximum"] = .int(maximum) }
            let range = maximum.map { "from \(minimum) to \($0)" } ?? "≥ \(minimum)"
            return Kind(schema: .object(schema), expectation: "an integer \(range)") { value in
                guard let integer = Self.integer(value) else { return false }
                return integer >= minimum && integer <= (maximum ?? .max)
            }
        }

        /// A number greater than 0.
        public static let positiveNumber = Kind(schema: ["type": "number", "exclusiveMinimum": 0], expectation: "a number > 0") {
            ($0.doubleValue ?? 0) > 0
        }

        /// One of `choices`.
        public static func choice(_ choices: [String]) -> Kind {
            Kind(
                schema: ["type": "string", "enum": .array(choices.map(JSONValue.string))],
                expectation: "one of " + choices.joined(separator: ", ")
            ) { choices.contains($0.stringValue ?? "") }
        }

        /// An object with `members` (and no others).
        public static func object(_ members: [ChatToolArgument]) -> Kind {
            Kind(schema: ChatToolArgument.schema(of: members), expectation: "an object", accepts: { $0.objectValue != nil }, members: members)
        }

        init(
            schema: JSONValue, expectation: String, accepts: @escaping @Sendable (JSONValue) -> Bool, members: [ChatToolArgument] = []
        ) {
            self.schema = schema
            self.expectation = expectation
            self.accepts = accepts
            self.members = members
        }

        /// `value` as an integer: an integer, or a number without a fraction.
        static func integer(_ value: JSONValue) -> Int64? {
            switch value {
            case .int(let integer): integer
            case .double(let number) where number.rounded() == number && abs(number) < 9e15: Int64(number)
            default: nil
            }
        }

        /// Two kinds are the same when their schemas are.
        public static func == (lhs: Kind, rhs: Kind) -> Bool { lhs.schema == rhs.schema }
        /// Hashes the schema.
        public func hash(into hasher: inout Hasher) { hasher.combine(schema) }
    }

    /// The argument's name, as the call gives it.
    public var name: String
    /// What it takes.
    public var kind: Kind
    /// What it is for, for the model.
    public var description: String
    /// Whether a call must give it.
    public var required: Bool

    /// An argument.
    public init(_ name: String, _ kind: Kind, required: Bool = false, _ description: String) {
        self.name = name
        self.kind = kind
        self.description = description
        self.required = required
    }

    /// The JSON Schema of an object with `arguments` as its properties: no others allowed.
    static func schema(of arguments: [ChatToolArgument]) -> JSONValue {
        var properties: [String: JSONValue] = [:]
        for argument in arguments {
            var schema = argument.kind.schema.objectValue ?? [:]
            schema["description"] = .string(argument.description)
            properties[argument.name] = .object(schema)
        }
        return [
            "type": "object",
            "properties": .object(properties),
            "required": .array(arguments.filter(\.required).map { .string($0.name) }),
            "additionalProperties": false,
        ]
    }

    /// Checks `value` against `arguments` (`prefix` before each name, as `origin.`): a missing
    /// required one, an unknown one or one of the wrong type is refused with a sentence naming it
    /// (`labels: expected an array of strings, got an integer`). A `null` is as if absent.
    static func check(_ value: JSONValue, against arguments: [ChatToolArgument], prefix: String = "") -> ChatTools.Problem? {
        guard let members = value.objectValue else {
            return ChatTools.Problem(prefix.isEmpty ? "arguments: expected an object, got \(value.kindName)" : "\(prefix.dropLast()): expected an object, got \(value.kindName)")
        }
        let known = Set(arguments.map(\.name))
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            let names = arguments.map(\.name).joined(separator: ", ")
            return ChatTools.Problem("\(prefix)\(unknown): no such argument (expected \(names))")
        }
        for argument in arguments {
            let name = prefix + argument.name
            guard let given = members[argument.name], given != .null else {
                if argument.required { return ChatTools.Problem("\(name): required (\(argument.kind.expectation))") }
                continue
            }
            guard argument.kind.accepts(given) else {
                return ChatTools.Problem("\(name): expected \(argument.kind.expectation), got \(Self.describe(given))")
            }
            if !argument.kind.members.isEmpty, let problem = check(given, against: argument.kind.members, prefix: name + ".") {
                return problem
            }
        }
        return nil
    }

    /// How a wrong value is named: its kind, and a short scalar as it is (`a string ("soon")`).
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): "\(value.kindName) (\(JSONValue.string(String(text.prefix(40))).jsonText))"
        case .int, .double, .bool: "\(value.kindName) (\(value.jsonText))"
        default: value.kindName
        }
    }
}
