import Foundation
import Nightshift
import TOMLKit

/// `[schedules.NAME]`: schedules the file declares, in the default workspace. `serve` reconciles
/// them at start (``ScheduleReconciliation``).
///
/// ```toml
/// [schedules.nightly]
/// cron = "0 2 * * *"
/// timezone = "Europe/Berlin"
/// agent = "build"
/// prompt = "Run the nightly checks"
/// labels = ["nightly"]
/// missed = "once"
/// ```
extension NightshiftConfig {
    /// The keys of a `[schedules.NAME]` table.
    static let scheduleKeys = [
        "agent", "budget_usd", "cron", "ends_at", "labels", "lane", "max_attempts", "missed", "overlap", "paused", "priority", "prompt",
        "starts_at", "timeout", "timezone",
    ]

    /// The schedules of `[schedules]`, sorted by name, each checked; an error names
    /// `schedules.NAME.KEY`.
    static func schedules(_ section: TOMLSection?) throws(NightshiftError) -> [NewSchedule] {
        var schedules: [NewSchedule] = []
        for (name, table) in try section?.sections() ?? [] {
            schedules.append(try schedule(name: name, table))
        }
        return schedules
    }

    /// The schedule of `[schedules.NAME]`.
    private static func schedule(name: String, _ section: TOMLSection) throws(NightshiftError) -> NewSchedule {
        try section.checkKeys(scheduleKeys)
        let task = TaskTemplate(
            agent: try section.required("agent", .string), prompt: try section.required("prompt", .string),
            priority: try section.value("priority", .nonNegativeInteger), lane: try section.value("lane", .string),
            labels: try section.value("labels", .strings) ?? [], budgetUSD: try section.value("budget_usd", .positiveNumber),
            timeout: try section.value("timeout", .positiveDuration), maxAttempts: try section.value("max_attempts", .positiveInteger))
        let schedule = NewSchedule(
            name: name, cron: try section.required("cron", .string), timezone: try section.value("timezone", .string) ?? "UTC", task: task,
            startsAt: try section.value("starts_at", .time), endsAt: try section.value("ends_at", .time),
            missed: MissedRunPolicy(rawValue: try section.value("missed", .oneOf(MissedRunPolicy.allCases.map(\.rawValue))) ?? "") ?? .skip,
            overlap: OverlapPolicy(rawValue: try section.value("overlap", .oneOf(OverlapPolicy.allCases.map(\.rawValue))) ?? "") ?? .allow,
            paused: try section.value("paused", .bool) ?? false)
        do {
            try schedule.validate()
        } catch {
            // `task.prompt` is the key `prompt` here: the file's table is flat.
            let key = switch error.field {
            case "name"?, nil: "schedules.\(name)"
            case let field?: section.key(field.hasPrefix("task.") ? String(field.dropFirst(5)) : field)
            }
            throw section.error(key: key, error.message)
        }
        return schedule
    }
}

extension Expected<Date> {
    /// A moment: a TOML offset date-time (`2026-05-01T09:00:00+02:00`) or an RFC 3339 string.
    static var time: Self {
        Self(description: "a date-time with an offset like 2026-05-01T09:00:00Z") { value in
            if let text = value.string { return try? JSONTime.date(.string(text), field: "") }
            guard let moment = value.dateTime, let offset = moment.offset, let zone = TimeZone(secondsFromGMT: offset.offset * 60) else {
                return nil
            }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let components = DateComponents(
                year: moment.date.year, month: moment.date.month, day: moment.date.day, hour: moment.time.hour, minute: moment.time.minute,
                second: moment.time.second, nanosecond: moment.time.nanoSecond)
            return calendar.date(from: components)
        }
    }
}
