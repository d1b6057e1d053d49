import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift schedule show NAME`: a schedule, its next fire times and its recent tasks.
struct ScheduleShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a schedule, its next fire times and its recent tasks.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such schedule. With --json, prints the API's schedule object."))

    @OptionGroup var schedule: ScheduleKey

    @Option(name: [.customShort("n"), .customLong("count")], help: "How many next fire times and recent tasks to show.")
    var count = 5

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if !(1...100).contains(count) { throw ValidationError("-n: expected 1 to 100, got \(count)") }
    }

    func run() async throws {
        let client = options.client()
        let found = try await client.schedule(schedule.key)
        if options.json {
            CLIOutput.json(found)
            return
        }
        var query = NightshiftClient.TaskQuery(archived: nil, limit: count)
        query.scheduleID = found.id
        let tasks = try await client.tasks(query).tasks
        let now = Date()
        let rows: [(String, String)] = [
            ("id", found.id), ("name", CLIOutput.text(found.name)), ("cron", found.cron), ("timezone", found.timezone),
            ("agent", found.task.agent), ("prompt", CLIOutput.short(found.task.prompt, width: 80)),
            ("labels", found.task.labels.isEmpty ? "-" : found.task.labels.joined(separator: ", ")), ("lane", CLIOutput.text(found.task.lane)),
            ("missed", found.missed), ("overlap", found.overlap), ("paused", found.paused ? "yes" : "no"),
            ("starts", CLIOutput.timestamp(found.startsAt)), ("ends", CLIOutput.timestamp(found.endsAt)),
            ("last run", found.lastRunAt.map { "\(CLIOutput.timestamp($0)) (\(CLIOutput.relative($0, now: now)))" } ?? "-"),
            ("last task", CLIOutput.text(found.lastTaskID)), ("source", found.source),
        ] + (found.lastError.map { [("last error", $0)] } ?? [])
        for (label, value) in rows { CLIOutput.line(CLIOutput.bold(label.padding(toLength: 11, withPad: " ", startingAt: 0)) + value) }

        CLIOutput.line("")
        let times = ScheduleFormat.fireTimes(found, after: now, count: count)
        CLIOutput.line(CLIOutput.bold(found.paused ? "next fire times (paused)" : "next fire times"))
        if times.isEmpty { CLIOutput.line("  none") }
        let zone = TimeZone(identifier: found.timezone) ?? ScheduleFormat.utc
        for time in times { CLIOutput.line("  " + ScheduleFormat.fireLine(time, zone: zone, now: now)) }

        CLIOutput.line("")
        CLIOutput.line(CLIOutput.bold("recent tasks"))
        guard !tasks.isEmpty else {
            CLIOutput.line("  none")
            return
        }
        var table = CLITable(["ID", "STATE", "FOR", "CREATED"])
        for task in tasks {
            table.add([
                .init(task.id), .init(task.state, style: CLIOutput.stateStyle(task.state)),
                .init(CLIOutput.timestamp(task.scheduledFor)), .init(CLIOutput.relative(task.createdAt, now: now)),
            ])
        }
        for line in table.render() { CLIOutput.line("  " + line) }
    }
}

/// `nightshift schedule next EXPR`: the next fire times of an expression, computed here.
struct ScheduleNextCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next", abstract: "Print the next fire times of a cron expression (no daemon needed).",
        discussion: CLIExitCodes.discussion("""
            Prints each time on the zone's wall clock, with its weekday and offset, and in UTC. A bad \
            expression or zone exits 2, naming the bad token's position. With --json, prints \
            {"cron","timezone","next":[RFC 3339 times in UTC]}.
            """))

    @Argument(help: "A cron expression ('0 9 * * 1-5'), a macro (@daily) or '@every DURATION'.")
    var expression: String

    @Option(name: .customLong("tz"), help: ArgumentHelp("The IANA time zone the expression is read in.", valueName: "zone"))
    var timezone = "UTC"

    @Option(name: [.customShort("n"), .customLong("count")], help: "How many fire times to print.")
    var count = 5

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        if !(1...1000).contains(count) { throw ValidationError("-n: expected 1 to 1000, got \(count)") }
    }

    func run() async throws {
        let now = Date()
        let timing: ScheduleTiming
        do {
            timing = try ScheduleTiming(cron: expression, timezone: timezone, anchor: now)
        } catch {
            throw CLIFailure("\(error.field == "timezone" ? "--tz" : "cron"): \(error.message)", exitCode: CLIExitCodes.usage)
        }
        var times: [Date] = []
        var after = now
        while times.count < count, let next = timing.next(after: after) {
            times.append(next)
            after = next
        }
        if json {
            CLIOutput.json(["cron": .string(expression), "timezone": .string(timezone), "next": .array(times.map { JSONTime.json($0) })])
            return
        }
        let zone = TimeZone(identifier: timezone) ?? ScheduleFormat.utc
        for time in times { CLIOutput.line(ScheduleFormat.fireLine(time, zone: zone, now: now)) }
    }
}

/// How the schedule commands print schedules and fire times.
enum ScheduleFormat {
    /// UTC.
    static let utc = TimeZone(secondsFromGMT: 0)!

    /// `NAME  CRON (ZONE)  next in 3h`: the line `add`, `pause` and `resume` print.
    static func summary(_ schedule: WireSchedule) -> String {
        let next = schedule.nextRunAt.map { "next \(CLIOutput.relative($0))" } ?? (schedule.paused ? "paused" : "ended")
        return "\(CLIOutput.bold(schedule.name ?? schedule.id))  \(schedule.cron) (\(schedule.timezone))  \(next)"
    }

    /// The NEXT cell of a listing: when it fires next, `paused` or `ended`.
    static func next(_ schedule: WireSchedule, now: Date) -> CLITable.Cell {
        if let next = schedule.nextRunAt { return .init(CLIOutput.relative(next, now: now)) }
        return schedule.paused ? .init("paused", style: "35") : .init("ended", style: "2")
    }

    /// Up to `count` fire times of `schedule` after `date`, within its start and end (none while paused).
    static func fireTimes(_ schedule: WireSchedule, after date: Date, count: Int) -> [Date] {
        guard !schedule.paused else { return [] }
        let spec = NewSchedule(
            cron: schedule.cron, timezone: schedule.timezone, task: TaskTemplate(agent: schedule.task.agent, prompt: schedule.task.prompt),
            startsAt: schedule.startsAt, endsAt: schedule.endsAt)
        var times: [Date] = []
        var after = date
        while times.count < count, let next = spec.nextFire(after: after, anchor: schedule.createdAt) {
            times.append(next)
            after = next
        }
        return times
    }

    /// `Mon 2026-05-04 09:00:00 +02:00  2026-05-04 07:00:00 UTC  in 3d`: a fire time on the zone's
    /// wall clock, in UTC, and from now.
    static func fireLine(_ date: Date, zone: TimeZone, now: Date) -> String {
        "\(format(date, zone: zone, offset: true))  \(format(date, zone: utc, offset: false)) UTC  \(CLIOutput.dim(CLIOutput.relative(date, now: now)))"
    }

    private static func format(_ date: Date, zone: TimeZone, offset: Bool) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = offset ? "EEE yyyy-MM-dd HH:mm:ss xxx" : "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }
}
