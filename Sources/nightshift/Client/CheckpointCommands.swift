import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift checkpoints`: what agent sessions wrote down for the sessions that resume their work.
struct CheckpointsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoints",
        abstract: "List, show, resolve and clean up agent session checkpoints.",
        subcommands: [
            CheckpointListCommand.self, CheckpointShowCommand.self, CheckpointResolveCommand.self,
            CheckpointCleanupCommand.self, CheckpointQuarantineCommand.self,
        ],
        defaultSubcommand: CheckpointListCommand.self)
}

/// `nightshift checkpoints list`.
struct CheckpointListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List checkpoints, most recently updated first.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's answer: {\"checkpoints\":[..]}."),
        aliases: ["ls"])

    @Option(help: "Only checkpoints of this agent.")
    var agent: String?

    @Option(help: "Only checkpoints with this status (active or resolved).")
    var status: String?

    @Option(name: .customLong("max-age"), help: "Only checkpoints updated within this long (7d, 12h, 30m, 3600s).")
    var maxAge: String?

    @Option(name: .customLong("task"), help: "Only checkpoints of this task.")
    var taskID: String?

    @Flag(help: "List archived checkpoints too.")
    var archived = false

    @Option(help: "At most this many (1 to 500; the daemon's default is 100).")
    var limit: Int?

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if let status, CheckpointStatus(rawValue: status) == nil {
            throw ValidationError("--status: expected active or resolved, got '\(status)'")
        }
        if let limit, !(1...500).contains(limit) { throw ValidationError("--limit: expected 1 to 500, got \(limit)") }
    }

    func run() async throws {
        let checkpoints = try await options.client().checkpoints(.init(
            agent: agent, status: status, maxAge: maxAge, taskID: taskID, includeArchived: archived, limit: limit))
        if options.json {
            CLIOutput.json(WireCheckpointList(checkpoints: checkpoints))
            return
        }
        guard !checkpoints.isEmpty else {
            CLIOutput.line("no checkpoints")
            return
        }
        let now = Date()
        var table = CLITable(["ID", "STATUS", "AGENT", "PHASE", "UPDATED", "RESUME HINT"])
        for checkpoint in checkpoints {
            let status = checkpoint.status.rawValue
            table.add([
                .init(checkpoint.id),
                .init(checkpoint.archivedAt == nil ? status : "\(status) (archived)", style: CheckpointFormat.style(status)),
                .init(checkpoint.agent),
                .init(CLIOutput.short(checkpoint.phase, width: 24)),
                .init(CLIOutput.relative(checkpoint.updatedAt, now: now)),
                .init(CLIOutput.short(CLIOutput.text(checkpoint.resumeHint), width: 48)),
            ])
        }
        table.print()
    }
}

/// `nightshift checkpoints show ID`.
struct CheckpointShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a checkpoint.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's checkpoint object."))

    @Argument(help: "The checkpoint's id.")
    var id: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let checkpoint = try await options.client().checkpoint(id)
        if options.json {
            CLIOutput.json(checkpoint)
            return
        }
        let now = Date()
        let context = checkpoint.context
        let progress = checkpoint.progress
        let status = checkpoint.status.rawValue
        var fields: [(String, String)] = [
            ("id", checkpoint.id),
            ("status", CLIOutput.paint(status, CheckpointFormat.style(status))),
            ("agent", checkpoint.agent),
            ("session", CLIOutput.text(checkpoint.sessionID)),
            ("task", CLIOutput.text(checkpoint.taskID?.rawValue)),
            ("phase", checkpoint.phase),
            ("branch", CLIOutput.text(context.branch)),
            ("work items", CheckpointFormat.list(context.workItems)),
            ("completed", CheckpointFormat.list(progress.tasksCompleted)),
            ("remaining", CheckpointFormat.list(progress.tasksRemaining)),
            ("files", CheckpointFormat.list(progress.filesModified)),
            ("decisions", CheckpointFormat.list(progress.decisions)),
            ("resume hint", CLIOutput.text(checkpoint.resumeHint)),
        ]
        for (date, label) in [(checkpoint.createdAt, "created"), (checkpoint.updatedAt, "updated"), (checkpoint.archivedAt, "archived")] {
            guard let date else { continue }
            fields.append((label, "\(CLIOutput.relative(date, now: now)) (\(CLIOutput.timestamp(date)))"))
        }
        CheckpointFormat.print(fields.filter { $0.1 != "-" })
    }
}

/// `nightshift checkpoints resolve ID`.
struct CheckpointResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve", abstract: "Mark a checkpoint resolved (nothing resumes from it).",
        discussion: CLIExitCodes.discussion("""
            Resolving a resolved checkpoint changes nothing. Prints its id and status; with --json, \
            the API's checkpoint object.
            """))

    @Argument(help: "The checkpoint's id.")
    var id: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let checkpoint = try await options.client().resolveCheckpoint(id)
        if options.json { CLIOutput.json(checkpoint) } else {
            CLIOutput.line("\(checkpoint.id)  \(checkpoint.status.rawValue)")
        }
    }
}

/// `nightshift checkpoints cleanup --older-than-days N`.
struct CheckpointCleanupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup", abstract: "Archive resolved and stale checkpoints.",
        discussion: CLIExitCodes.discussion("""
            Archives resolved checkpoints, and active ones nobody updated, not updated for N days. \
            Prints how many; with --json, {"archived":N}.
            """))

    @Option(name: .customLong("older-than-days"), help: "Archive checkpoints not updated for this many days (≥ 1).")
    var days: Int

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if days < 1 { throw ValidationError("--older-than-days: expected a number of days ≥ 1, got \(days)") }
    }

    func run() async throws {
        let archived = try await options.client().cleanupCheckpoints(olderThanDays: days)
        if options.json { CLIOutput.json(WireCleanupResult(archived: archived)) } else {
            CLIOutput.line("archived \(archived) checkpoint\(archived == 1 ? "" : "s")")
        }
    }
}

/// `nightshift checkpoints quarantine`.
struct CheckpointQuarantineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quarantine", abstract: "List checkpoint files that could not be read, with the reason.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's answer: {\"quarantined\":[..]}."))

    @Option(help: "At most this many (1 to 500; the daemon's default is 100).")
    var limit: Int?

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if let limit, !(1...500).contains(limit) { throw ValidationError("--limit: expected 1 to 500, got \(limit)") }
    }

    func run() async throws {
        let files = try await options.client().quarantinedCheckpoints(limit: limit)
        if options.json {
            CLIOutput.json(WireQuarantineList(quarantined: files))
            return
        }
        guard !files.isEmpty else {
            CLIOutput.line("no quarantined checkpoints")
            return
        }
        let now = Date()
        var table = CLITable(["FILE", "AGENT", "TIME", "ERROR", "PATH"])
        for file in files {
            table.add([
                .init(file.fileName), .init(file.agent),
                .init(CLIOutput.relative(file.time, now: now)),
                .init(CLIOutput.short(file.error, width: 60), style: "31"),
                .init(file.quarantinedPath),
            ])
        }
        table.print()
    }
}

/// Formats shared by the checkpoint and memory commands.
enum CheckpointFormat {
    /// The ANSI style of a checkpoint status.
    static func style(_ status: String) -> String? {
        status == "active" ? "36" : nil
    }

    /// An array of strings, comma-separated; `-` when empty.
    static func list(_ items: [String]) -> String {
        items.isEmpty ? "-" : items.joined(separator: ", ")
    }

    /// `key  value` lines with the keys bold and aligned; continuation lines indented.
    static func print(_ fields: [(String, String)]) {
        let width = fields.map(\.0.count).max() ?? 0
        for (key, value) in fields {
            let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
            let head = CLIOutput.bold(key) + String(repeating: " ", count: width - key.count + 2)
            CLIOutput.line(head + (lines.first.map(String.init) ?? ""))
            for line in lines.dropFirst() { CLIOutput.line(String(repeating: " ", count: width + 2) + line) }
        }
    }
}
