import Foundation
import Testing

@testable import Nightshift

/// Cron expressions: parsing, errors that point at the bad token, and fire times across DST.
@Suite("Cron expressions")
struct CronTests {
    static func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
    static func zone(_ name: String) -> TimeZone { TimeZone(identifier: name)! }

    static func next(_ cron: String, _ zone: String, after: String, count: Int = 1) throws -> [String] {
        let formatter = ISO8601DateFormatter()
        return try CronExpression(cron).next(count, after: date(after), in: Self.zone(zone)).map { formatter.string(from: $0) }
    }

    @Test("fields, ranges, steps, lists, names and macros")
    func parsing() throws {
        #expect(try Self.next("0 9 * * 1-5", "UTC", after: "2026-12-04T09:00:00Z", count: 3)
            == ["2026-12-07T09:00:00Z", "2026-12-08T09:00:00Z", "2026-12-09T09:00:00Z"], "Friday 9:00 is not after itself; Monday next")
        #expect(try Self.next("*/20 * * * *", "UTC", after: "2026-12-04T09:05:00Z", count: 3)
            == ["2026-12-04T09:20:00Z", "2026-12-04T09:40:00Z", "2026-12-04T10:00:00Z"])
        #expect(try Self.next("5-10/5,30 8 * JAN-MAR MON", "UTC", after: "2026-12-04T00:00:00Z", count: 3)
            == ["2027-01-04T08:05:00Z", "2027-01-04T08:10:00Z", "2027-01-04T08:30:00Z"])
        #expect(try Self.next("@monthly", "UTC", after: "2026-12-04T00:00:00Z") == ["2027-01-01T00:00:00Z"])
        #expect(try Self.next("@hourly", "UTC", after: "2026-12-04T00:00:00Z") == ["2026-12-04T01:00:00Z"])
        #expect(try Self.next("@weekly", "UTC", after: "2026-12-04T00:00:00Z") == ["2026-12-06T00:00:00Z"], "Sunday")
        #expect(try Self.next("@yearly", "UTC", after: "2026-12-04T00:00:00Z") == ["2027-01-01T00:00:00Z"])
        #expect(try Self.next("0 0 * * 7", "UTC", after: "2026-12-04T00:00:00Z") == ["2026-12-06T00:00:00Z"], "7 is Sunday")
        #expect(try Self.next("0 12 10/10 * *", "UTC", after: "2026-12-04T00:00:00Z", count: 3)
            == ["2026-12-10T12:00:00Z", "2026-12-20T12:00:00Z", "2026-12-30T12:00:00Z"])
        // Both day fields restricted: either matches (the 13th, or any Friday).
        #expect(try Self.next("0 0 13 * FRI", "UTC", after: "2026-12-01T00:00:00Z", count: 3)
            == ["2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z", "2026-12-13T00:00:00Z"])
        // One of them `*`: both must (Fridays only).
        #expect(try Self.next("0 0 * * FRI", "UTC", after: "2026-12-01T00:00:00Z") == ["2026-12-04T00:00:00Z"])
        #expect(try Self.next("0 0 29 2 *", "UTC", after: "2026-12-04T00:00:00Z") == ["2028-02-29T00:00:00Z"])
        #expect(try CronExpression("0 0 30 2 *").next(after: Self.date("2026-12-04T00:00:00Z"), in: Self.zone("UTC")) == nil)
        #expect(try Self.next("0 9 * * 1-5", "Europe/Berlin", after: "2026-12-04T12:00:00Z") == ["2026-12-07T08:00:00Z"])
    }

    @Test("bad expressions are refused naming the field, what was expected and the position of the bad token")
    func errors() {
        let cases: [(String, String)] = [
            ("0 9 * *", "expected 5 fields"),
            ("60 * * * *", "minute field at position 1 ('60')"),
            ("0 9 * * 1-8", "day of week field at position 9 ('1-8')"),
            ("0 9 32 * *", "day of month field at position 5 ('32')"),
            ("*/0 * * * *", "a step must be"),
            ("0 9 * FOO *", "month field at position 7 ('FOO')"),
            ("0 5-1 * * *", "must not run backwards"),
            ("0,,5 * * * *", "an empty list item"),
            ("@fortnightly", "unknown macro '@fortnightly' at position 1"),
        ]
        for (text, expected) in cases {
            let error = #expect(throws: NightshiftError.self, "\(text)") { try CronExpression(text) }
            #expect(error?.field == "cron")
            #expect(error?.message.contains(expected) == true, "\(text): \(error?.message ?? "")")
        }
    }

    @Test("a local time skipped by the spring clock change fires once, at the first minute after the gap (Berlin, New York)")
    func springForward() throws {
        // Berlin 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00Z).
        #expect(try Self.next("30 2 * * *", "Europe/Berlin", after: "2026-03-28T12:00:00Z", count: 3)
            == ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z"])
        // Every quarter hour of the skipped hour: once, at 03:00 CEST; then 02:00 CEST the next day.
        #expect(try Self.next("*/15 2 * * *", "Europe/Berlin", after: "2026-03-28T12:00:00Z", count: 2)
            == ["2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"])
        // A time the skip does not touch keeps its wall time.
        #expect(try Self.next("0 3 * * *", "Europe/Berlin", after: "2026-03-28T12:00:00Z", count: 2)
            == ["2026-03-29T01:00:00Z", "2026-03-30T01:00:00Z"])
        // New York 2026-03-08: 02:00 EST becomes 03:00 EDT (07:00Z).
        #expect(try Self.next("30 2 * * *", "America/New_York", after: "2026-03-07T12:00:00Z", count: 2)
            == ["2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"])
    }

    @Test("a local time repeated by the autumn clock change fires once, the first time (Berlin, New York)")
    func fallBack() throws {
        // Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00Z); 02:30 happens at 00:30Z and 01:30Z.
        #expect(try Self.next("30 2 * * *", "Europe/Berlin", after: "2026-10-24T12:00:00Z", count: 2)
            == ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"])
        // Every 20 minutes through the repeated hour: each wall time once.
        #expect(try Self.next("*/20 2 * * *", "Europe/Berlin", after: "2026-10-24T12:00:00Z", count: 4)
            == ["2026-10-25T00:00:00Z", "2026-10-25T00:20:00Z", "2026-10-25T00:40:00Z", "2026-10-26T01:00:00Z"])
        // Asked during the second pass: the repeated times do not fire again.
        #expect(try Self.next("*/20 2 * * *", "Europe/Berlin", after: "2026-10-25T01:10:00Z") == ["2026-10-26T01:00:00Z"])
        // New York 2026-11-01: 02:00 EDT becomes 01:00 EST (06:00Z); 01:30 happens at 05:30Z and 06:30Z.
        #expect(try Self.next("30 1 * * *", "America/New_York", after: "2026-10-31T12:00:00Z", count: 2)
            == ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"])
        // Hourly keeps firing each real hour through the change, the repeated 01:00 once.
        #expect(try Self.next("0 * * * *", "America/New_York", after: "2026-11-01T04:30:00Z", count: 3)
            == ["2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"])
    }

    /// The reference: walks real minutes one by one. An instant fires when its wall time matches
    /// and the clock did not show that wall time before (a repeat), or when the clock jumped
    /// forward to it over a wall time that matches.
    static func bruteForce(_ cron: CronExpression, after start: Date, in zone: TimeZone, minutes: Int) -> Date? {
        var instant = Date(timeIntervalSince1970: (start.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60)
        for _ in 0..<minutes {
            defer { instant = instant.addingTimeInterval(60) }
            let offset = zone.secondsFromGMT(for: instant)
            let wall = WallTime(instant, in: zone)
            let previous = instant.addingTimeInterval(-60)
            let previousOffset = zone.secondsFromGMT(for: previous)
            if offset > previousOffset {
                // A jump: the wall times skipped between the previous minute and this one.
                var skipped = WallTime(previous, in: zone)
                var fired = false
                for _ in 0..<((offset - previousOffset) / 60) {
                    skipped = WallTime(date: skipped.minute == 59 && skipped.hour == 23 ? skipped.date.next : skipped.date,
                                       hour: skipped.minute == 59 ? (skipped.hour + 1) % 24 : skipped.hour,
                                       minute: (skipped.minute + 1) % 60)
                    if cron.matches(skipped) { fired = true }
                }
                if fired || cron.matches(wall) { return instant }
                continue
            }
            guard cron.matches(wall) else { continue }
            // A repeat: the same wall time at an earlier instant with a larger offset.
            let repeated = [3600, 1800, 7200].contains { shift in
                let earlier = instant.addingTimeInterval(-Double(shift))
                return zone.secondsFromGMT(for: earlier) == offset + shift
            }
            if !repeated { return instant }
        }
        return nil
    }

    static func randomField(_ range: ClosedRange<Int>, names: [String], using rng: inout some RandomNumberGenerator) -> String {
        func value() -> String {
            if !names.isEmpty, Bool.random(using: &rng), Int.random(in: 0..<4, using: &rng) == 0 {
                return names.randomElement(using: &rng)!
            }
            return String(Int.random(in: range, using: &rng))
        }
        func item() -> String {
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: return "*"
            case 1: return "*/\(Int.random(in: 1...max(1, range.upperBound / 2), using: &rng))"
            case 2:
                let a = Int.random(in: range, using: &rng)
                let b = Int.random(in: a...range.upperBound, using: &rng)
                return "\(a)-\(b)" + (Bool.random(using: &rng) ? "/\(Int.random(in: 1...5, using: &rng))" : "")
            default: return value()
            }
        }
        return (0..<Int.random(in: 1...3, using: &rng)).map { _ in item() }.joined(separator: ",")
    }

    @Test("fuzz: random expressions in zones with DST agree with a minute-by-minute walk")
    func fuzzAgainstBruteForce() throws {
        var rng = SplitMix64(seed: 0x5eed_c0de)
        let zones = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Pacific/Chatham"].map(Self.zone)
        // Starts near clock changes, and elsewhere.
        let starts = ["2026-03-28T20:00:00Z", "2026-03-07T20:00:00Z", "2026-10-24T20:00:00Z", "2026-10-31T20:00:00Z",
                      "2026-04-04T10:00:00Z", "2026-10-03T10:00:00Z", "2026-06-15T00:00:00Z", "2026-12-31T22:00:00Z"].map(Self.date)
        // Every clock change of 2026 in each zone: half the cases start just before one.
        var changes: [(zone: TimeZone, at: Date)] = []
        for zone in zones {
            var from = Self.date("2026-01-01T00:00:00Z")
            while let change = zone.nextDaylightSavingTimeTransition(after: from), change < Self.date("2027-01-01T00:00:00Z") {
                changes.append((zone, change))
                from = change
            }
        }
        #expect(changes.count >= 8, "Berlin, New York, Lord Howe and Chatham change their clocks: \(changes.count)")
        let window = 3 * 24 * 60
        var checked = 0
        var nearChange = 0
        for round in 0..<600 {
            var zone = zones.randomElement(using: &rng)!
            var start = starts.randomElement(using: &rng)!.addingTimeInterval(Double(Int.random(in: 0..<86_400, using: &rng)))
            var hours = Bool.random(using: &rng) ? Self.randomField(0...23, names: [], using: &rng) : "\(Int.random(in: 0...3, using: &rng))"
            if round % 2 == 0, let change = changes.randomElement(using: &rng) {
                // Just before a change, with the hours around it on the local clock.
                zone = change.zone
                start = change.at.addingTimeInterval(-Double(Int.random(in: 60...(3 * 3600), using: &rng)))
                let local = WallTime(change.at.addingTimeInterval(-1), in: zone).hour
                hours = Set((0..<Int.random(in: 1...3, using: &rng)).map { _ in (local + Int.random(in: -1...1, using: &rng) + 24) % 24 })
                    .sorted().map(String.init).joined(separator: ",")
                nearChange += 1
            }
            let fields = [
                Self.randomField(0...59, names: [], using: &rng),
                hours,
                Int.random(in: 0..<3, using: &rng) == 0 ? Self.randomField(1...31, names: [], using: &rng) : "*",
                Int.random(in: 0..<4, using: &rng) == 0 ? Self.randomField(1...12, names: ["JAN", "MAR", "OCT", "NOV"], using: &rng) : "*",
                Int.random(in: 0..<3, using: &rng) == 0 ? Self.randomField(0...7, names: ["SUN", "SAT", "MON"], using: &rng) : "*",
            ]
            let text = fields.joined(separator: " ")
            let cron = try CronExpression(text)
            let expected = Self.bruteForce(cron, after: start, in: zone, minutes: window)
            let actual = cron.next(after: start, in: zone)
            if let expected {
                #expect(actual == expected, "\(text) in \(zone.identifier) after \(start)")
                checked += 1
            } else if let actual {
                #expect(actual > start.addingTimeInterval(Double(window * 60)), "\(text) in \(zone.identifier) after \(start): \(actual)")
            }
        }
        #expect(checked > 400, "most expressions fire within the window: \(checked)")
        #expect(nearChange == 300)
    }

    @Test("the latest missed time (missed = once) agrees with a walk of fire times, within starts_at and ends_at")
    func latestFireAgreesWithWalk() throws {
        var rng = SplitMix64(seed: 0x1a7e_57)
        let t0 = Self.date("2026-03-28T20:00:00Z")
        var found = 0
        for round in 0..<300 {
            let cron = round % 3 == 0
                ? ["*/7 * * * *", "0 2 * * *", "30 1,2,3 * * SUN"].randomElement(using: &rng)!
                : "@every \(Int.random(in: 1...5_000, using: &rng))s"
            let startsAt = Bool.random(using: &rng) ? t0.addingTimeInterval(Double.random(in: 0...3_600, using: &rng)) : nil
            let endsAt = Bool.random(using: &rng) ? t0.addingTimeInterval(Double.random(in: 20_000...80_000, using: &rng)) : nil
            let spec = NewSchedule(
                cron: cron, timezone: "Europe/Berlin", task: TaskTemplate(agent: "a", prompt: "p"), startsAt: startsAt, endsAt: endsAt)
            let timing = try ScheduleTiming(cron: cron, timezone: spec.timezone, anchor: startsAt ?? t0)
            let after = t0.addingTimeInterval(Double.random(in: 0...40_000, using: &rng))
            let limit = after.addingTimeInterval(Double.random(in: 0...60_000, using: &rng))
            var walked: Date?
            var at = after
            while let next = spec.nextFire(after: at, timing: timing), next <= limit {
                walked = next
                at = next
            }
            #expect(spec.latestFire(after: after, notAfter: limit, timing: timing) == walked, "\(cron) after \(after) until \(limit)")
            if walked != nil { found += 1 }
        }
        #expect(found > 150, "most cases have a missed time: \(found)")
    }
}

/// A seeded generator, so a failing fuzz case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
