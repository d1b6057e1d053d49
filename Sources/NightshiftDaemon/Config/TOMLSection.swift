import Nightshift
import TOMLKit

/// A table of a parsed TOML file with its full key, read value by value. Every error names the file,
/// the full key, what was expected and what was found.
struct TOMLSection {
    /// The file, as named in messages.
    let path: String
    /// The table's full key (`agents.build`); `nil` for the whole file.
    let key: String?
    /// The table.
    let table: TOMLTable

    /// Parses a TOML document; a syntax error names the file, line and column.
    static func parse(_ toml: String, path: String) throws(NightshiftError) -> TOMLSection {
        do {
            return TOMLSection(path: path, key: nil, table: try TOMLTable(string: toml))
        } catch let error as TOMLParseError {
            let start = error.source.begin
            throw NightshiftError(
                .invalidInput, "\(path): line \(start.line), column \(start.column): invalid TOML: \(error.description)")
        } catch {
            throw NightshiftError(.invalidInput, "\(path): invalid TOML: \(error)")
        }
    }

    /// The full key of `name` in this table.
    func key(_ name: String) -> String {
        key.map { "\($0).\(name)" } ?? name
    }

    /// An `invalid_input` error about `key` whose field is the key.
    func error(key: String, _ message: String) -> NightshiftError {
        NightshiftError(.invalidInput, "\(path): \(key): \(message)", field: key)
    }

    /// Rejects the first key, in sorted order, that is not in `allowed`, so typos don't pass silently.
    func checkKeys(_ allowed: [String]) throws(NightshiftError) {
        if let unknown = table.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw error(key: key(unknown), "unknown key; expected one of \(allowed.sorted().joined(separator: ", "))")
        }
    }

    /// The value at `name` converted as `expected` says; `nil` when absent.
    func value<T>(_ name: String, _ expected: Expected<T>) throws(NightshiftError) -> T? {
        guard let value = table[name] else { return nil }
        guard let converted = expected.convert(value) else {
            throw error(key: key(name), "expected \(expected.description), found \(Self.describe(value))")
        }
        return converted
    }

    /// The value at `name` converted as `expected` says; an error when absent.
    func required<T>(_ name: String, _ expected: Expected<T>) throws(NightshiftError) -> T {
        guard let found = try value(name, expected) else {
            throw error(key: key(name), "missing; expected \(expected.description)")
        }
        return found
    }

    /// The table at `name`; `nil` when absent.
    func section(_ name: String) throws(NightshiftError) -> TOMLSection? {
        try value(name, .table).map { TOMLSection(path: path, key: key(name), table: $0) }
    }

    /// Every value, which must be a table, by name in sorted order.
    func sections() throws(NightshiftError) -> [(name: String, section: TOMLSection)] {
        var sections: [(name: String, section: TOMLSection)] = []
        for name in table.keys.sorted() {
            sections.append((name, TOMLSection(path: path, key: key(name), table: try required(name, .table))))
        }
        return sections
    }

    /// A value for a message: `5.5 (a float)`, `"abc" (a string)`, `a table`.
    static func describe(_ value: any TOMLValueConvertible) -> String {
        let kind = switch value.type {
        case .table: "a table"
        case .array: "an array"
        case .string: "a string"
        case .int: "an integer"
        case .double: "a float"
        case .bool: "a boolean"
        case .date: "a date"
        case .time: "a time"
        case .dateTime: "a date-time"
        }
        return value.type == .table ? kind : "\(value.debugDescription) (\(kind))"
    }
}

/// What a value must be, in words for messages, and how to convert it (`nil` when it is not).
struct Expected<T> {
    /// The expectation in words: `an integer ≥ 1`.
    let description: String
    /// The converted value, or `nil` when the value does not meet the expectation.
    let convert: (any TOMLValueConvertible) -> T?
}

extension Expected<TOMLTable> {
    /// A table.
    static var table: Self { Self(description: "a table") { $0.table } }
}

extension Expected<String> {
    /// A string.
    static var string: Self { Self(description: "a string") { $0.string } }

    /// One of `choices`.
    static func oneOf(_ choices: [String]) -> Self {
        Self(description: "one of " + choices.map { "\"\($0)\"" }.joined(separator: ", ")) { value in
            value.string.flatMap { choices.contains($0) ? $0 : nil }
        }
    }
}

extension Expected<Int> {
    /// An integer ≥ 1.
    static var positiveInteger: Self {
        Self(description: "an integer ≥ 1") { value in value.int.flatMap { $0 >= 1 ? $0 : nil } }
    }

    /// An integer ≥ 0.
    static var nonNegativeInteger: Self {
        Self(description: "an integer ≥ 0") { value in value.int.flatMap { $0 >= 0 ? $0 : nil } }
    }
}

extension Expected<[String]> {
    /// An array of strings, possibly empty.
    static var strings: Self { Self(description: "an array of strings") { stringArray($0) } }

    /// An array of at least one string.
    static var nonEmptyStrings: Self {
        Self(description: "a non-empty array of strings") { value in stringArray(value).flatMap { $0.isEmpty ? nil : $0 } }
    }

    private static func stringArray(_ value: any TOMLValueConvertible) -> [String]? {
        guard let array = value.array else { return nil }
        let strings = array.compactMap(\.string)
        return strings.count == array.count ? strings : nil
    }
}

extension Expected<Double> {
    /// A duration in seconds: a string `NightshiftConfig.parseDuration` accepts or an integer ≥ 0.
    static var duration: Self {
        Self(description: "a duration like \"30m\", \"1h30m\" or a whole number of seconds") { value in
            if let seconds = value.int { return seconds >= 0 ? Double(seconds) : nil }
            return value.string.flatMap(NightshiftConfig.parseDuration)
        }
    }

    /// A duration longer than zero.
    static var positiveDuration: Self {
        Self(description: "a duration > 0 like \"30m\", \"1h30m\" or a whole number of seconds") { value in
            duration.convert(value).flatMap { $0 > 0 ? $0 : nil }
        }
    }
}

extension Expected<Double> {
    /// A number > 0 (an integer or a float).
    static var positiveNumber: Self {
        Self(description: "a number > 0") { value in
            let number = value.double ?? value.int.map(Double.init)
            return number.flatMap { $0 > 0 && $0.isFinite ? $0 : nil }
        }
    }
}

extension Expected<Bool> {
    /// `true` or `false`.
    static var bool: Self { Self(description: "true or false") { $0.bool } }
}

extension Expected<ListenAddress> {
    /// `HOST:PORT`.
    static var listenAddress: Self {
        Self(description: "HOST:PORT like \"127.0.0.1:7777\"") { value in
            value.string.flatMap { try? ListenAddress.parse($0) }
        }
    }
}

extension Expected<AgentRate> {
    /// A rate `"N/window"` (`"30/1h"`).
    static var rate: Self {
        Self(description: "a rate \"N/window\" with N ≥ 1 and a window > 0 in s, m, h or d (e.g. \"30/1h\")") { value in
            value.string.flatMap { try? AgentRate(parsing: $0) }
        }
    }
}
