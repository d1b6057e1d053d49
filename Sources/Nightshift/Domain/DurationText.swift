/// Durations written for people: in config files, schedules (`@every 5m`) and the API.
public enum DurationText {
    /// Seconds in a duration: `"45s"`, `"30m"`, `"2h"`, `"1h30m"`, `"1.5h"` (units h, m, s, each at
    /// most once, in that order) or a plain number of seconds (`"90"`). `nil` if `text` is none of these.
    public static func seconds(_ text: String) -> Double? {
        if let seconds = decimal(text[...]) { return seconds.isFinite ? seconds : nil }
        var rest = text[...]
        var total = 0.0
        for (unit, seconds) in [("h" as Character, 3600.0), ("m", 60), ("s", 1)] {
            guard let end = rest.firstIndex(of: unit) else { continue }
            guard let count = decimal(rest[..<end]) else { return nil }
            total += count * seconds
            rest = rest[rest.index(after: end)...]
        }
        return !text.isEmpty && rest.isEmpty && total.isFinite ? total : nil
    }

    /// Digits with an optional fractional part (`90`, `1.5`); no sign, exponent or spaces.
    private static func decimal(_ text: Substring) -> Double? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } })
        else { return nil }
        return Double(text)
    }
}
