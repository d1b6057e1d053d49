import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// What the commands that send a task an input share: send it and print it.
protocol InputSendingCommand: AsyncParsableCommand {
    /// The task's id.
    var id: String { get }
    /// `--json`, `--url`, `--home`.
    var options: ClientOptions { get }
}

extension InputSendingCommand {
    /// The help text shared by the commands that send an input.
    static func discussion(_ text: String) -> String {
        CLIExitCodes.discussion(text + """
             Prints the task's id, the input's place in its inbox, its kind and its delivery state; with \
            --json, the API's input object. Exits 1 if the task has finished, or does not wait for what \
            is sent (HTTP 409).
            """)
    }

    /// Sends the input and prints it.
    func send(_ kind: InputKind, text: String?, decisions: JSONValue? = nil, idempotencyKey: String? = nil) async throws {
        let added = try await options.client().addInput(
            taskID: id, kind: kind, text: text, decisions: decisions, idempotencyKey: idempotencyKey)
        if options.json {
            CLIOutput.json(added.input)
        } else {
            CLIOutput.line(InboxFormat.summary(added.input) + (added.created ? "" : "  (sent before with this idempotency key)"))
        }
    }
}

/// `nightshift input ID TEXT [--answer]`.
struct InputCommand: InputSendingCommand {
    static let configuration = CommandConfiguration(
        commandName: "input", abstract: "Send a task a message, or with --answer the answer to its question.",
        discussion: discussion("""
            A waiting task wakes and its agent continues its session with the text; a running one gets it \
            when its run ends.
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Argument(help: "The message or answer.")
    var text: String

    @Flag(help: "Send the answer to the question the task waits on, rather than a message.")
    var answer = false

    @Option(name: .customLong("idempotency-key"), help: "A key that makes a repeated send answer the first input instead of adding one.")
    var idempotencyKey: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await send(answer ? .answer : .message, text: text, idempotencyKey: idempotencyKey)
    }
}

/// `nightshift approve ID [--comment TEXT]`.
struct ApproveCommand: InputSendingCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Approve what a task waits for (a tool call, a step).",
        discussion: discussion("The task wakes and its agent continues, told it was approved."))

    @Argument(help: "The task's id.")
    var id: String

    @Option(help: "A comment the agent sees with the approval.")
    var comment: String?

    @Flag(help: "For a tool call the agent asked for: approve its tool for the rest of the task, not only this call.")
    var tool = false

    @Option(name: .customLong("tool-rule"), help: ArgumentHelp(
        "For a tool call: approve these tool rules for the rest of the task (Claude Code's syntax, e.g. 'Bash(npm test:*)'); repeatable.",
        valueName: "rule"))
    var toolRules: [String] = []

    @OptionGroup var options: ClientOptions

    func run() async throws {
        var decisions: JSONValue?
        if tool || !toolRules.isEmpty {
            var scope: [String: JSONValue] = [ToolApprovals.scopeKey: "tool"]
            if !toolRules.isEmpty { scope[ToolApprovals.rulesKey] = .array(toolRules.map(JSONValue.string)) }
            decisions = .object(scope)
        }
        try await send(.approve, text: comment, decisions: decisions)
    }
}

/// `nightshift reject ID --reason TEXT`.
struct RejectCommand: InputSendingCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject", abstract: "Reject what a task waits for, saying why.",
        discussion: discussion("""
            The task wakes and its agent continues, told it was rejected and why; a task that waits \
            for approval before its first run (ask = "always") is dropped instead, with the reason as its error.
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Option(help: "Why: the agent sees it.")
    var reason: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await send(.reject, text: reason)
    }
}

/// `nightshift inputs ID`.
struct InputsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inputs", abstract: "List a task's inputs in the order they arrived, with their delivery state.",
        discussion: CLIExitCodes.discussion("""
            Delivery: pending (not yet handed to the agent), delivered_live (to the running agent), \
            delivered_resume (by resuming its session), superseded (the task ended first). With --json, \
            prints the API's answer: {"inputs":[..]}.
            """))

    @Argument(help: "The task's id.")
    var id: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let inputs = try await options.client().inputs(taskID: id)
        if options.json {
            CLIOutput.json(WireInputList(inputs: inputs))
            return
        }
        guard !inputs.isEmpty else {
            CLIOutput.line("no inputs")
            return
        }
        let now = Date()
        var table = CLITable(["SEQ", "KIND", "SENDER", "DELIVERY", "CREATED", "TEXT"], rightAligned: [0])
        for input in inputs {
            table.add([
                .init(String(input.seq)),
                .init(input.kind),
                .init(input.sender),
                .init(input.delivery, style: InboxFormat.deliveryStyle(input.delivery)),
                .init(CLIOutput.relative(input.createdAt, now: now)),
                .init(CLIOutput.short(input.text ?? "-", width: 60)),
            ])
        }
        table.print()
    }
}

/// `nightshift wake ID [--prompt TEXT]`.
struct WakeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wake", abstract: "Wake a waiting task now, optionally with a prompt for its agent.",
        discussion: CLIExitCodes.discussion("""
            Without --prompt the task is queued again at once (as when its wake time comes); with it, the \
            agent continues its session with the prompt. Prints the task's id and new state; with --json, the \
            API's task object. Exits 1 if the task is not waiting (HTTP 409).
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Option(help: "What the agent continues with.")
    var prompt: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let task = try await options.client().wake(taskID: id, prompt: prompt)
        TaskFormat.print(task, json: options.json)
    }
}

/// `nightshift drop ID [--reason TEXT]`.
struct DropCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drop", abstract: "Drop a task that is queued, waiting or paused.",
        discussion: CLIExitCodes.discussion("""
            The task ends dropped (retry runs it again); --reason becomes its error. Prints the task's id \
            and new state; with --json, the API's task object. Exits 1 if its state does not allow it (HTTP 409).
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Option(help: "Why: shown as the task's error.")
    var reason: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let task = try await options.client().drop(taskID: id, reason: reason)
        TaskFormat.print(task, json: options.json)
    }
}

/// Formats shared by the inbox commands.
enum InboxFormat {
    /// `TASK  input N  KIND  DELIVERY` — the line the commands that send an input print.
    static func summary(_ input: WireInput) -> String {
        "\(input.taskID)  input \(input.seq)  \(input.kind)  \(CLIOutput.paint(input.delivery, deliveryStyle(input.delivery)))"
    }

    /// The ANSI style of a delivery state.
    static func deliveryStyle(_ delivery: String) -> String? {
        switch delivery {
        case "pending": "35"
        case "superseded": "33"
        default: "32"
        }
    }
}
