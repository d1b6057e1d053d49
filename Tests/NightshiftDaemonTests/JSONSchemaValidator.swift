import Foundation
import Nightshift

/// Checks a JSON value against a schema of the OpenAPI document, for the subset of JSON Schema the
/// document uses: `$ref`, `type` (one or several, `null` among them), `properties`, `required`,
/// `additionalProperties: false`, `items`, `enum`, `const`, `oneOf`, `anyOf`, `format: date-time`.
/// Answers every violation, each with the path of the member at fault.
struct JSONSchemaValidator {
    /// The document whose `#/components/schemas/…` a `$ref` names.
    let document: JSONValue

    /// The violations of `schema` by `value`; empty when it conforms.
    func violations(of value: JSONValue, against schema: JSONValue, at path: String = "$") -> [String] {
        if let reference = schema["$ref"]?.stringValue {
            guard let target = resolve(reference) else { return ["\(path): unresolvable $ref \(reference)"] }
            return violations(of: value, against: target, at: path)
        }
        var found: [String] = []
        if let types = Self.types(schema), !types.contains(where: { Self.value(value, is: $0) }) {
            return ["\(path): expected \(types.sorted().joined(separator: " or ")), got \(value.kindName)"]
        }
        if case .array(let allowed)? = schema["enum"], !allowed.contains(value) {
            found.append("\(path): \(value.jsonText) is not one of \(JSONValue.array(allowed).jsonText)")
        }
        if let constant = schema["const"], constant != value {
            found.append("\(path): expected \(constant.jsonText), got \(value.jsonText)")
        }
        if schema["format"] == "date-time", case .string(let text) = value,
           (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) == nil
        {
            found.append("\(path): '\(text)' is not an RFC 3339 time with fractional seconds")
        }
        for (keyword, exactlyOne) in [("oneOf", true), ("anyOf", false)] {
            guard case .array(let options)? = schema[keyword] else { continue }
            let matching = options.filter { violations(of: value, against: $0, at: path).isEmpty }.count
            if exactlyOne ? matching != 1 : matching == 0 {
                found.append("\(path): matches \(matching) of the \(options.count) schemas of \(keyword)")
            }
        }
        if case .object(let members) = value {
            let properties = schema["properties"]?.objectValue ?? [:]
            if case .array(let required)? = schema["required"] {
                for case .string(let name) in required where members[name] == nil {
                    found.append("\(path): the required member \(name) is missing")
                }
            }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                if let property = properties[name] {
                    found += violations(of: member, against: property, at: "\(path).\(name)")
                } else if schema["additionalProperties"] == false {
                    found.append("\(path): the member \(name) is not documented")
                }
            }
        }
        if case .array(let items) = value, let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() {
                found += violations(of: item, against: itemSchema, at: "\(path)[\(index)]")
            }
        }
        return found
    }

    func resolve(_ reference: String) -> JSONValue? {
        guard reference.hasPrefix("#/components/schemas/") else { return nil }
        return document["components"]?["schemas"]?[String(reference.dropFirst("#/components/schemas/".count))]
    }

    /// The `type` keyword as a set of names, nil when the schema sets none.
    static func types(_ schema: JSONValue) -> Set<String>? {
        switch schema["type"] {
        case .string(let type)?: [type]
        case .array(let types)?: Set(types.compactMap(\.stringValue))
        default: nil
        }
    }

    static func value(_ value: JSONValue, is type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): true
        case ("number", .int), ("number", .double), ("integer", .int): true
        case ("integer", .double(let number)): number.rounded() == number
        default: false
        }
    }
}
