import Nightshift

/// Reads an agent's runner config key by key, checking each value's type, and at the end rejects
/// any key nobody asked for, so a typo stops start-up instead of being ignored.
///
/// Errors are `invalid_input` whose field is the key and whose message names the agent.
struct RunnerConfigReader {
    /// The agent whose config is read.
    let agent: Agent
    private let values: [String: JSONValue]
    private var read: Set<String> = []

    /// A reader of `agent.config` (a JSON object; anything else is an error).
    init(_ agent: Agent) throws(NightshiftError) {
        self.agent = agent
        guard let object = agent.config.objectValue else {
            throw NightshiftError(.invalidInput, "agent \(agent.name): config expected a JSON object", field: "config")
        }
        values = object
    }

    /// The error for `key`: the agent, the key and what was expected.
    func problem(_ key: String, _ expected: String) -> NightshiftError {
        NightshiftError(.invalidInput, "agent \(agent.name) (\(agent.runner)): config key '\(key)' expected \(expected)", field: key)
    }

    private mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let value = values[key], value != .null else { return nil }
        return value
    }

    /// A string, if set.
    mutating func string(_ key: String, nonEmpty: Bool = true) throws(NightshiftError) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue, !nonEmpty || !text.isEmpty else { throw problem(key, "a non-empty string") }
        return text
    }

    /// One of `choices`, if set.
    mutating func choice(_ key: String, _ choices: [String]) throws(NightshiftError) -> String? {
        guard let text = try string(key) else { return nil }
        guard choices.contains(text) else { throw problem(key, "one of \(choices.joined(separator: ", ")), got '\(text)'") }
        return text
    }

    /// An integer ≥ `minimum`, if set.
    mutating func integer(_ key: String, minimum: Int = 1) throws(NightshiftError) -> Int? {
        guard let value = value(key) else { return nil }
        guard case .int(let number) = value, number >= minimum else { throw problem(key, "an integer ≥ \(minimum)") }
        return Int(number)
    }

    /// A finite number ≥ 0, if set.
    mutating func number(_ key: String) throws(NightshiftError) -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.doubleValue, number >= 0, number.isFinite else { throw problem(key, "a number ≥ 0") }
        return number
    }

    /// A boolean, if set.
    mutating func bool(_ key: String) throws(NightshiftError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else { throw problem(key, "true or false") }
        return flag
    }

    /// An array of strings, if set.
    mutating func strings(_ key: String) throws(NightshiftError) -> [String]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else { throw problem(key, "an array of strings") }
        let strings = items.compactMap(\.stringValue)
        guard strings.count == items.count else { throw problem(key, "an array of strings") }
        return strings
    }

    /// An array of environment variable names, if set.
    mutating func variableNames(_ key: String) throws(NightshiftError) -> [String]? {
        let names = try strings(key)
        if let names, !names.allSatisfy(CommandInvocation.isVariableName) {
            throw problem(key, "an array of environment variable names")
        }
        return names
    }

    /// A JSON object, if set.
    mutating func object(_ key: String) throws(NightshiftError) -> [String: JSONValue]? {
        guard let value = value(key) else { return nil }
        guard let object = value.objectValue else { throw problem(key, "a table (JSON object)") }
        return object
    }

    /// Throws for the first key (in sorted order) that was never read.
    func finish() throws(NightshiftError) {
        if let unknown = values.keys.sorted().first(where: { !read.contains($0) }) {
            throw NightshiftError(
                .invalidInput,
                "agent \(agent.name): unknown config key '\(unknown)' for runner \(agent.runner); known keys: \(read.sorted().joined(separator: ", "))",
                field: unknown)
        }
    }
}
