import Foundation
import Nightshift

/// Reads a wire value from the API's JSON, strictly and with errors that name the member
/// (`invalid_input`, field `labels[2]`): a string must be a string, an integer an integer (a
/// number with no fraction counts), a time RFC 3339 or seconds since 1970 (``JSONTime``). A
/// `null` member is as if absent; an absent required one "is required".
struct WireDecoder {
    /// `T` read from `value`.
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try Decoding(value: value, codingPath: []).read(type)
    }

    /// The field an error names: `labels[2]`, `context.branch`.
    static func field(_ path: [any CodingKey]) -> String {
        var field = ""
        for key in path {
            if let index = key.intValue {
                field += "[\(index)]"
            } else {
                field += field.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return field.isEmpty ? "body" : field
    }

    static func mismatch(_ expected: String, _ value: JSONValue, _ path: [any CodingKey]) -> NightshiftError {
        NightshiftError(.invalidInput, "expected \(expected), got \(value.kindName)", field: field(path))
    }

    /// How a type is named in "expected …" and "is required (…)".
    static func expectation(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Double.Type, is Float.Type: "a number"
        case is any BinaryInteger.Type: "an integer"
        case is [String].Type: "an array of strings"
        case is Date.Type: "an RFC 3339 time"
        default: "an object"
        }
    }

    struct Index: CodingKey {
        var intValue: Int?
        var stringValue: String { "\(intValue ?? 0)" }
        init(_ index: Int) { intValue = index }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { self.intValue = intValue }
    }

    struct Decoding: Decoder {
        let value: JSONValue
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func read<T: Decodable>(_ type: T.Type) throws -> T {
            switch type {
            case is JSONValue.Type: return value as! T
            case is Date.Type: return try JSONTime.date(value, field: field(codingPath)) as! T
            case is String.Type:
                guard case .string(let text) = value else { throw mismatch("a string", value, codingPath) }
                return text as! T
            case is Bool.Type:
                guard case .bool(let flag) = value else { throw mismatch("true or false", value, codingPath) }
                return flag as! T
            case is Double.Type:
                guard let number = value.doubleValue else { throw mismatch("a number", value, codingPath) }
                return number as! T
            case let integer as any FixedWidthInteger.Type:
                return try Self.integer(integer, value, codingPath) as! T
            case is [String].Type:
                guard case .array = value else { throw mismatch("an array of strings", value, codingPath) }
                return try T(from: self)
            default:
                return try T(from: self)
            }
        }

        static func integer<I: FixedWidthInteger>(_ type: I.Type, _ value: JSONValue, _ path: [any CodingKey]) throws -> I {
            let whole: Int64? = switch value {
            case .int(let number): number
            case .double(let number) where number.rounded() == number && abs(number) < 1e15: Int64(number)
            default: nil
            }
            guard let whole, let exact = I(exactly: whole) else { throw mismatch("an integer", value, path) }
            return exact
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            guard case .object(let members) = value else {
                if codingPath.isEmpty {
                    throw NightshiftError(.invalidInput, "expected a JSON object as the request body", field: "body")
                }
                throw mismatch("an object", value, codingPath)
            }
            return KeyedDecodingContainer(Keyed(members: members, codingPath: codingPath))
        }

        func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
            guard case .array(let items) = value else { throw mismatch("an array", value, codingPath) }
            return Unkeyed(items: items, codingPath: codingPath)
        }

        func singleValueContainer() throws -> any SingleValueDecodingContainer { Single(decoding: self) }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let members: [String: JSONValue]
        let codingPath: [any CodingKey]
        var allKeys: [Key] { members.keys.compactMap(Key.init(stringValue:)) }

        func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

        func decodeNil(forKey key: Key) throws -> Bool { (members[key.stringValue] ?? .null) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let value = members[key.stringValue], value != .null || type == JSONValue.self else {
                throw NightshiftError(.invalidInput, "is required (\(expectation(type)))", field: field(codingPath + [key]))
            }
            return try Decoding(value: value, codingPath: codingPath + [key]).read(type)
        }

        func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
            guard let value = members[key.stringValue], value != .null else { return nil }
            return try Decoding(value: value, codingPath: codingPath + [key]).read(type)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try Decoding(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try Decoding(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key]).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { Decoding(value: .object(members), codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder {
            Decoding(value: members[key.stringValue] ?? .null, codingPath: codingPath + [key])
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let items: [JSONValue]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }

        mutating func next() throws -> Decoding {
            guard !isAtEnd else {
                throw NightshiftError(.invalidInput, "expected more items", field: field(codingPath))
            }
            defer { currentIndex += 1 }
            return Decoding(value: items[currentIndex], codingPath: codingPath + [Index(currentIndex)])
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, items[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().read(type) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }
        mutating func superDecoder() throws -> any Decoder { try next() }
    }

    struct Single: SingleValueDecodingContainer {
        let decoding: Decoding
        var codingPath: [any CodingKey] { decoding.codingPath }

        func decodeNil() -> Bool { decoding.value == .null }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            // ``JSONValue`` tries an integer before a number: `2.0` stays a number.
            if case .double = decoding.value, type is any FixedWidthInteger.Type { throw mismatch("an integer", decoding.value, codingPath) }
            return try decoding.read(type)
        }
    }
}
