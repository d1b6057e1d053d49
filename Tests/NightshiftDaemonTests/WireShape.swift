import Foundation
import Nightshift
@testable import NightshiftDaemon

/// The JSON shape a wire type declares: its members, their JSON types and which may be null —
/// read from the type itself by decoding it with a probe that records what it is asked for, so no
/// sample values are needed and a member added to the type shows at once.
indirect enum WireShape: Equatable, Sendable, CustomStringConvertible {
    case string, integer, number, boolean, time
    /// Any JSON (a ``JSONValue`` member).
    case any
    case array(WireShape)
    /// An object with these members (each with whether it may be null).
    case object([String: Member])
    /// An object with any keys, each value of this shape (`[String: Int]`).
    case map(WireShape)

    /// A member of an object.
    struct Member: Equatable, Sendable {
        var shape: WireShape
        var nullable: Bool
    }

    var description: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .boolean: "boolean"
        case .time: "time"
        case .any: "any"
        case .array(let item): "[\(item)]"
        case .map(let value): "{*: \(value)}"
        case .object(let members): "{" + members.keys.sorted().joined(separator: ",") + "}"
        }
    }

    /// The shape of `type`.
    static func of<T: Decodable>(_ type: T.Type) throws -> WireShape {
        try Probe.shape(of: type).shape
    }

    /// The shape of a value the probe cannot read (a type whose decoding goes through
    /// ``JSONValue``): taken from its JSON with every optional set (`full`) and with none (`empty`).
    static func sampled(full: JSONValue, empty: JSONValue) -> WireShape {
        switch full {
        case .string(let text): (try? JSONTime.date(.string(text), field: "")) != nil ? .time : .string
        case .int: .integer
        case .double: .number
        case .bool: .boolean
        case .null: .any
        case .array(let items): .array(items.first.map { sampled(full: $0, empty: $0) } ?? .any)
        case .object(let members):
            .object(members.reduce(into: [:]) { shaped, member in
                let empty = empty[member.key] ?? .null
                shaped[member.key] = Member(shape: sampled(full: member.value, empty: empty), nullable: empty == .null)
            })
        }
    }
}

/// The types the probe cannot read, by sample: a checkpoint and a memory (their JSON forms are
/// the core's, read through ``JSONValue``).
enum Sampled {
    static let fullCheckpoint = SessionCheckpoint(
        id: "0190a0b0-0000-7000-8000-000000000001", agent: "coder", sessionID: "s", taskID: TaskID.generate(),
        phase: "implementing", status: .active, createdAt: Date(), context: .init(workItems: ["w"], branch: "main"),
        progress: .init(tasksCompleted: ["a"], tasksRemaining: ["b"], filesModified: ["c"], decisions: ["d"]),
        resumeHint: "hint", archivedAt: Date())
    static let emptyCheckpoint = SessionCheckpoint(agent: "coder", phase: "implementing", createdAt: Date())
    static let memory = Memory(agent: "coder", key: "k", summary: "s", createdAt: Date())

    nonisolated(unsafe) static let values: [ObjectIdentifier: Any] = [
        ObjectIdentifier(SessionCheckpoint.self): fullCheckpoint, ObjectIdentifier(Memory.self): memory,
    ]
    static let shapes: [ObjectIdentifier: WireShape] = [
        ObjectIdentifier(SessionCheckpoint.self): .sampled(full: fullCheckpoint.json, empty: emptyCheckpoint.json),
        ObjectIdentifier(Memory.self): .sampled(full: memory.json, empty: memory.json),
    ]
}

/// A `Decoder` that answers every request with a placeholder and records what was asked.
private final class Probe: Decoder {
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var members: [String: WireShape.Member] = [:]
    /// The members asked about before being read: read with `decodeIfPresent`, so optional.
    var optional: Set<String> = []
    var item: WireShape?

    static func shape<T: Decodable>(of type: T.Type) throws -> (shape: WireShape, value: T) {
        if let sampled = Sampled.shapes[ObjectIdentifier(type)] { return (sampled, try placeholder(type)) }
        switch type {
        case is String.Type: return (.string, "" as! T)
        case is Bool.Type: return (.boolean, false as! T)
        case is Double.Type: return (.number, 0.0 as! T)
        case is Int.Type: return (.integer, 0 as! T)
        case is Int64.Type: return (.integer, Int64(0) as! T)
        case is Date.Type: return (.time, Date() as! T)
        case is JSONValue.Type: return (.any, JSONValue.null as! T)
        case let map as any StringKeyedMap.Type: return (.map(try map.valueShape()), try placeholder(type))
        default:
            let probe = Probe()
            let value = try T(from: probe)
            if let item = probe.item { return (.array(item), value) }
            return (.object(probe.members), value)
        }
    }

    /// A value of a type known only by its sampled shape or as a map: decoded from an empty object.
    static func placeholder<T: Decodable>(_ type: T.Type) throws -> T {
        if type is any StringKeyedMap.Type { return try WireDecoder.decode(type, from: .object([:])) }
        guard let sample = Sampled.values[ObjectIdentifier(type)] as? T else { throw ProbeError.noSample("\(type)") }
        return sample
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedProbe<Key>(probe: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer { UnkeyedProbe(probe: self) }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { throw ProbeError.unsupported("a single value") }
}

enum ProbeError: Error { case unsupported(String), noSample(String) }

/// `[String: V]`: an object with any keys.
protocol StringKeyedMap { static func valueShape() throws -> WireShape }
extension Dictionary: StringKeyedMap where Key == String, Value: Decodable {
    static func valueShape() throws -> WireShape { try Probe.shape(of: Value.self).shape }
}

private struct KeyedProbe<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let probe: Probe
    var codingPath: [any CodingKey] { [] }
    var allKeys: [Key] { [] }

    // `decodeIfPresent` of a String, Int, … asks these first, then decodes: the member is optional.
    func contains(_ key: Key) -> Bool {
        probe.optional.insert(key.stringValue)
        return true
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        probe.optional.insert(key.stringValue)
        return false
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let (shape, value) = try Probe.shape(of: type)
        probe.members[key.stringValue] = .init(shape: shape, nullable: probe.optional.contains(key.stringValue))
        return value
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        probe.members[key.stringValue] = .init(shape: try Probe.shape(of: type).shape, nullable: true)
        return nil
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        throw ProbeError.unsupported("a nested container")
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw ProbeError.unsupported("a nested container") }
    func superDecoder() throws -> any Decoder { probe }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw ProbeError.unsupported("a super decoder") }
}

private struct UnkeyedProbe: UnkeyedDecodingContainer {
    let probe: Probe
    var codingPath: [any CodingKey] { [] }
    var count: Int? { nil }
    var currentIndex = 0
    var isAtEnd: Bool { currentIndex > 0 }

    mutating func decodeNil() throws -> Bool { false }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        currentIndex += 1
        let (shape, value) = try Probe.shape(of: type)
        probe.item = shape
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        throw ProbeError.unsupported("a nested container")
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { throw ProbeError.unsupported("a nested container") }
    mutating func superDecoder() throws -> any Decoder { probe }
}
