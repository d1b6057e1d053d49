import Foundation

/// What a person's action (cancel, pause, resume, retry, drop, wake) does to a task, decided from
/// its facts alone: the next state (through ``Lifecycle``), the columns that change, whether the
/// queue's depth cap must be checked, and how the task's current run ends. Both stores compile it
/// to their own SQL, in the transaction that read the facts and writes the `state` event.
package struct ActionPlan: Sendable, Equatable {
    /// A column the action sets; the stores give each its SQL form.
    package enum Assignment: Sendable, Equatable {
        /// The column becomes the action's time.
        case now(String)
        /// The column becomes the later of its value and the action's time.
        case notBefore(String)
        /// The column becomes `NULL`.
        case null(String)
        /// The column becomes 0.
        case zero(String)
        /// The column becomes this text.
        case text(String, String)
    }

    /// How the task's run in progress ends (for a running task), as written on its row.
    package struct RunEnd: Sendable, Equatable {
        /// The run's outcome.
        package var outcome: String
        /// Who settled it: the action's name.
        package var settledBy: String

        package init(outcome: String, settledBy: String) {
            self.outcome = outcome
            self.settledBy = settledBy
        }
    }

    /// The actions a person may take.
    package static let personActions: [LifecycleAction] = [.cancel, .pause, .resume, .retry, .drop, .wake]

    /// Throws `invalid_input` (field `action`) unless `action` is a person's: a store checks it
    /// before it opens a transaction.
    package static func check(_ action: LifecycleAction) throws(NightshiftError) {
        guard personActions.contains(action) else {
            throw .invalid("action", "expected cancel, pause, resume, retry, drop or wake, got \(action.name)")
        }
    }

    /// The task's next state.
    package var next: TaskState
    /// The columns that change besides the state (and the bookkeeping every move writes).
    package var assignments: [Assignment]
    /// Whether the task re-enters the queue and so must fit under the depth cap.
    package var checksDepth: Bool
    /// How the current run ends, when the task was running.
    package var runEnd: RunEnd?
    /// Whether the task ends: its active checkpoints are resolved in the same transaction.
    package var resolvesCheckpoints: Bool { next.isTerminal }
    /// For a pause (`true`) or a resume (`false`) of a running task: the pause request it makes or
    /// withdraws. The task stays running and its run goes on (a workflow pauses between steps);
    /// the store writes the request and its event (``pauseRequestEvent(now:)``) instead of a move.
    package var pauseRequest: Bool?
    /// Whether a workflow's declared steps that have not run are recorded `skipped` (the task is
    /// cancelled or dropped).
    package var skipsDeclaredSteps: Bool { next == .cancelled || next == .dropped }
    /// Whether a workflow's failed and skipped steps are forgotten (a retry: they run again, while
    /// completed ones replay).
    package var clearsUnfinishedSteps: Bool

    /// The event a pause request (or its withdrawal) appends to the task's log; `nil` when the
    /// action is not one, or changes nothing (the request was made already, or there is none).
    package func pauseRequestEvent(task: TaskID, was requested: Bool, now: Date) -> NewTaskEvent? {
        guard let pauseRequest, pauseRequest != requested else { return nil }
        return NewTaskEvent(taskID: task, type: pauseRequest ? "pause_requested" : "pause_withdrawn", data: .object([:]), time: now)
    }

    /// Plans `action` on the task `facts` describe. Throws `invalid_input` (field `action`) for an
    /// action that is not a person's, `illegal_transition` for one the task's state does not take.
    /// A `reason` given to a cancel or drop becomes the task's `error`.
    package init(_ action: LifecycleAction, on facts: TaskFacts, reason: String? = nil) throws(NightshiftError) {
        try Self.check(action)
        next = try facts.next(on: action)
        clearsUnfinishedSteps = action == .retry
        if facts.state == .running, next == .running {
            pauseRequest = action == .pause
            (assignments, checksDepth, runEnd) = ([], false, nil)
            return
        }
        switch action {
        case .cancel, .drop:
            assignments = [
                .now("finished_at"), .null("lease_expires_at"), .null("lease_token"), .null("waiting_for"), .zero("pause_requested"),
            ]
        case .retry:
            assignments = [.now("available_at"), .zero("failures"), .zero("interruptions"), .null("finished_at")]
        case .wake:
            assignments = [.now("available_at"), .null("wake_at"), .null("waiting_for")]
        case .resume:
            // A paused task that was submitted with a delay keeps it.
            assignments = [.notBefore("available_at"), .null("wake_at"), .zero("pause_requested")]
        default:
            assignments = []
        }
        if let reason, action == .cancel || action == .drop { assignments.append(.text("error", reason)) }
        checksDepth = action == .retry
        runEnd = facts.state == .running
            ? RunEnd(outcome: action == .cancel ? "cancelled" : action.name, settledBy: action.name) : nil
    }
}
