import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift show ID`: one task, its subtasks and its runs.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a task, its subtasks, its workflow steps and its runs.",
        discussion: CLIExitCodes.discussion("""
            A long prompt, payload or result is cut, saying how much is left out; --full prints it \
            whole. A subtask's parent is among its fields; a task's subtasks, and theirs, are drawn as \
            a tree (id, state, agent, the prompt's first line), up to \(SubtaskTree.maxDepth) levels. \
            A workflow task's recorded steps are listed in order with their state, attempts and \
            duration. With --json, prints the API's task object (always whole).
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
        let steps = try await client.steps(task: id)
        // A task of an agent with a repository: what its last run left (none answers 404).
        let diff = try? await client.request(.GET, "/v1/tasks/\(id)/diff")
        let tree = try await SubtaskTree.read(client, under: task.id)
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
        if let diff {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("diff") + "  (nightshift diff \(task.id) prints the patch)")
            for line in DiffCommand.summary(diff) { CLIOutput.line("  " + line) }
        }
        if !tree.roots.isEmpty {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("subtasks"))
            for line in tree.lines() { CLIOutput.line(line) }
        }
        if !steps.steps.isEmpty || !steps.declared.isEmpty {
            CLIOutput.line("")
            if let progress = steps.progress {
                CLIOutput.line(CLIOutput.bold("steps") + "  \(steps.completed)/\(steps.declared.count) completed (\(Int((progress * 100).rounded()))%)")
            }
            var table = CLITable(["#", "STEP", "STATE", "ATTEMPTS", "DURATION", "ERROR"], rightAligned: [0, 3])
            for step in steps.steps {
                let style: String? = switch step.state {
                case "completed": "32"
                case "failed": "31"
                default: nil
                }
                table.add([
                    .init(String(step.position + 1)), .init(step.name), .init(step.state, style: style), .init(String(step.attempts)),
                    .init(CLIOutput.duration(step.durationSeconds)), .init(CLIOutput.short(CLIOutput.text(step.error), width: 60)),
                ])
            }
            // Declared steps not reached yet: what is left to run.
            for (position, name) in TaskSteps.pending(steps.declared, after: steps.steps.map(\.position)) {
                table.add([.init(String(position + 1)), .init(name), .init("pending"), .init("-"), .init("-"), .init("-")])
            }
            table.print()
        }
        guard !runs.isEmpty else { return }
        CLIOutput.line("")
        var table = CLITable(["ATTEMPT", "OUTCOME", "EXIT", "STARTED", "DURATION", "ERROR"], rightAligned: [0, 2])
        for run in runs {
            let outcome = CLIOutput.text(run.outcome)
            let style: String? = switch outcome {
            case "succeeded": "32"
            case "failed", "lost", "timed_out", "stalled": "31"
            default: nil
            }
            let duration = CLIOutput.duration((run.finishedAt ?? now).timeIntervalSince(run.startedAt))
            table.add([
                .init(String(run.attempt)),
                .init(outcome == "-" ? "running" : outcome, style: style),
                .init(CLIOutput.text(run.exitCode)),
                .init(CLIOutput.relative(run.startedAt, now: now)),
                .init(duration),
                .init(CLIOutput.short(CLIOutput.text(run.error), width: 60)),
            ])
        }
        table.print()
        // What went wrong without failing a run (a denied tool call): never hidden by a success.
        for run in runs {
            guard !run.warnings.isEmpty else { continue }
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("warnings of attempt \(run.attempt)"))
            for warning in run.warnings { CLIOutput.line(CLIOutput.paint("  " + warning, "33")) }
        }
    }
}

extension ShowCommand {
    /// Lines of a long text shown without `--full`.
    static let maxLines = 40
    /// Characters of a long text shown without `--full`.
    static let maxCharacters = 2000

    /// The task's fields as `show` prints them, label and text; long texts are cut unless `full`.
    static func fields(of task: WireTask, now: Date, full: Bool) -> [(String, String)] {
        let long: (String) -> String = { full ? $0 : cut($0) }
        var fields: [(String, String)] = [
            ("id", task.id),
            ("state", CLIOutput.state(task.state)),
            ("agent", task.agent),
        ]
        if let parent = task.parentID { fields.append(("parent", parent)) }
        fields += [
            ("attempts", String(task.attempt)),
            ("failures", TaskFormat.failures(task)),
            // Runs lost to the node (a crash, a restart), not the agent's fault.
            ("interruptions", String(task.interruptions)),
            ("priority", String(task.priority)),
        ]
        if let wait = task.waitingFor { fields += waitFields(wait, task: task, now: now, full: full) }
        if task.waitingFor != nil || task.pendingInputs > 0 { fields.append(("pending inputs", String(task.pendingInputs))) }
        if let lane = task.lane { fields.append(("lane", lane)) }
        if !task.labels.isEmpty { fields.append(("labels", task.labels.joined(separator: ", "))) }
        for (date, label) in [(task.createdAt, "created"), (task.availableAt, "available"), (task.updatedAt, "updated"),
                              (task.finishedAt, "finished")]
        {
            guard let date else { continue }
            fields.append((label, "\(CLIOutput.relative(date, now: now)) (\(CLIOutput.timestamp(date)))"))
        }
        if let budget = task.budgetUSD { fields.append(("budget", String(format: "$%.4f", budget))) }
        if task.costUSD > 0 { fields.append(("cost", String(format: "$%.4f", task.costUSD))) }
        if task.tokensUsed > 0 {
            let parts = [("in", task.tokensIn), ("out", task.tokensOut), ("cache read", task.cacheReadTokens), ("cache write", task.cacheWriteTokens)]
                .map { "\($0.0) \($0.1)" }
            fields.append(("tokens", "\(task.tokensUsed) (\(parts.joined(separator: ", ")))"))
        }
        if task.turns > 0 { fields.append(("turns", "\(task.turns)")) }
        if task.runSeconds > 0 { fields.append(("run time", CLIOutput.duration(task.runSeconds))) }
        fields.append(("prompt", long(task.prompt)))
        if task.payload != .null, task.payload != .object([:]) { fields.append(("payload", long(task.payload.jsonText))) }
        if let result = task.result { fields.append(("result", long(result))) }
        if let error = task.error { fields.append(("error", CLIOutput.paint(error, "31"))) }
        if case .object(let policy)? = task.policy, !policy.isEmpty {
            // The task's own narrowing; the rest is its agent's (nightshift agents show NAME).
            fields.append(("policy", policy.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? $0.value.jsonText)" }.joined(separator: " ")))
        }
        return fields
    }

    /// What a waiting task waits for, as `show` prints it: the kind and how to answer it, then the
    /// question, the options, the tool and its input, and the wake time that it has.
    static func waitFields(_ wait: WireWaitingFor, task: WireTask, now: Date, full: Bool) -> [(String, String)] {
        let (what, reply): (String, String?) = switch wait.kind {
        case "input": ("an answer", "nightshift input \(task.id) TEXT --answer")
        case "approval" where wait.toolUseID != nil:
            ("an approval of this call", "nightshift approve \(task.id) [--tool]  or  nightshift reject \(task.id) --reason TEXT")
        case "approval": ("an approval", "nightshift approve \(task.id)  or  nightshift reject \(task.id) --reason TEXT")
        case "wake": ("its wake time", "nightshift wake \(task.id) [--prompt TEXT] wakes it now")
        case "children": ("its subtasks to end", nil)
        default: (wait.kind, nil)
        }
        var fields = [("waiting for", what)]
        if let reply { fields.append(("reply", CLIOutput.dim(reply))) }
        if let question = wait.question { fields.append(("question", full ? question : cut(question))) }
        if let options = wait.options, !options.isEmpty { fields.append(("options", options.joined(separator: " | "))) }
        if let tool = wait.tool { fields.append(("tool", tool)) }
        if let input = wait.toolInput, input != .null { fields.append(("tool input", full ? input.jsonText : cut(input.jsonText))) }
        if let wakeAt = wait.wakeAt { fields.append(("wakes", "\(CLIOutput.relative(wakeAt, now: now)) (\(CLIOutput.timestamp(wakeAt)))")) }
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
