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
    }

    private static let last = Mutex(Last())
    private static let lowLimit: UInt64 = 1 << 62

    /// A new UUIDv7 for `date`, in lower-case text form.
    public static func generate(at date: Date = Date()) -> String {
        let wall = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        let freshHigh = UInt64.random(in: 0...0x07FF)
        let freshLow = UInt64.random(in: 0..<lowLimit)
        let step = UInt64.random(in: 1...(1 << 32))
        let next: Last = last.withLock { last in
            if wall > last.millis {
                last = Last(millis: wall, high: freshHigh, low: freshLow)
            } else {
                last.low += step
                if last.low >= lowLimit {
                    last.low -= lowLimit
                    last.high += 1
                }
                if last.high > 0x0FFF { last = Last(millis: last.millis + 1, high: 0, low: step) }
            }
            return last
        }
        let millis = next.millis
        let random = (high: next.high, low: next.low)
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - UInt64(index))))
        }
        bytes[6] = 0x70 | UInt8(truncatingIfNeeded: random.high >> 8)
        bytes[7] = UInt8(truncatingIfNeeded: random.high)
        bytes[8] = 0x80 | UInt8(truncatingIfNeeded: random.low >> 56)
        for index in 9..<16 {
            bytes[index] = UInt8(truncatingIfNeeded: random.low >> (8 * (15 - UInt64(index))))
        }
        let uuid = UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
        return uuid.uuidString.lowercased()
    }
}
