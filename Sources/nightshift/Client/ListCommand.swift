import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift list`: tasks, newest first.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List tasks, newest first.",
        discussion: CLIExitCodes.discussion("""
            With --json, prints the API's page: {"tasks":[..],"next_cursor":..} (with --all, every \
            matching task and a null cursor).
            """),
        aliases: ["ls"])

    @Option(help: "Only tasks in this state (queued, running, waiting, paused, done, error, cancelled, dropped).")
    var state: String?

    @Option(help: "Only tasks of this agent.")
    var agent: String?

    @Option(help: "Only tasks with this label.")
    var label: String?

    @Option(help: "Only tasks in this lane.")
    var lane: String?

    @Option(help: "At most this many tasks (1 to 500; the daemon's default is 50). With --all, the page size.")
    var limit: Int?

    @Flag(help: "List every matching task, following the cursor past the first page.")
    var all = false

    @Flag(help: "List archived tasks instead of live ones.")
    var archived = false

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if let limit, !(1...500).contains(limit) { throw ValidationError("--limit: expected 1 to 500, got \(limit)") }
        if let state, TaskState(rawValue: state) == nil {
            throw ValidationError("--state: expected one of \(TaskState.allCases.map(\.rawValue).joined(separator: ", ")), got '\(state)'")
        }
    }

    func run() async throws {
        let client = options.client()
        var query = NightshiftClient.TaskQuery(
            state: state, agent: agent, label: label, lane: lane, archived: archived ? true : nil,
            limit: all ? (limit ?? 500) : limit)
        var page = try await client.tasks(query)
        if all {
            var tasks = page.tasks
            while let cursor = page.nextCursor, !page.tasks.isEmpty {
                query.cursor = cursor
                page = try await client.tasks(query)
                tasks += page.tasks
            }
            page = WireTaskPage(tasks: tasks, nextCursor: nil)
        }
        if options.json {
            CLIOutput.json(page)
            return
        }
        guard !page.tasks.isEmpty else {
            CLIOutput.line("no tasks")
            return
        }
        let now = Date()
        // What waiting tasks wait for gets a column when the page has one.
        let waits = page.tasks.contains { $0.waitingFor != nil }
        var table = CLITable(
            ["ID", "STATE", "AGENT", "RUNS", "FAILURES", "CREATED"] + (waits ? ["WAITING FOR"] : []) + ["PROMPT"], rightAligned: [3, 4])
        for task in page.tasks {
            var cells: [CLITable.Cell] = [
                .init(task.id),
                .init(task.state, style: CLIOutput.stateStyle(task.state)),
                .init(task.agent),
                .init(String(task.attempt)),
                .init(TaskFormat.failures(task)),
                .init(CLIOutput.relative(task.createdAt, now: now)),
            ]
            if waits { cells.append(.init(CLIOutput.short(task.waitingFor?.summary ?? "-", width: 40))) }
            cells.append(.init(CLIOutput.short(task.prompt, width: 48)))
            table.add(cells)
        }
        table.print()
        if page.nextCursor != nil {
            CLIOutput.line(CLIOutput.dim("(more: --all, or --limit up to 500)"))
        }
    }
}

/// Formats shared by the task commands.
enum TaskFormat {
    /// Prints what an action answered: the task as JSON with `--json`, else its summary line.
    static func print(_ task: WireTask, json: Bool) {
        if json { CLIOutput.json(task) } else { CLIOutput.line(summary(task)) }
    }

    /// `failures/max_attempts`: the failed runs that count against the attempts allowed (since
    /// submit or the last manual retry), or the failures alone. Runs started (`attempt`) are shown
    /// apart: a manual retry or a daemon's restart starts a run without a failure.
    static func failures(_ task: WireTask) -> String {
        "\(task.failures)/\(task.maxAttempts)"
    }

    /// `ID  STATE` — the line the action commands print.
    static func summary(_ task: WireTask) -> String {
        "\(task.id)  \(CLIOutput.state(task.state))"
    }
}
