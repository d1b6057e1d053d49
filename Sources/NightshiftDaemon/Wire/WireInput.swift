import Foundation
import Nightshift

/// An input of a task's inbox as the API answers it (`POST` and `GET /v1/tasks/{id}/inputs`).
public struct WireInput: WireValue, Hashable {
    /// The input's id (a UUIDv7).
    public var id: String
    /// The task it was sent to.
    public var taskID: String
    /// Its place in the task's inbox, from 1.
    public var seq: Int
    /// `message`, `answer`, `approve` or `reject`.
    public var kind: String
    /// The message, answer, comment or reason, if any.
    public var text: String?
    /// Per-item decisions (a JSON object or array), as sent.
    public var decisions: JSONValue?
    /// Who sent it: `token:<token id>`, or `agent` for a wake's follow-up.
    public var sender: String
    /// The `Idempotency-Key` it was sent with, if any.
    public var idempotencyKey: String?
    /// When it was accepted.
    public var createdAt: Date
    /// `pending`, `delivered_live`, `delivered_resume` or `superseded`.
    public var delivery: String
    /// When it was handed to the agent, if it was.
    public var deliveredAt: Date?
    /// The run it was handed to, if it was.
    public var runID: String?

    enum CodingKeys: String, CodingKey {
        case id, seq, kind, text, decisions, sender, delivery
        case taskID = "task_id", idempotencyKey = "idempotency_key", createdAt = "created_at", deliveredAt = "delivered_at"
        case runID = "run_id"
    }
}

extension WireInput {
    /// The wire form of `input`.
    public init(_ input: TaskInput) {
        self.init(
            id: input.id, taskID: input.taskID.rawValue, seq: input.seq, kind: input.kind.rawValue, text: input.text,
            decisions: input.decisions, sender: input.sender, idempotencyKey: input.idempotencyKey, createdAt: input.createdAt,
            delivery: input.delivery.rawValue, deliveredAt: input.deliveredAt, runID: input.runID)
    }
}

/// The answer of `GET /v1/tasks/{id}/inputs`.
public struct WireInputList: WireValue, Hashable {
    /// The task's inputs in the order they arrived.
    public var inputs: [WireInput]

    /// A list of `inputs`.
    public init(inputs: [WireInput]) {
        self.inputs = inputs
    }
}

/// What a waiting task waits for, as the API answers it (a task's `waiting_for`).
public struct WireWaitingFor: WireValue, Hashable {
    /// `input` (an answer), `approval` (an approve or reject), `wake` (a time) or `children` (its
    /// subtasks to end).
    public var kind: String
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
    /// For a tool call the agent CLI deferred: its id, which the next decision or answer decides.
    public var toolUseID: String?

    enum CodingKeys: String, CodingKey {
        case kind, question, options, tool
        case toolInput = "tool_input", wakeAt = "wake_at", runID = "run_id", toolUseID = "tool_use_id"
    }
}

extension WireWaitingFor {
    /// The wire form of `wait`.
    public init(_ wait: WaitingFor) {
        self.init(
            kind: wait.kind.rawValue, question: wait.question, options: wait.options, tool: wait.tool, toolInput: wait.toolInput,
            wakeAt: wait.wakeAt, runID: wait.runID, toolUseID: wait.toolUseID)
    }

    /// The core's form, or `nil` for a kind this build does not know.
    public var waitingFor: WaitingFor? {
        WaitingFor.Kind(rawValue: kind).map {
            WaitingFor(
                kind: $0, question: question, options: options, tool: tool, toolInput: toolInput, wakeAt: wakeAt, runID: runID,
                toolUseID: toolUseID)
        }
    }

    /// One line for listings (``WaitingFor/summary``): the question's first line, the tool awaiting
    /// approval, or the wake time.
    public var summary: String {
        waitingFor?.summary ?? kind
    }
}
