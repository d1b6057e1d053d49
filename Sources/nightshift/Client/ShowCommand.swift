import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift show ID`: one task and its runs.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a task and its runs.",
        discussion: CLIExitCodes.discussion("""
            A long prompt, payload or result is cut, saying how much is left out; --full prints it \
            whole. With --json, prints the API's task object (always whole).
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Flag(help: "Print the prompt, payload and result whole (by default each is cut after \(ShowCommand.maxLines) lines or \(ShowCommand.maxCharacters) characters).")
    var full = false

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = options.client()
        let task = try await client.task(id)
        if options.json {
            CLIOutput.json(task)
            return
        }
        let runs = try await client.runs(task: id)
        let now = Date()
        let fields = Self.fields(of: task, now: now, full: full)
        let width = fields.map(\.0.count).max() ?? 0
        for (key, value) in fields {
            let indent = String(repeating: " ", count: width + 2)
            let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
            let head = CLIOutput.bold(key) + String(repeating: " ", count: width - key.count + 2)
            CLIOutput.line(head + (lines.first.map(String.init) ?? ""))
            for line in lines.dropFirst() { CLIOutput.line(indent + line) }
        }
        guard !runs.isEmpty else { return }
        CLIOutput.line("")
        var table = CLITable(["ATTEMPT", "OUTCOME", "EXIT", "STARTED", "DURATION", "ERROR"], rightAligned: [0, 2])
        for run in runs {
            let outcome = CLIOutput.text(run["outcome"])
            let style: String? = switch outcome {
            case "succeeded": "32"
            case "failed", "lost", "timed_out": "31"
            default: nil
            }
            var duration = "-"
            if let started = CLIOutput.date(run["started_at"]) {
                let end = CLIOutput.date(run["finished_at"]) ?? now
                duration = CLIOutput.duration(end.timeIntervalSince(started))
            }
            table.add([
                .init(CLIOutput.text(run["attempt"])),
                .init(outcome == "-" ? "running" : outcome, style: style),
                .init(CLIOutput.text(run["exit_code"])),
                .init(CLIOutput.relative(run["started_at"], now: now)),
                .init(duration),
                .init(CLIOutput.short(CLIOutput.text(run["error"]), width: 60)),
            ])
        }
        table.print()
        // What went wrong without failing a run (a denied tool call): never hidden by a success.
        for run in runs {
            guard case .array(let warnings)? = run["warnings"], !warnings.isEmpty else { continue }
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("warnings of attempt \(CLIOutput.text(run["attempt"]))"))
            for warning in warnings { CLIOutput.line(CLIOutput.paint("  " + CLIOutput.text(warning), "33")) }
        }
    }
}

extension ShowCommand {
    /// Lines of a long text shown without `--full`.
    static let maxLines = 40
    /// Characters of a long text shown without `--full`.
    static let maxCharacters = 2000

    /// The task's fields as `show` prints them, label and text; long texts are cut unless `full`.
    static func fields(of task: JSONValue, now: Date, full: Bool) -> [(String, String)] {
        let long: (String) -> String = { full ? $0 : cut($0) }
        var fields: [(String, String)] = [
            ("id", CLIOutput.text(task["id"])),
            ("state", CLIOutput.state(CLIOutput.text(task["state"]))),
            ("agent", CLIOutput.text(task["agent"])),
            ("attempts", CLIOutput.text(task["attempt"])),
            ("failures", TaskFormat.failures(task)),
        ]
        // Runs lost to the node (a crash, a restart), not the agent's fault; older daemons do not say.
        if let interruptions = task["interruptions"], interruptions != .null {
            fields.append(("interruptions", CLIOutput.text(interruptions)))
        }
        fields.append(("priority", CLIOutput.text(task["priority"])))
        if let lane = task["lane"], lane != .null { fields.append(("lane", CLIOutput.text(lane))) }
        if case .array(let labels)? = task["labels"], !labels.isEmpty {
            fields.append(("labels", labels.map { CLIOutput.text($0) }.joined(separator: ", ")))
        }
        for (key, label) in [("created_at", "created"), ("available_at", "available"), ("updated_at", "updated"),
                             ("finished_at", "finished")]
        {
            guard let value = task[key], value != .null else { continue }
            fields.append((label, "\(CLIOutput.relative(value, now: now)) (\(CLIOutput.timestamp(value)))"))
        }
        if let budget = task["budget_usd"]?.doubleValue { fields.append(("budget", String(format: "$%.4f", budget))) }
        if let cost = task["cost_usd"]?.doubleValue, cost > 0 { fields.append(("cost", String(format: "$%.4f", cost))) }
        if let used = task["tokens_used"]?.doubleValue.map(Int.init), used > 0 {
            let parts = [("in", "tokens_in"), ("out", "tokens_out"), ("cache read", "cache_read_tokens"), ("cache write", "cache_write_tokens")]
                .map { "\($0.0) \(CLIOutput.text(task[$0.1]))" }
            fields.append(("tokens", "\(used) (\(parts.joined(separator: ", ")))"))
        }
        if let turns = task["turns"]?.doubleValue.map(Int.init), turns > 0 { fields.append(("turns", "\(turns)")) }
        if let seconds = task["run_seconds"]?.doubleValue, seconds > 0 { fields.append(("run time", CLIOutput.duration(seconds))) }
        fields.append(("prompt", long(CLIOutput.text(task["prompt"]))))
        if let payload = task["payload"], payload != .null, payload != .object([:]) { fields.append(("payload", long(payload.jsonText))) }
        if let result = TaskWatch.resultText(task) { fields.append(("result", long(result))) }
        if let error = task["error"], error != .null { fields.append(("error", CLIOutput.paint(CLIOutput.text(error), "31"))) }
        return fields
    }

    /// `text` up to ``maxLines`` lines and ``maxCharacters`` characters, then a line saying how
    /// much is left out and that `--full` shows it; short texts as they are.
    static func cut(_ text: String) -> String {
        var kept = text.prefix(maxCharacters)
        var lines = 0
        if let end = kept.indices.first(where: { index in
            guard kept[index] == "\n" else { return false }
            lines += 1
            return lines == maxLines
        }) {
            kept = kept[..<end]
        }
        let rest = text[kept.endIndex...]
        guard !rest.allSatisfy(\.isWhitespace) else { return text }
        let restLines = rest.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        let left = restLines > 0 ? "\(restLines) more lines (\(rest.count) characters)" : "\(rest.count) more characters"
        return String(kept) + "\n" + CLIOutput.dim("… cut: \(left); --full shows all")
    }
}
