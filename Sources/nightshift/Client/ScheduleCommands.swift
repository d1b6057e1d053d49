import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift schedule`: recurring tasks — creating, listing, showing, pausing, resuming,
/// deleting and triggering schedules, and a cron expression's next fire times (`next`, offline).
struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Create, list, show, pause, resume, delete and trigger schedules (recurring tasks).",
        discussion: "A schedule submits a task at each time a cron expression names on a time zone's wall clock (see docs/schedules.md).",
        subcommands: [
            ScheduleListCommand.self, ScheduleAddCommand.self, ScheduleShowCommand.self, SchedulePauseCommand.self,
            ScheduleResumeCommand.self, ScheduleDeleteCommand.self, ScheduleTriggerCommand.self, ScheduleNextCommand.self,
        ],
        defaultSubcommand: ScheduleListCommand.self)
}

/// `nightshift schedule list`.
struct ScheduleListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the schedules, by name.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's answer: {\"schedules\":[..]}."),
        aliases: ["ls"])

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let schedules = try await options.client().schedules()
        if options.json {
            CLIOutput.json(WireScheduleList(schedules: schedules))
            return
        }
        guard !schedules.isEmpty else {
            CLIOutput.line("no schedules")
            return
        }
        let now = Date()
        var table = CLITable(["NAME", "CRON", "TIMEZONE", "AGENT", "NEXT", "LAST", "SOURCE", "PROMPT"])
        for schedule in schedules {
            table.add([
                .init(schedule.name ?? schedule.id, style: "1"), .init(schedule.cron), .init(schedule.timezone), .init(schedule.task.agent),
                ScheduleFormat.next(schedule, now: now), .init(CLIOutput.relative(schedule.lastRunAt, now: now)),
                .init(schedule.source), .init(CLIOutput.short(schedule.task.prompt, width: 40)),
            ])
        }
        table.print()
    }
}

/// `nightshift schedule add NAME --cron EXPR --agent A --prompt P`.
struct ScheduleAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Create a schedule.",
        discussion: CLIExitCodes.discussion("""
            --cron takes five fields (minute hour day-of-month month day-of-week, e.g. '0 9 * * 1-5'), a \
            macro (@hourly, @daily, @weekly, @monthly, @yearly) or '@every 15m'. Exits 1 if a schedule \
            of that name exists; 2 if the daemon rejects a field, naming it (a bad cron expression with \
            the position of the bad token). Prints the name and the next fire time; with --json, the API's \
            schedule object.
            """))

    @Argument(help: "The schedule's name (letters, digits, '.', '_', '-').")
    var name: String

    @Option(help: ArgumentHelp("When it fires: a cron expression, a macro or '@every DURATION'.", valueName: "expr"))
    var cron: String

    @Option(name: .customLong("tz"), help: ArgumentHelp("The IANA time zone the expression is read in.", valueName: "zone"))
    var timezone = "UTC"

    @Option(help: "The agent each task runs on.")
    var agent: String

    @Option(help: "The prompt of each task.")
    var prompt: String

    @Option(name: .customLong("label"), help: "A label of each task (repeatable).")
    var labels: [String] = []

    @Option(help: "The lane of each task.")
    var lane: String?

    @Option(help: "The priority of each task (lower runs first; default 10).")
    var priority: Int?

    @Option(help: ArgumentHelp("The spending limit of each task in US dollars.", valueName: "usd"))
    var budget: Double?

    @Option(help: ArgumentHelp("After downtime: skip the missed times (the default), or fire once for them.", valueName: "skip|once"))
    var missed: String?

    @Option(help: ArgumentHelp("While the previous task is live: allow another (the default), or skip the time.", valueName: "allow|skip"))
    var overlap: String?

    @Option(help: ArgumentHelp("Fire no earlier than this RFC 3339 time.", valueName: "time"))
    var start: String?

    @Option(help: ArgumentHelp("Fire no later than this RFC 3339 time.", valueName: "time"))
    var end: String?

    @Flag(help: "Create it paused (`schedule resume` starts it).")
    var paused = false

    @OptionGroup var options: ClientOptions

    func validate() throws {
        _ = try time(start, option: "--start")
        _ = try time(end, option: "--end")
        if let missed, MissedRunPolicy(rawValue: missed) == nil { throw ValidationError("--missed: expected skip or once, got '\(missed)'") }
        if let overlap, OverlapPolicy(rawValue: overlap) == nil { throw ValidationError("--overlap: expected allow or skip, got '\(overlap)'") }
    }

    private func time(_ text: String?, option: String) throws -> Date? {
        guard let text else { return nil }
        do {
            return try JSONTime.date(.string(text), field: option)
        } catch {
            throw ValidationError("\(option): expected an RFC 3339 time like 2026-05-01T09:00:00Z, got '\(text)'")
        }
    }

    func run() async throws {
        let body = WireScheduleWrite(
            name: name, cron: cron, timezone: timezone,
            task: WireTaskTemplateWrite(agent: agent, prompt: prompt, priority: priority, lane: lane, labels: labels, budgetUSD: budget),
            startsAt: try time(start, option: "--start"), endsAt: try time(end, option: "--end"), missed: missed, overlap: overlap,
            paused: paused)
        let schedule: WireSchedule
        do {
            schedule = try await options.client().createSchedule(body)
        } catch let error as NightshiftClient.APIError where error.status == 409 {
            throw CLIFailure("a schedule named '\(name)' exists; `nightshift schedule rm \(name)` deletes it")
        }
        CLIOutput.line(options.json ? schedule.json.jsonText : ScheduleFormat.summary(schedule))
    }
}

/// What the commands that change one schedule share: the schedule's id or name.
struct ScheduleKey: ParsableArguments {
    @Argument(help: "The schedule's name or id.")
    var key: String
}

/// `nightshift schedule pause NAME`.
struct SchedulePauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Pause a schedule: it fires no more until resumed.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such schedule. Prints its summary; with --json, the API's schedule object."))

    @OptionGroup var schedule: ScheduleKey
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let answer = try await options.client().pauseSchedule(schedule.key, paused: true)
        CLIOutput.line(options.json ? answer.json.jsonText : ScheduleFormat.summary(answer))
    }
}

/// `nightshift schedule resume NAME`.
struct ScheduleResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a schedule: it next fires at its first time after now.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such schedule. Prints its summary; with --json, the API's schedule object."))

    @OptionGroup var schedule: ScheduleKey
    @OptionGroup var options: ClientOptions

    func run() async throws {
        let answer = try await options.client().pauseSchedule(schedule.key, paused: false)
        CLIOutput.line(options.json ? answer.json.jsonText : ScheduleFormat.summary(answer))
    }
}

/// `nightshift schedule rm NAME`.
struct ScheduleDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Delete a schedule (its tasks stay).",
        discussion: CLIExitCodes.discussion("""
            Exits 3 if there is no such schedule. With --json, prints {"deleted":NAME}. A schedule the \
            config file declares comes back when the daemon restarts.
            """),
        aliases: ["delete"])

    @OptionGroup var schedule: ScheduleKey
    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.client().deleteSchedule(schedule.key)
        if options.json { CLIOutput.json(["deleted": .string(schedule.key)]) } else { CLIOutput.line("deleted \(schedule.key)") }
    }
}

/// `nightshift schedule trigger NAME`.
struct ScheduleTriggerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger", abstract: "Submit a schedule's task now (its next fire time does not move).",
        discussion: CLIExitCodes.discussion("""
            Exits 3 if there is no such schedule; 1 or 2 if the daemon refuses the task. Prints the task's \
            id and state; with --json, the API's task object.
            """))

    @OptionGroup var schedule: ScheduleKey

    @Option(help: "A key that makes a repeated trigger answer the first one's task.")
    var idempotencyKey: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let submitted = try await options.client().triggerSchedule(schedule.key, idempotencyKey: idempotencyKey)
        TaskFormat.print(submitted.task, json: options.json)
    }
}
