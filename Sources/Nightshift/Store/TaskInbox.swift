import Foundation

/// A task's inbox: inputs people send (messages, answers, approvals), kept in order with their
/// delivery state. A task not in `workspace` is not found (`nil`: any workspace, the engine's view).
public protocol TaskInbox: Sendable {
    /// Adds `input` to the task's inbox, in one transaction with its `input` event: a waiting task
    /// it answers is woken (queued, through the lifecycle). A repeated idempotency key answers the
    /// first input unchanged. Throws `task_not_found`, `illegal_transition` for a finished task
    /// or an approval the task does not wait for, `invalid_input` naming the field.
    func addInput(_ input: NewInput, to task: TaskID, now: Date, workspace: String?) async throws -> InputReceipt
    /// The task's inputs in the order they arrived (an undelivered one of a finished task shows
    /// as `superseded`).
    func inputs(of task: TaskID, workspace: String?) async throws -> [TaskInput]
    /// Hands the task's pending inputs to the run holding `lease`: marks them delivered (`how`)
    /// and appends their `input_delivered` event, in one transaction fenced by the lease. Answers
    /// them in order; `nil` when the lease is no longer current (nothing is marked).
    func deliverInputs(_ lease: Lease, how: InputDelivery, now: Date) async throws -> [TaskInput]?
}

/// What adding an input does to its task, decided from the task's facts alone: both stores
/// compile it in the transaction that read the facts and writes the input.
package struct InputPlan: Sendable, Equatable {
    /// Whether the input wakes the task (waiting → queued, the lifecycle's `wake`).
    package var wakes: Bool
    /// Set when the input drops the task instead, with the reason the task keeps as its error: a
    /// `reject` of a task that waits for approval before its first run (no agent ran that could
    /// hear the reason).
    package var dropReason: String?
    /// The input's decisions as stored. The input that wakes a task waiting on a tool call its
    /// agent CLI deferred decides that call: its decisions carry the call's `tool_use_id` and `tool` (an
    /// object; decisions sent as an array go under `items`), which the resumed run answers the
    /// CLI's hook with (see ``ToolApprovals``).
    package var decisions: JSONValue?

    /// Plans `input` for the task `facts` describe. Throws `illegal_transition` (field `state`)
    /// for a task that has finished, or for an approve or reject the task does not wait for
    /// (saying what it waits for).
    package init(_ input: NewInput, on facts: TaskFacts) throws(NightshiftError) {
        if facts.state.isTerminal {
            throw NightshiftError(.illegalTransition, "task \(facts.id) is \(facts.state.rawValue): it takes no more input", field: "state")
        }
        if input.forcesWake, facts.state != .waiting {
            throw NightshiftError(.illegalTransition, "cannot wake task \(facts.id): it is \(facts.state.rawValue)", field: "state")
        }
        let awaitsApproval = facts.state == .waiting && facts.waitingFor?.kind == .approval
        if input.kind.isDecision, !awaitsApproval {
            let what: String
            switch (facts.state, facts.waitingFor?.kind) {
            case (.waiting, let kind?):
                let waits = switch kind {
                case .wake: "its wake time"
                case .children: "its subtasks"
                default: "an answer"
                }
                what = "it waits for \(waits), not an approval"
            case (.waiting, nil): what = "it is waiting, not for an approval"
            default: what = "it is \(facts.state.rawValue), not waiting for an approval"
            }
            throw NightshiftError(.illegalTransition, "cannot \(input.kind.rawValue) task \(facts.id): \(what)", field: "kind")
        }
        // A task waiting for a decision wakes only for one; a message to it waits beside it.
        wakes = facts.state == .waiting && (!awaitsApproval || input.kind.isDecision || input.forcesWake)
        if awaitsApproval, input.kind == .reject, facts.attempt == 0 {
            wakes = false
            dropReason = "rejected by \(input.sender)" + (input.text.map { ": \($0)" } ?? "")
        }
        decisions = input.decisions
        if wakes, let call = facts.waitingFor?.toolUseID {
            var object: [String: JSONValue]
            switch input.decisions {
            case .object(let sent)?: object = sent
            case let sent?: object = ["items": sent]
            case nil: object = [:]
            }
            object[ToolApprovals.callKey] = .string(call)
            if let tool = facts.waitingFor?.tool { object[ToolApprovals.toolKey] = .string(tool) }
            decisions = .object(object)
        }
    }

    /// `input` with the decisions it is stored with (``decisions``).
    package func stamped(_ input: NewInput) -> NewInput {
        var stamped = input
        stamped.decisions = decisions
        return stamped
    }
}
