import Foundation

/// How the agent CLIs say that a plan's usage limit is reached, and when it resets.
///
/// Seen in their output (see the fixtures' READMEs):
/// - Claude Code: `Claude AI usage limit reached|1760043600` (the reset as Unix seconds after the
///   bar), `You've hit your limit · resets 3pm (Europe/Berlin)`, `5-hour limit reached ∙ resets 3am`;
/// - Codex: `You've hit your usage limit. … try again in 4 days 20 hours 9 minutes.` or
///   `… try again at 3:05 PM.`;
/// - Gemini: `You have exhausted your daily quota …`, `Quota exceeded for quota metric …`,
///   `Your quota will reset after 16h17m10s.`
///
/// A per-minute quota is a rate limit, not a usage limit: it is left to the ordinary retry.
enum UsageLimitText {
    private static let phrases = [
        "usage limit", "hit your limit", "limit reached ∙ resets", "limit reached · resets", "usage_limit_reached",
        "exhausted your", "quota exceeded", "insufficient_quota", "quota will reset", "terminalquotaerror",
    ]

    /// Whether lower-cased `text` says a usage limit is reached.
    static func matches(_ lower: String) -> Bool {
        phrases.contains(where: lower.contains) && !lower.contains("per minute")
    }

    /// When the limit resets, if `text` says: a Unix time after `|`, a duration after `in` /
    /// `after`, or a time of day after `resets` / `at` (in the IANA zone in parentheses, else the
    /// local one), the next such time after `now` — or, after `resets tomorrow`, that time on the
    /// day after today.
    static func resetTime(in text: String, now: Date) -> Date? {
        if let bar = text.lastIndex(of: "|") {
            let digits = text[text.index(after: bar)...].prefix(while: \.isNumber)
            if let value = Double(digits), digits.count >= 10 {
                return Date(timeIntervalSince1970: digits.count >= 13 ? value / 1000 : value)
            }
        }
        let lower = text.lowercased()
        for marker in [" in ", " after "] {
            for range in lower.ranges(of: marker) {
                if let seconds = duration(lower[range.upperBound...]), seconds > 0 { return now.addingTimeInterval(seconds) }
            }
        }
        for marker in ["resets ", "reset at ", "try again at "] {
            guard let range = lower.range(of: marker) else { continue }
            var rest = text[range.upperBound...]
            let tomorrow = rest.lowercased().hasPrefix("tomorrow")
            if tomorrow {
                rest = rest.dropFirst("tomorrow".count).drop(while: \.isWhitespace)
                if rest.lowercased().hasPrefix("at ") { rest = rest.dropFirst(3) }
            }
            if let date = timeOfDay(String(rest), now: now, tomorrow: tomorrow) { return date }
        }
        return nil
    }

    /// `4 days 20 hours 9 minutes`, `16h17m10s`, `41.2s`, `2 hours`: seconds, or `nil` if the text
    /// does not start with a duration.
    static func duration(_ text: Substring) -> Double? {
        var rest = text.drop(while: \.isWhitespace)
        var total = 0.0
        var found = false
        while let first = rest.first, first.isNumber {
            let number = rest.prefix(while: { $0.isNumber || $0 == "." })
            guard let value = Double(number) else { break }
            rest = rest.dropFirst(number.count).drop(while: \.isWhitespace)
            let unit = rest.prefix(while: \.isLetter)
            let scale: Double
            switch unit {
            case "d", "day", "days": scale = 86_400
            case "h", "hr", "hrs", "hour", "hours": scale = 3_600
            case "m", "min", "mins", "minute", "minutes": scale = 60
            case "s", "sec", "secs", "second", "seconds": scale = 1
            case "ms": scale = 0.001
            default: return found ? total : nil
            }
            total += value * scale
            found = true
            rest = rest.dropFirst(unit.count).drop(while: { $0.isWhitespace || $0 == "," }).drop(while: \.isWhitespace)
            if rest.hasPrefix("and ") { rest = rest.dropFirst(4) }
        }
        return found ? total : nil
    }

    /// `3pm`, `3:05 PM`, `11am (Europe/Berlin)`, `2:30pm (Asia/Colombo)`: the next such time after
    /// `now`; with `tomorrow`, that time on the day after `now`'s (in the same zone).
    static func timeOfDay(_ text: String, now: Date, tomorrow: Bool = false) -> Date? {
        let scanner = Scanner(string: text)
        scanner.charactersToBeSkipped = .whitespaces
        guard let hour = scanner.scanInt(), (0...23).contains(hour) else { return nil }
        var minute = 0
        if scanner.scanString(":") != nil {
            guard let value = scanner.scanInt(), (0...59).contains(value) else { return nil }
            minute = value
        }
        var hour24 = hour
        if let meridiem = scanner.scanCharacters(from: .letters)?.lowercased() {
            guard hour <= 12 else { return nil }
            switch meridiem {
            case "am": hour24 = hour == 12 ? 0 : hour
            case "pm": hour24 = hour == 12 ? 12 : hour + 12
            default: return nil
            }
        } else if scanner.scanString(":") == nil, minute == 0, !text.contains(":") {
            return nil  // a bare number is no time of day
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        if let open = text.firstIndex(of: "("), let close = text[open...].firstIndex(of: ")"),
           let zone = TimeZone(identifier: String(text[text.index(after: open)..<close]).trimmingWhitespace())
        {
            calendar.timeZone = zone
        }
        var after = now
        if tomorrow {
            // Just before tomorrow's first moment: the next match is on tomorrow.
            guard let next = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: now)) else { return nil }
            after = next.addingTimeInterval(-1)
        }
        return calendar.nextDate(
            after: after, matching: DateComponents(hour: hour24, minute: minute, second: 0), matchingPolicy: .nextTime)
    }
}
