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
            CLIOutput.json(["checkpoints": .array(checkpoints)])
            return
        }
        guard !checkpoints.isEmpty else {
            CLIOutput.line("no checkpoints")
            return
        }
        let now = Date()
        var table = CLITable(["ID", "STATUS", "AGENT", "PHASE", "UPDATED", "RESUME HINT"])
        for checkpoint in checkpoints {
            let status = CLIOutput.text(checkpoint["status"])
            table.add([
                .init(CLIOutput.text(checkpoint["id"])),
                .init(checkpoint["archived_at"] == .null ? status : "\(status) (archived)", style: CheckpointFormat.style(status)),
                .init(CLIOutput.text(checkpoint["agent"])),
                .init(CLIOutput.short(CLIOutput.text(checkpoint["phase"]), width: 24)),
                .init(CLIOutput.relative(checkpoint["updated_at"], now: now)),
                .init(CLIOutput.short(CLIOutput.text(checkpoint["resume_hint"]), width: 48)),
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
        let context = checkpoint["context"]
        let progress = checkpoint["progress"]
        var fields: [(String, String)] = [
            ("id", CLIOutput.text(checkpoint["id"])),
            ("status", CLIOutput.paint(CLIOutput.text(checkpoint["status"]), CheckpointFormat.style(CLIOutput.text(checkpoint["status"])))),
            ("agent", CLIOutput.text(checkpoint["agent"])),
            ("session", CLIOutput.text(checkpoint["session_id"])),
            ("task", CLIOutput.text(checkpoint["task_id"])),
            ("phase", CLIOutput.text(checkpoint["phase"])),
            ("branch", CLIOutput.text(context?["branch"])),
            ("work items", CheckpointFormat.list(context?["work_items"])),
            ("completed", CheckpointFormat.list(progress?["tasks_completed"])),
            ("remaining", CheckpointFormat.list(progress?["tasks_remaining"])),
            ("files", CheckpointFormat.list(progress?["files_modified"])),
            ("decisions", CheckpointFormat.list(progress?["decisions"])),
            ("resume hint", CLIOutput.text(checkpoint["resume_hint"])),
        ]
        for (key, label) in [("created_at", "created"), ("updated_at", "updated"), ("archived_at", "archived")] {
            guard let value = checkpoint[key], value != .null else { continue }
            fields.append((label, "\(CLIOutput.relative(value, now: now)) (\(CLIOutput.timestamp(value)))"))
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
            CLIOutput.line("\(CLIOutput.text(checkpoint["id"]))  \(CLIOutput.text(checkpoint["status"]))")
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
        if options.json { CLIOutput.json(["archived": .int(Int64(archived))]) } else {
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
            CLIOutput.json(["quarantined": .array(files)])
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
                .init(CLIOutput.text(file["file_name"])), .init(CLIOutput.text(file["agent"])),
                .init(CLIOutput.relative(file["time"], now: now)),
                .init(CLIOutput.short(CLIOutput.text(file["error"]), width: 60), style: "31"),
                .init(CLIOutput.text(file["quarantined_path"])),
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
    static func list(_ value: JSONValue?) -> String {
        guard case .array(let items)? = value, !items.isEmpty else { return "-" }
        return items.map { CLIOutput.text($0) }.joined(separator: ", ")
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
