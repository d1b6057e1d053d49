import Foundation
import Nightshift

/// Writes a wire value as the API's JSON: every member present (a `nil` optional as `null`, never
/// left out), a `Date` as RFC 3339 with milliseconds (``JSONTime``), a ``JSONValue`` as it is.
struct WireEncoder {
    /// The JSON form of `value`.
    static func encode(_ value: some Encodable) throws -> JSONValue {
        let node = Node()
        try node.store(value, path: [])
        return node.json
    }

    /// One value being written: a leaf, or the members or items written into it so far.
    final class Node {
        var leaf: JSONValue = .null
        var members: [String: Node]?
        var items: [Node]?

        var json: JSONValue {
            if let members { return .object(members.mapValues(\.json)) }
            if let items { return .array(items.map(\.json)) }
            return leaf
        }

        func store(_ value: some Encodable, path: [any CodingKey]) throws {
            switch value {
            case let json as JSONValue: leaf = json
            case let date as Date: leaf = JSONTime.json(date)
            default: try value.encode(to: Encoding(node: self, codingPath: path))
            }
        }

        func member(_ key: String) -> Node {
            let node = Node()
            if members == nil { members = [:] }
            members![key] = node
            return node
        }

        func item() -> Node {
            let node = Node()
            if items == nil { items = [] }
            items!.append(node)
            return node
        }
    }

    static func integer(_ value: some BinaryInteger, _ path: [any CodingKey]) throws -> JSONValue {
        guard let exact = Int64(exactly: value) else {
            throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "beyond a 64-bit integer"))
        }
        return .int(exact)
    }

    struct Encoding: Encoder {
        let node: Node
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
            if node.members == nil { node.members = [:] }
            return KeyedEncodingContainer(Keyed(node: node, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            if node.items == nil { node.items = [] }
            return Unkeyed(node: node, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer { Single(node: node, codingPath: codingPath) }
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil(forKey key: Key) throws { node.member(key.stringValue).leaf = .null }
        mutating func encode(_ value: Bool, forKey key: Key) throws { node.member(key.stringValue).leaf = .bool(value) }
        mutating func encode(_ value: String, forKey key: Key) throws { node.member(key.stringValue).leaf = .string(value) }
        mutating func encode(_ value: Double, forKey key: Key) throws { node.member(key.stringValue).leaf = .double(value) }
        mutating func encode(_ value: Float, forKey key: Key) throws { node.member(key.stringValue).leaf = .double(Double(value)) }
        mutating func encode(_ value: Int, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { try integer(value, key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { try integer(value, key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            try node.member(key.stringValue).store(value, path: codingPath + [key])
        }

        // A member that is nil is written as null: the API answers every member.
        mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws { try present(value, key) }
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try present(value, key) }

        private mutating func present<T: Encodable>(_ value: T?, _ key: Key) throws {
            if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
        }

        private func integer(_ value: some BinaryInteger, _ key: Key) throws {
            node.member(key.stringValue).leaf = try WireEncoder.integer(value, codingPath + [key])
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            Encoding(node: node.member(key.stringValue), codingPath: codingPath + [key]).container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            Encoding(node: node.member(key.stringValue), codingPath: codingPath + [key]).unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder { Encoding(node: node, codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { Encoding(node: node.member(key.stringValue), codingPath: codingPath + [key]) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        var count: Int { node.items?.count ?? 0 }

        mutating func encodeNil() throws { node.item().leaf = .null }
        mutating func encode<T: Encodable>(_ value: T) throws { try node.item().store(value, path: codingPath) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            Encoding(node: node.item(), codingPath: codingPath).container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            Encoding(node: node.item(), codingPath: codingPath).unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder { Encoding(node: node.item(), codingPath: codingPath) }
    }

    struct Single: SingleValueEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]

        mutating func encodeNil() throws { node.leaf = .null }
        mutating func encode(_ value: Bool) throws { node.leaf = .bool(value) }
        mutating func encode(_ value: String) throws { node.leaf = .string(value) }
        mutating func encode(_ value: Double) throws { node.leaf = .double(value) }
        mutating func encode(_ value: Float) throws { node.leaf = .double(Double(value)) }
        mutating func encode(_ value: Int) throws { node.leaf = try integer(value, codingPath) }
        mutating func encode(_ value: Int8) throws { node.leaf = try integer(value, codingPath) }
        mutating func encode(_ value: Int16) throws { node.leaf = try integer(value, codingPath) }
        mutating func encode(_ value: Int32) throws { node.leaf = try integer(value, codingPath) }
        mutating func encode(_ value: Int64) throws { node.leaf = .int(value) }
        mutating func encode(_ value: UInt) throws { node.leaf = try integer(value, codingPath) }
        mutating func encode(_ value: UInt8) throws { node.leaf = try integer(value, codingPath) }
        mutating func encode(_ value: UInt16) throws { node.leaf = try integer(value, codingPath) }
        mutating func encode(_ value: UInt32) throws { node.leaf = try integer(value, codingPath) }
        mutating func encode(_ value: UInt64) throws { node.leaf = try integer(value, codingPath) }
        mutating func encode<T: Encodable>(_ value: T) throws { try node.store(value, path: codingPath) }
    }
}
