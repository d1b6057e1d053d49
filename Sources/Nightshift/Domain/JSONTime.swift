import Foundation

/// Times in the JSON forms of checkpoints and memories: RFC 3339 in UTC with milliseconds, like
/// the HTTP API (`2026-11-21T08:40:22.123Z`).
enum JSONTime {
    /// `date` rounded to whole milliseconds, so it survives a trip through its text form unchanged.
    static func normalized(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000)
    }

    /// The text form of `date`.
    static func text(_ date: Date) -> String {
        let millis = milliseconds(date)
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let whole = Date(timeIntervalSince1970: Double(seconds)).formatted(.iso8601)
        let fraction = String(millis - seconds * 1000)
        return whole.dropLast() + "." + String(repeating: "0", count: 3 - fraction.count) + fraction + "Z"
    }

    /// The JSON form of `date`, `null` for none.
    static func json(_ date: Date?) -> JSONValue {
        date.map { .string(text($0)) } ?? .null
    }

    /// Parses an RFC 3339 time (with or without fractional seconds) or a number of seconds since
    /// 1970; the error names `field`.
    static func date(_ value: JSONValue, field: String) throws(NightshiftError) -> Date {
        switch value {
        case .string(let text):
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
                return normalized(date)
            }
            if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return normalized(date) }
            throw .invalid(field, "expected an RFC 3339 time (2026-11-21T08:00:00Z), got '\(text)'")
        case .int, .double:
            return normalized(Date(timeIntervalSince1970: value.doubleValue!))
        default:
            throw .invalid(field, "expected an RFC 3339 time string, got \(value.kindName)")
        }
    }


    private static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
