import Foundation

/// Times in JSON: RFC 3339 in UTC with milliseconds (`2026-11-21T08:40:22.123Z`), in the HTTP
/// API, checkpoints, memories and task events alike.
public enum JSONTime {
    /// The seconds since 1970 of the times written: the years 0001 to 9999 (RFC 3339 has four
    /// digits for the year).
    public static let representable: ClosedRange<Double> = -62_135_596_800 ... 253_402_300_799.999

    /// `date` cut to whole milliseconds, so it survives a trip through its text form unchanged.
    static func normalized(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000)
    }

    /// The text form of `date`; a time beyond the years RFC 3339 writes is written as the nearest
    /// one it can.
    public static func text(_ date: Date) -> String {
        let millis = milliseconds(date)
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)
        let fraction = String(millis - seconds * 1000)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }

    /// The JSON form of `date`, `null` for none.
    public static func json(_ date: Date?) -> JSONValue {
        date.map { .string(text($0)) } ?? .null
    }

    /// Parses an RFC 3339 time (with or without fractional seconds) or a number of seconds since
    /// 1970; the error names `field`.
    public static func date(_ value: JSONValue, field: String) throws(NightshiftError) -> Date {
        switch value {
        case .string(let text):
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return normalized(date)
            }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return normalized(date) }
            throw .invalid(field, "expected an RFC 3339 time (2026-11-21T08:00:00Z), got '\(text)'")
        case .int, .double:
            guard let seconds = value.doubleValue, representable.contains(seconds) else {
                throw .invalid(field, "expected an RFC 3339 time or seconds since 1970 within the years 0001 to 9999, got \(value.jsonText)")
            }
            return normalized(Date(timeIntervalSince1970: seconds))
        default:
            throw .invalid(field, "expected an RFC 3339 time string, got \(value.kindName)")
        }
    }

    /// Whole milliseconds since 1970, cut (not rounded: a time written is never after the time
    /// it stands for, so `created_after` given a task's `created_at` finds the task), within
    /// ``representable`` (so never past what `Int64` holds). Whole microseconds first, so that a
    /// time already cut to milliseconds stays what it is.
    private static func milliseconds(_ date: Date) -> Int64 {
        let seconds = min(max(date.timeIntervalSince1970.isNaN ? 0 : date.timeIntervalSince1970, representable.lowerBound), representable.upperBound)
        let micros = Int64((seconds * 1_000_000).rounded())
        return micros >= 0 ? micros / 1000 : (micros - 999) / 1000
    }
}
