import Foundation

/// A cron expression: five fields (minute, hour, day of month, month, day of week) or a macro
/// (`@hourly`, `@daily`, `@midnight`, `@weekly`, `@monthly`, `@yearly`, `@annually`), with the
/// semantics of Vixie cron: `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n` (and `a/n`, from
/// `a` to the field's end), lists `a,b`, month names `JAN`–`DEC`, day names `SUN`–`SAT` (`0` and
/// `7` are Sunday). When both day fields are restricted (neither starts with `*`), a day matches
/// either; otherwise both.
///
/// Times are wall-clock times of a time zone (``next(after:in:)``): a time that does not exist
/// that day (the hour a clock skips in spring) fires once, at the first minute after the gap; a
/// time that happens twice (the hour repeated in autumn) fires once, the first time.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written.
    public let text: String
    private let minutes: UInt64
    private let hours: UInt32
    private let days: UInt32
    private let months: UInt16
    private let weekdays: UInt8
    /// Both day fields restricted: a day matches either (Vixie cron).
    private let eitherDay: Bool

    /// The macros and the expressions they stand for.
    public static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// The longest span searched for the next fire time: a day that exists only in leap years
    /// (Feb 29 on a given weekday) comes at least once in that many years.
    static let searchYears = 30

    /// The expression `text`. Throws `invalid_input` naming `field` (default `cron`), saying what
    /// is wrong and where: the 1-based position of the bad token in `text`.
    public init(_ text: String, field: String = "cron") throws(NightshiftError) {
        self.text = text
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var source = text
        if trimmed.hasPrefix("@") {
            guard let expanded = Self.macros[trimmed.lowercased()] else {
                let names = Self.macros.keys.sorted().joined(separator: ", ")
                throw .invalid(field, "unknown macro '\(trimmed)' at position 1: expected one of \(names) or five fields")
            }
            source = expanded
        }
        // The fields with where each starts in `text` (1-based), for the errors.
        var fields: [(text: Substring, position: Int)] = []
        var index = source.startIndex
        while index < source.endIndex {
            if source[index] == " " || source[index] == "\t" {
                index = source.index(after: index)
                continue
            }
            let start = index
            while index < source.endIndex, source[index] != " ", source[index] != "\t" { index = source.index(after: index) }
            fields.append((source[start..<index], source.distance(from: source.startIndex, to: start) + 1))
        }
        guard fields.count == 5 else {
            throw .invalid(field, "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, got \(fields.count)")
        }
        let specs = Self.fieldSpecs
        var sets: [UInt64] = []
        for (number, (part, spec)) in zip(fields, specs).enumerated() {
            sets.append(try Self.parse(part.text, at: part.position, spec: spec, field: field, fieldNumber: number))
        }
        minutes = sets[0]
        hours = UInt32(sets[1])
        days = UInt32(sets[2])
        months = UInt16(sets[3])
        // 7 is Sunday too.
        var weekdays = sets[4]
        if weekdays & (1 << 7) != 0 { weekdays = (weekdays | 1) & ~(1 << 7) }
        self.weekdays = UInt8(weekdays)
        eitherDay = !fields[2].text.hasPrefix("*") && !fields[4].text.hasPrefix("*")
    }

    /// The expression as written.
    public var description: String { text }

    // MARK: Parsing

    private struct FieldSpec {
        var name: String
        var range: ClosedRange<Int>
        var names: [String]
    }

    private static let fieldSpecs: [FieldSpec] = [
        FieldSpec(name: "minute", range: 0...59, names: []),
        FieldSpec(name: "hour", range: 0...23, names: []),
        FieldSpec(name: "day of month", range: 1...31, names: []),
        FieldSpec(name: "month", range: 1...12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]),
        FieldSpec(name: "day of week", range: 0...7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]),
    ]

    /// The set of values `text` (one field, starting at `position`) names, as bits.
    private static func parse(
        _ text: Substring, at position: Int, spec: FieldSpec, field: String, fieldNumber: Int
    ) throws(NightshiftError) -> UInt64 {
        var set: UInt64 = 0
        var offset = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let itemPosition = position + offset
            offset += item.count + 1
            func bad(_ why: String) -> NightshiftError {
                .invalid(field, "\(why) in the \(spec.name) field at position \(itemPosition) ('\(item)')")
            }
            guard !item.isEmpty else { throw bad("an empty list item") }
            var rangePart = item
            var step = 1
            if let slash = item.firstIndex(of: "/") {
                rangePart = item[..<slash]
                guard let value = Int(item[item.index(after: slash)...]), value >= 1, value <= spec.range.upperBound + 1 else {
                    throw bad("a step must be a number from 1 to \(spec.range.upperBound + 1)")
                }
                step = value
            }
            var low: Int
            var high: Int
            if rangePart == "*" {
                (low, high) = (spec.range.lowerBound, fieldNumber == 4 ? 6 : spec.range.upperBound)
            } else if let dash = rangePart.firstIndex(of: "-") {
                low = try value(rangePart[..<dash], spec: spec, bad: bad)
                high = try value(rangePart[rangePart.index(after: dash)...], spec: spec, bad: bad)
                guard low <= high else { throw bad("a range must not run backwards") }
            } else {
                low = try value(rangePart, spec: spec, bad: bad)
                // `a/n`: from a to the field's end.
                high = item.contains("/") ? (fieldNumber == 4 ? 6 : spec.range.upperBound) : low
            }
            for value in stride(from: low, through: high, by: step) { set |= 1 << UInt64(value) }
        }
        return set
    }

    /// One value: a number in the field's range, or one of its names.
    private static func value(
        _ text: Substring, spec: FieldSpec, bad: (String) -> NightshiftError
    ) throws(NightshiftError) -> Int {
        if let number = Int(text), spec.range.contains(number) { return number }
        if let index = spec.names.firstIndex(of: text.uppercased()) { return index + (spec.range.lowerBound == 1 ? 1 : 0) }
        let names = spec.names.isEmpty ? "" : " or a name (\(spec.names.first!)–\(spec.names.last!))"
        throw bad("expected a number from \(spec.range.lowerBound) to \(spec.range.upperBound)\(names)")
    }

    // MARK: Matching

    /// Whether the expression fires on this calendar day (`weekday`: 0 for Sunday).
    func matches(month: Int, day: Int, weekday: Int) -> Bool {
        guard months & (1 << UInt16(month)) != 0 else { return false }
        let dayMatch = days & (1 << UInt32(day)) != 0
        let weekdayMatch = weekdays & (1 << UInt8(weekday)) != 0
        return eitherDay ? (dayMatch || weekdayMatch) : (dayMatch && weekdayMatch)
    }

    /// Whether the expression fires at this wall-clock time.
    func matches(_ wall: WallTime) -> Bool {
        minutes & (1 << UInt64(wall.minute)) != 0 && hours & (1 << UInt32(wall.hour)) != 0
            && matches(month: wall.month, day: wall.day, weekday: wall.weekday)
    }

    /// The first time after `date` at which the expression fires, on the wall clock of `zone`;
    /// `nil` if it never fires in the next ``searchYears`` years (`0 0 30 2 *`).
    public func next(after date: Date, in zone: TimeZone) -> Date? {
        let start = WallTime(date, in: zone)
        var day = start.date
        let hourList = (0..<24).filter { hours & (1 << UInt32($0)) != 0 }
        let minuteList = (0..<60).filter { minutes & (1 << UInt64($0)) != 0 }
        for _ in 0..<(366 * Self.searchYears) {
            if matches(month: day.month, day: day.day, weekday: day.weekday) {
                for hour in hourList where day != start.date || hour >= start.hour {
                    for minute in minuteList {
                        let wall = WallTime(date: day, hour: hour, minute: minute)
                        // Times before the start's own minute cannot be next; the instant check
                        // below handles the start's minute and the hour an autumn clock repeats.
                        if day == start.date, hour == start.hour, minute < start.minute { continue }
                        let instant = wall.firstInstant(in: zone)
                        if instant > date { return instant }
                    }
                }
            }
            day = day.next
        }
        return nil
    }

    /// The next `count` fire times after `date` in `zone`.
    public func next(_ count: Int, after date: Date, in zone: TimeZone) -> [Date] {
        var times: [Date] = []
        var after = date
        while times.count < count, let time = next(after: after, in: zone) {
            times.append(time)
            after = time
        }
        return times
    }
}

/// A calendar day, proleptic Gregorian.
struct CivilDate: Hashable, Sendable {
    var year: Int
    var month: Int
    var day: Int

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The day `days` after 1970-01-01 (`civil_from_days`).
    init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// 0 for Sunday … 6 for Saturday.
    var weekday: Int {
        let days = daysSinceEpoch
        return ((days % 7) + 7 + 4) % 7
    }

    /// The day after.
    var next: CivilDate { CivilDate(daysSinceEpoch: daysSinceEpoch + 1) }
}

/// A wall-clock minute of some time zone.
struct WallTime: Hashable, Sendable {
    var date: CivilDate
    var hour: Int
    var minute: Int

    var month: Int { date.month }
    var day: Int { date.day }
    var weekday: Int { date.weekday }

    init(date: CivilDate, hour: Int, minute: Int) {
        self.date = date
        self.hour = hour
        self.minute = minute
    }

    /// The wall-clock minute of `instant` in `zone` (seconds dropped).
    init(_ instant: Date, in zone: TimeZone) {
        let local = Int(floor(instant.timeIntervalSince1970)) + zone.secondsFromGMT(for: instant)
        let days = Int((Double(local) / 86_400).rounded(.down))
        let seconds = local - days * 86_400
        self.init(date: CivilDate(daysSinceEpoch: days), hour: seconds / 3600, minute: seconds % 3600 / 60)
    }

    /// Seconds since 1970 of this wall time read as UTC.
    var naiveSeconds: Int { date.daysSinceEpoch * 86_400 + hour * 3600 + minute * 60 }

    /// The first instant the clock of `zone` shows this minute; for a minute the clock skips, the
    /// instant the skip ends (the first valid minute after it).
    func firstInstant(in zone: TimeZone) -> Date {
        let naive = naiveSeconds
        let offsets = Set([-86_400, 86_400].map { zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(naive + $0))) })
        let valid = offsets.compactMap { offset -> Int? in
            let instant = naive - offset
            return zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant))) == offset ? instant : nil
        }
        if let first = valid.min() { return Date(timeIntervalSince1970: Double(first)) }
        // Skipped: the clock jumps over it; the jump's instant is the first valid minute after.
        let before = naive - (offsets.min() ?? 0)
        let earliest = Date(timeIntervalSince1970: Double(min(before, naive - (offsets.max() ?? 0))))
        return zone.nextDaylightSavingTimeTransition(after: earliest.addingTimeInterval(-1)) ?? Date(timeIntervalSince1970: Double(before))
    }
}
