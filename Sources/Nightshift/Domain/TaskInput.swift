import Foundation

/// When a task asks a person before it acts: per agent (the default) and per task (an override).
public enum AskPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Never: the task runs as its agent's permissions allow.
    case off
    /// Before its first run: the task waits for `approve` (a `reject` drops it).
    case always
    /// When the agent would use a tool its permissions refuse: the call becomes an approval request
    /// (and the agent's own questions inbox questions). Only runners with a tool-approval hook
    /// enforce it: ``RunnerKind/asksOnMiss``.
    case onMiss = "on-miss"

    /// Throws `invalid_input` naming `field` for a policy agents of `runner` cannot enforce
    /// (`on-miss` for a runner without a tool-approval hook); `nil`: the runner is not known yet.
    public func validate(field: String, runner: RunnerKind?) throws(NightshiftError) {
        guard self == .onMiss, let runner, !runner.asksOnMiss else { return }
        let hooked = RunnerKind.withApprovalHook.map { "'\($0)'" }.joined(separator: ", ")
        throw .invalid(
            field,
            "\"on-miss\" needs a runner with a tool-approval hook (\(hooked)); '\(runner)' has none: use \"off\" or \"always\"")
    }
}

extension RunnerKind {
    /// The runners that can turn a refused tool call into an approval request (``AskPolicy/onMiss``):
    /// Claude Code, through its `PreToolUse` hook and deferred tool calls.
    public static let withApprovalHook: [RunnerKind] = [.claudeCode]

    /// Whether agents of this runner enforce ``AskPolicy/onMiss``.
    public var asksOnMiss: Bool { Self.withApprovalHook.contains(self) }
}

/// What a person (or the agent itself, for a wake's follow-up) sends to a task's inbox.
public enum InputKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A follow-up message: to a running agent, or the prompt a waiting task resumes with.
    case message
    /// The answer to the question the agent asked.
    case answer
    /// Approves what the task waits for (optionally with a comment).
    case approve
    /// Rejects what the task waits for (optionally with a reason the agent sees).
    case reject

    /// Whether the kind decides an approval the task waits for.
    public var isDecision: Bool { self == .approve || self == .reject }
}

/// Where an input is on its way to the agent.
public enum InputDelivery: String, Sendable, Hashable, Codable, CaseIterable {
    /// Stored, not yet handed to the agent.
    case pending
    /// Written to the running agent (its stdin) while it ran.
    case deliveredLive = "delivered_live"
    /// Handed to the agent as the prompt of the run that resumed its session.
    case deliveredResume = "delivered_resume"
    /// Never delivered: the task ended first.
    case superseded
}

/// One item of a task's inbox, as stored.
public struct TaskInput: Sendable, Hashable, Codable {
    /// UUIDv7 id.
    public var id: String
    /// The task.
    public var taskID: TaskID
    /// The task's workspace.
    public var workspaceID: String
    /// Its place in the task's inbox: 1 for the first input, 2 for the next …
    public var seq: Int
    /// What it is.
    public var kind: InputKind
    /// The message, answer, comment or reason, if any.
    public var text: String?
    /// Per-item decisions (e.g. one per tool call or option), as sent.
    public var decisions: JSONValue?
    /// Who sent it (the token's name, `agent` for a wake's follow-up).
    public var sender: String
    /// The `Idempotency-Key` it was sent with, if any.
    public var idempotencyKey: String?
    /// When it was accepted.
    public var createdAt: Date
    /// Its delivery state.
    public var delivery: InputDelivery
    /// When it was handed over, if it was.
    public var deliveredAt: Date?
    /// The run it was handed to, if it was.
    public var runID: String?

    /// Creates an input value (stores build these from rows).
    public init(
        id: String, taskID: TaskID, workspaceID: String, seq: Int, kind: InputKind, text: String?, decisions: JSONValue?,
        sender: String, idempotencyKey: String?, createdAt: Date, delivery: InputDelivery, deliveredAt: Date?, runID: String?
    ) {
        self.id = id
        self.taskID = taskID
        self.workspaceID = workspaceID
        self.seq = seq
        self.kind = kind
        self.text = text
        self.decisions = decisions
        self.sender = sender
        self.idempotencyKey = idempotencyKey
        self.createdAt = createdAt
        self.delivery = delivery
        self.deliveredAt = deliveredAt
        self.runID = runID
    }

    /// The input as the agent reads it: a line for the prompt of the run that delivers it.
    public var promptText: String {
        let body = text.map { $0.isEmpty ? "" : ": \($0)" } ?? ""
        switch kind {
        case .message: return text ?? ""
        case .answer: return "Answer\(body)"
        case .approve: return "Approved\(body)"
        case .reject: return "Rejected\(body)"
        }
    }

    /// The prompt a run continues with when it delivers `inputs` (in order): each on its own
    /// paragraph; a lone message is its own text.
    public static func prompt(delivering inputs: [TaskInput]) -> String {
        inputs.map(\.promptText).joined(separator: "\n\n")
    }
}

/// An input to add to a task's inbox.
public struct NewInput: Sendable, Hashable {
    /// What it is.
    public var kind: InputKind
    /// The message, answer, comment or reason.
    public var text: String?
    /// Per-item decisions, if any (a JSON object or array).
    public var decisions: JSONValue?
    /// Who sends it.
    public var sender: String
    /// A key that makes a repeated send return the first input.
    public var idempotencyKey: String?
    /// Whether the input must wake its task (a person's `wake` with a prompt): refused unless the
    /// task is waiting, and it wakes a task waiting for an approval too.
    public var forcesWake: Bool = false

    /// The longest text accepted, in bytes.
    public static let maxTextBytes = 256 << 10

    /// Creates an input.
    public init(
        kind: InputKind, text: String? = nil, decisions: JSONValue? = nil, sender: String, idempotencyKey: String? = nil,
        forcesWake: Bool = false
    ) {
        self.forcesWake = forcesWake
        self.kind = kind
        self.text = text
        self.decisions = decisions
        self.sender = sender
        self.idempotencyKey = idempotencyKey
    }

    /// Checks what a store relies on; the error names the field: a message or an answer has a
    /// non-empty `text`; text within ``maxTextBytes``; `decisions` an object or an array.
    public func validate() throws(NightshiftError) {
        if kind == .message || kind == .answer {
            guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw .invalid("text", "expected a non-empty text for a \(kind.rawValue)")
            }
        }
        if let text, text.utf8.count > Self.maxTextBytes {
            throw .invalid("text", "expected at most \(Self.maxTextBytes) bytes, got \(text.utf8.count)")
        }
        switch decisions {
        case nil, .object?, .array?: break
        default: throw .invalid("decisions", "expected a JSON object or array")
        }
        if let key = idempotencyKey, key.isEmpty || key.utf8.count > 255 {
            throw .invalid("idempotency_key", "expected 1 to 255 bytes")
        }
    }
}

/// What a waiting task waits for: shown on the task, decided when its run settled.
public struct WaitingFor: Sendable, Hashable, Codable {
    /// The kinds of wait.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// An answer to the agent's question.
        case input
        /// A person's approve or reject.
        case approval
        /// A time (the agent asked to be woken).
        case wake
        /// Its subtasks: it wakes when every one has ended, with a summary of them.
        case children
    }

    /// The kind of wait.
    public var kind: Kind
    /// The agent's question, or what the approval is for.
    public var question: String?
    /// The answers offered, if the agent gave a choice.
    public var options: [String]?
    /// For an approval of a tool call: the tool's name.
    public var tool: String?
    /// For an approval of a tool call: its input.
    public var toolInput: JSONValue?
    /// When the task wakes by itself, if it does.
    public var wakeAt: Date?
    /// The run that asked.
    public var runID: String?
    /// For a tool call the agent CLI deferred (an approval, or its own question tool): the call's
    /// id, which the answer or decision is for when the session resumes.
    public var toolUseID: String?

    /// Creates a wait.
    public init(
        kind: Kind, question: String? = nil, options: [String]? = nil, tool: String? = nil, toolInput: JSONValue? = nil,
        wakeAt: Date? = nil, runID: String? = nil, toolUseID: String? = nil
    ) {
        self.toolUseID = toolUseID
        self.kind = kind
        self.question = question
        self.options = options
        self.tool = tool
        self.toolInput = toolInput
        self.wakeAt = wakeAt
        self.runID = runID
    }

    /// The wait as a JSON object (`kind`, and whichever of `question`, `options`, `tool`,
    /// `tool_input`, `tool_use_id`, `wake_at`, `run_id` it has): how stores keep it and the API shows it.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["kind": .string(kind.rawValue)]
        if let question { object["question"] = .string(question) }
        if let options { object["options"] = .array(options.map(JSONValue.string)) }
        if let tool { object["tool"] = .string(tool) }
        if let toolInput { object["tool_input"] = toolInput }
        if let wakeAt { object["wake_at"] = JSONTime.json(wakeAt) }
        if let runID { object["run_id"] = .string(runID) }
        if let toolUseID { object["tool_use_id"] = .string(toolUseID) }
        return .object(object)
    }

    /// Reads a wait stored as the text of ``json`` (how both stores keep a task's `waiting_for`);
    /// `nil` for none.
    public static func decode(_ text: String?) throws -> WaitingFor? {
        guard let text else { return nil }
        return try WaitingFor(json: JSONValue(jsonText: text))
    }

    /// Reads a wait written by ``json``.
    public init(json: JSONValue) throws(NightshiftError) {
        guard let kindText = json["kind"]?.stringValue, let kind = Kind(rawValue: kindText) else {
            throw .invalid("waiting_for.kind", "expected input, approval, wake or children")
        }
        self.kind = kind
        question = json["question"]?.stringValue
        if case .array(let items)? = json["options"] { options = items.compactMap(\.stringValue) } else { options = nil }
        tool = json["tool"]?.stringValue
        toolInput = json["tool_input"]
        wakeAt = try json["wake_at"].map { value throws(NightshiftError) in try JSONTime.date(value, field: "waiting_for.wake_at") }
        runID = json["run_id"]?.stringValue
        toolUseID = json["tool_use_id"]?.stringValue
    }

    /// One line for listings: the question's first line, the tool awaiting approval, or the wake time.
    public var summary: String {
        switch kind {
        case .input: return "question: " + (question?.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? "")
        case .approval:
            let what = tool.map { "tool \($0)" } ?? question?.split(separator: "\n").first.map(String.init) ?? "approval"
            return "approval: \(what)"
        case .wake: return "wake at " + (wakeAt.map(JSONTime.text) ?? "?")
        case .children: return "subtasks to end"
        }
    }
}

/// What adding an input did.
public struct InputReceipt: Sendable, Hashable {
    /// The input as stored (the first one, for a repeated idempotency key).
    public var input: TaskInput
    /// Whether it was stored now (`false`: a repeat of an earlier send with the same key).
    public var created: Bool
    /// The task afterwards (woken when the input woke it).
    public var task: AgentTask

    /// Creates a receipt.
    public init(input: TaskInput, created: Bool, task: AgentTask) {
        self.input = input
        self.created = created
        self.task = task
    }
}

extension TaskInput {
    /// The data of its `task.input` hook event: the input's id, place, kind and sender.
    public var hookData: JSONValue {
        ["input_id": .string(id), "seq": .int(Int64(seq)), "kind": .string(kind.rawValue), "sender": .string(sender)]
    }

    /// The data of the task's `input` event: the input's id, place, kind, sender and text.
    public var eventData: JSONValue {
        var data: [String: JSONValue] = [
            "input_id": .string(id), "seq": .int(Int64(seq)), "kind": .string(kind.rawValue), "sender": .string(sender),
        ]
        if let text { data["text"] = .string(text) }
        return .object(data)
    }
}
