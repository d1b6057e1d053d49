import Foundation
import Synchronization

/// The identifier of a task: a UUIDv7, so ids sort by creation time.
public struct TaskID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The canonical lower-case text form, e.g. `0190b6a2-…`.
    public let rawValue: String

    /// Wraps an existing id. Returns `nil` when `rawValue` is not a UUID.
    public init?(_ rawValue: String) {
        guard let uuid = UUID(uuidString: rawValue) else { return nil }
        self.rawValue = uuid.uuidString.lowercased()
    }

    /// Wraps text already known to be a canonical id (read back from a store).
    public init(trusted rawValue: String) {
        self.rawValue = rawValue
    }

    /// A new time-ordered id.
    public static func generate(at date: Date = Date()) -> TaskID {
        TaskID(trusted: UUIDv7.generate(at: date))
    }

    /// The text form.
    public var description: String { rawValue }

    /// Orders ids by their text, which for UUIDv7 is creation order.
    public static func < (lhs: TaskID, rhs: TaskID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Decodes the text form.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = TaskID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a UUID: \(text)"))
        }
        self = id
    }

    /// Encodes the text form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Generates RFC 9562 version 7 UUIDs: 48 bits of Unix milliseconds, then 74 random bits.
///
/// Ids made by one process are strictly increasing (RFC 9562 §6.2, method 2): within one
/// millisecond, or if the clock steps back, the next id is the previous one plus a random step,
/// so tasks submitted together keep their submit order as their id order.
public enum UUIDv7 {
    private struct Last {
        var millis: UInt64 = 0
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// Where the random bits come from: seeded once from the system's generator, then drawn
        /// without a system call (ids only need to be unique, and a claim makes two per run).
        var random = Xoshiro256()
    }

    private static let last = Mutex(Last())
    private static let lowLimit: UInt64 = 1 << 62

    /// A new UUIDv7 for `date`, in lower-case text form.
    public static func generate(at date: Date = Date()) -> String {
        let wall = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let next: Last = last.withLock { last in
            let bits = last.random.next()
            if wall > last.millis {
                last.millis = wall
                last.high = bits >> 53
                last.low = last.random.next() & (lowLimit - 1)
            } else {
                last.low += 1 + (bits & 0xFFFF_FFFF)
                if last.low >= lowLimit {
                    last.low -= lowLimit
                    last.high += 1
                }
                if last.high > 0x0FFF {
                    last.millis += 1
                    last.high = 0
                    last.low = 1 + (bits & 0xFFFF_FFFF)
                }
            }
            return last
        }
        let first = next.millis << 16 | 0x7000 | next.high
        let second = 0x8000_0000_0000_0000 | next.low
        return String(unsafeUninitializedCapacity: 36) { text in
            let digits: StaticString = "0123456789abcdef"
            var position = 0
            func put(_ value: UInt64, nibbles: Int) {
                for index in stride(from: nibbles - 1, through: 0, by: -1) {
                    if position == 8 || position == 13 || position == 18 || position == 23 {
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    text[position] = digits.utf8Start[Int(value >> (4 * UInt64(index)) & 0xF)]
                    position += 1
                }
            }
            put(first, nibbles: 16)
            put(second, nibbles: 16)
            return position
        }
    }
}

/// xoshiro256** (Blackman and Vigna): a fast generator, seeded from the system's.
private struct Xoshiro256 {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init() {
        var system = SystemRandomNumberGenerator()
        state = (system.next(), system.next(), system.next(), system.next())
        if state == (0, 0, 0, 0) { state.0 = 1 }
    }

    mutating func next() -> UInt64 {
        let result = (state.1 &* 5).rotatedLeft(7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = state.3.rotatedLeft(45)
        return result
    }
}

extension UInt64 {
    fileprivate func rotatedLeft(_ count: UInt64) -> UInt64 { self << count | self >> (64 - count) }
}
