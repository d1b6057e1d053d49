import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `nightshift submit PROMPT`: submits a task, optionally waits for it or follows its log.
struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a task to the daemon.",
        discussion: CLIExitCodes.discussion("""
            Prints the task's id; when an --idempotency-key or a live --dedup-key matches an earlier \
            task, prints that task's id and says so on standard error. With --wait, waits until the \
            task is done, error, cancelled or dropped and prints its result; with --follow, prints its \
            log live until then. With --json, prints one JSON object per line: the task (without \
            --wait/--follow), or each event (--follow) and then the task as it ended. With --parent, the \
            task is a subtask (`nightshift show PARENT` draws them); a parent that is unknown, has ended, \
            or is already as deep or has as many subtasks as the daemon allows exits 2. With --ask always \
            (or an agent that asks), the task waits for `nightshift approve ID` before its first run.
            """))

    @Argument(help: "The prompt (for the shell agent, a /bin/sh script); - reads it from standard input.")
    var prompt: String

    @Option(help: "The agent that runs the task (default: shell; with --parent, the parent's).")
    var agent: String?

    @Option(help: "Run the workflow of this name (a [workflows.NAME] of the daemon's config): the prompt is its input.")
    var workflow: String?

    @Option(name: .customLong("parent"), help: ArgumentHelp(
        "Make the task a subtask of this task: it takes the parent's workspace and, unless given, its agent and what is left of its budget.",
        valueName: "id"))
    var parentID: String?

    @Option(help: ArgumentHelp(
        "always: the task waits for `nightshift approve` before its first run (reject drops it); on-miss (claude_code agents): a tool call outside the agent's allowed_tools waits for an approval; off: neither. Default: its agent's policy.",
        valueName: "off|always|on-miss"))
    var ask: String?

    @Option(help: "Priority: lower runs first (≥ 0; the default is 10).")
    var priority: Int?

    @Option(name: .customLong("label"), help: "A label (repeat for several).")
    var labels: [String] = []

    @Option(help: "The lane (a concurrency group).")
    var lane: String?

    @Option(help: "A repeated submit with the same key answers the original task.")
    var idempotencyKey: String?

    @Option(help: "While a task with this key is live, a submit with the same key answers it.")
    var dedupKey: String?

    @Option(help: "Extra input for the agent, as JSON.")
    var payload: String?

    @Option(help: "Attempts in all, the first included.")
    var maxAttempts: Int?

    @Option(help: "Seconds a run may take.")
    var timeout: Double?

    @Option(help: ArgumentHelp(
        "The task's spending limit in US dollars, its runs together; reaching it ends the task in error.", valueName: "usd"))
    var budget: Double?

    @Option(help: "Seconds to wait before the task may run.")
    var delay: Double?

    @Option(help: ArgumentHelp(
        "Where the task comes from: a channel binding of this name ([channels.NAME]) is told when it starts, ends, waits or is parked.",
        valueName: "channel"))
    var origin: String?

    @Option(help: "With --origin: the conversation or session within the channel.")
    var session: String?

    @Option(help: "With --origin: the thread to reply in (a Slack message's ts).")
    var thread: String?

    @Flag(help: "With --origin: do not tell the channel about this task.")
    var noNotify = false

    @Option(help: ArgumentHelp(
        "The task's own execution policy over its agent's, as JSON (e.g. '{\"network\":false,\"workspace\":\"ro\"}'): narrower than the agent's, or an admin token (docs/sandbox.md).",
        valueName: "json"))
    var policy: String?

    @Flag(help: "Wait until the task ends and print its result; exit 1 unless it is done.")
    var wait = false

    @Flag(help: "Print the task's log live until it ends; exit 1 unless it is done.")
    var follow = false

    @Flag(
        inversion: .prefixedNo,
        help: "With --wait: a progress line on stderr (state, elapsed time, cost of the runs ended so far), then the final one. Default: when stderr is a terminal.")
    var progress: Bool?

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if let payload {
            do { _ = try JSONValue(jsonText: payload) } catch {
                throw ValidationError("--payload: expected JSON (\(error))")
            }
        }
        if let maxAttempts, maxAttempts < 1 { throw ValidationError("--max-attempts: expected an integer ≥ 1") }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout: expected seconds > 0") }
        if let budget, !(budget > 0 && budget.isFinite) { throw ValidationError("--budget: expected US dollars > 0, got \(budget)") }
        if let delay, !(delay >= 0) { throw ValidationError("--delay: expected seconds ≥ 0") }
        if let policy {
            do { _ = try ExecutionPolicy(json: JSONValue(jsonText: policy), field: "--policy") } catch let error as NightshiftError {
                throw ValidationError("\(error.field ?? "--policy"): \(error.message)")
            } catch {
                throw ValidationError("--policy: expected a JSON object (\(error))")
            }
        }
        if agent?.isEmpty == true { throw ValidationError("--agent: expected a name") }
        if workflow?.isEmpty == true { throw ValidationError("--workflow: expected a name") }
        if workflow != nil, agent != nil { throw ValidationError("--workflow: give --workflow or --agent, not both (a workflow's tasks go to an agent of its name)") }
        if parentID?.isEmpty == true { throw ValidationError("--parent: expected a task id") }
        if origin == nil, session != nil || thread != nil || noNotify {
            throw ValidationError("--session, --thread and --no-notify go with --origin")
        }
    }

    func run() async throws {
        let client = options.client()
        var text = prompt
        if prompt == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        // Without --agent a subtask runs on its parent's agent, any other task on the shell.
        var request = WireNewTask(
            agent: workflow ?? agent ?? (parentID == nil ? BuiltinAgents.shell.name : nil), prompt: text,
            payload: try payload.map { try JSONValue(jsonText: $0) },
            priority: priority, lane: lane, labels: labels.isEmpty ? nil : labels, idempotencyKey: idempotencyKey, dedupKey: dedupKey,
            timeout: timeout, maxAttempts: maxAttempts, budgetUSD: budget, delay: delay, parentID: parentID, ask: ask,
            origin: origin.map { WireOriginWrite(channel: $0, session: session, thread: thread) }, notify: noNotify ? false : nil)
        request.policy = try policy.map { try JSONValue(jsonText: $0) }
        let submitted = try await Self.submit(request, to: client)
        let id = submitted.id
        if !submitted.created, !options.json { CLIOutput.note(Self.repeatNote(submitted.task, request: request)) }
        guard wait || follow else {
            if options.json { CLIOutput.json(submitted.task) } else { CLIOutput.line(id) }
            return
        }
        if !options.json { CLIOutput.liveLine(id) }
        let json = options.json
        let line = wait && !follow && (progress ?? (isatty(STDERR_FILENO) != 0)) ? WaitProgress(client: client, task: id) : nil
        let final: TaskWatch.Ending
        do {
            final = try await TaskWatch.follow(client, task: id, untilTerminalEvent: !follow) { event in
                if let state = event.stateTo { line?.moved(to: state) }
                guard follow else { return }
                CLIOutput.liveLine(json ? event.json.jsonText : CLIOutput.eventLine(event))
            }
        } catch {
            line?.finish(nil)
            throw error
        }
        line?.finish(final)
        if json {
            CLIOutput.json(final.json)
        } else if final.state == "done" {
            if wait, let result = final.task?.result { CLIOutput.line(result) }
        } else {
            CLIOutput.error(TaskWatch.failureMessage(final))
        }
        let code = TaskWatch.exitCode(for: final)
        if code != 0 { throw CLIFailure("", exitCode: code) }
    }
}

extension SubmitCommand {
    /// Submits `request`; an agent the daemon does not know is reported with the agents it does know.
    static func submit(_ request: WireNewTask, to client: NightshiftClient) async throws -> NightshiftClient.Submitted {
        do {
            return try await client.submit(request)
        } catch let error as NightshiftClient.APIError where error.field == "agent" && error.status == 422 {
            guard let agents = try? await client.agents() else { throw error }
            let names = agents.map(\.name).sorted()
            let known = names.isEmpty ? "no agents are defined" : "defined agents: " + names.joined(separator: ", ")
            throw CLIFailure(CLIErrorExit.message(for: error) + "; " + known, exitCode: CLIErrorExit.exitCode(for: error))
        }
    }

    /// What a submit that answered an earlier task says: `already queued as ID (STATE)` (or
    /// `already submitted` when that task has ended) and which key matched.
    static func repeatNote(_ task: WireTask, request: WireNewTask) -> String {
        let verb = task.isTerminal ? "already submitted" : "already queued"
        let matched = request.idempotencyKey != nil && task.idempotencyKey == request.idempotencyKey
            ? "--idempotency-key" : "--dedup-key"
        return "\(verb) as \(task.id) (\(task.state)): a task with the same \(matched) exists; no new task"
    }
}
