/// The single authority on task state: a pure transition table, no I/O.
///
/// Stores call ``next(from:on:task:budget:)`` inside the transaction that writes the new state,
/// so no other code decides what `tasks.state` becomes.
///
/// | from \ action | submit | dispatch | settle | cancel | pause | resume | retry | drop | wake | hold |
/// |---|---|---|---|---|---|---|---|---|---|---|
/// | (new)     | queued | – | – | – | – | – | – | – | – | – |
/// | queued    | – | running | – | cancelled | paused | – | – | dropped | – | waiting |
/// | running   | – | – | see below | cancelled | running¹ | running² | – | – | – | – |
/// | waiting   | – | – | – | cancelled | – | – | – | dropped | queued | – |
/// | paused    | – | – | – | cancelled | – | queued | – | dropped | – | – |
/// | done      | – | – | – | – | – | – | – | – | – | – |
/// | error     | – | – | – | – | – | – | queued | – | – | – |
/// | cancelled | – | – | – | – | – | – | queued | – | – | – |
/// | dropped   | – | – | – | – | – | – | queued | – | – | – |
///
/// ¹ A pause of a running task is a request: the task keeps running, and its run stops at the next
/// point it can (a workflow between steps); a settle that would queue it again pauses it instead.
/// ² Resume withdraws a pause request not yet acted on (refused without one).
///
/// `settle` from running: succeeded → done; paused (a workflow stopped between steps at a pause
/// request) → paused; waiting → waiting; continued (inputs reached the
/// task's inbox while it ran: they are delivered by resuming its session at once) → queued; released (the node lost or gave up
/// the run: not the agent's failure) → queued while the interruptions stay under
/// ``RetryBudget/interruptionLimit``, else error; parked (a provider's usage limit: the task
/// waits in the queue for its quota group's park to end, no attempt charged) → queued; failed → queued while the retry budget allows
/// another attempt and the failure is retryable, else error.
public enum Lifecycle {
    /// The state `action` leads to from `state` (`nil` for a task that does not exist yet).
    ///
    /// - Parameters:
    ///   - budget: failures so far, counting the one being settled, and the attempts allowed.
    ///   - pauseRequested: whether a person asked the running task to pause.
    /// - Throws: ``IllegalTransition`` naming the task, its state and the action.
    public static func next(
        from state: TaskState?,
        on action: LifecycleAction,
        task: TaskID,
        budget: RetryBudget = RetryBudget(),
        pauseRequested: Bool = false
    ) throws(IllegalTransition) -> TaskState {
        guard let state else {
            if action == .submit { return .queued }
            throw IllegalTransition(task: task, state: nil, action: action)
        }
        switch (state, action) {
        case (.queued, .dispatch): return .running
        case (.queued, .pause): return .paused
        case (.running, .pause): return .running
        case (.running, .resume) where pauseRequested: return .running
        case (.paused, .resume): return .queued
        case (.waiting, .wake): return .queued
        case (.queued, .hold): return .waiting
        case (.queued, .cancel), (.running, .cancel), (.waiting, .cancel), (.paused, .cancel): return .cancelled
        case (.queued, .drop), (.waiting, .drop), (.paused, .drop): return .dropped
        case (.error, .retry), (.cancelled, .retry), (.dropped, .retry): return .queued
        case (.running, .settle(let resolution)):
            let next: TaskState = switch resolution {
            case .succeeded: .done
            case .waiting: .waiting
            case .paused: .paused
            case .continued, .parked: .queued
            case .released: budget.allowsAnotherInterruption ? .queued : .error
            case .failed(let retryable): retryable && budget.allowsRetry ? .queued : .error
            }
            return next == .queued && pauseRequested ? .paused : next
        default:
            throw IllegalTransition(task: task, state: state, action: action)
        }
    }
}

/// The facts about past attempts that decide whether a failed run is retried.
public struct RetryBudget: Sendable, Hashable {
    /// Failed attempts since submit or the last manual retry, counting the one being settled.
    public var failures: Int
    /// Attempts allowed in all.
    public var maxAttempts: Int
    /// Runs lost to the node since submit or the last manual retry, counting the one being settled.
    public var interruptions: Int

    /// How many runs a task may lose to its node (crashes, restarts, a store that went away)
    /// before it ends in error: generous, since none is the agent's fault, but finite, so a node
    /// that crashes on a task cannot loop on it forever.
    public static let interruptionLimit = 10

    /// A budget; the default allows one attempt and has used none.
    public init(failures: Int = 0, maxAttempts: Int = 1, interruptions: Int = 0) {
        self.failures = failures
        self.maxAttempts = maxAttempts
        self.interruptions = interruptions
    }

    /// Whether another attempt may follow.
    public var allowsRetry: Bool { failures < maxAttempts }

    /// Whether the task may be queued again after a run lost to the node.
    public var allowsAnotherInterruption: Bool { interruptions < Self.interruptionLimit }
}

/// An action that the task's state does not allow.
public struct IllegalTransition: Error, Sendable, Hashable, CustomStringConvertible {
    /// The task.
    public var task: TaskID
    /// Its state when the action was attempted (`nil`: the task did not exist).
    public var state: TaskState?
    /// The action.
    public var action: LifecycleAction

    /// Creates the error.
    public init(task: TaskID, state: TaskState?, action: LifecycleAction) {
        self.task = task
        self.state = state
        self.action = action
    }

    /// E.g. `cannot pause task 0190…: it is done`.
    public var description: String {
        "cannot \(action.name) task \(task): it is \(state?.rawValue ?? "not submitted")"
    }
}

extension NightshiftError {
    /// The error a store reports for an illegal action: code `illegal_transition`, field `state`.
    public init(_ illegal: IllegalTransition) {
        self.init(.illegalTransition, illegal.description, field: "state")
    }
}
