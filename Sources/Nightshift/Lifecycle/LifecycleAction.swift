/// Something that can happen to a task. ``Lifecycle`` says which state it leads to, if any.
public enum LifecycleAction: Sendable, Hashable, CustomStringConvertible {
    /// A new task enters the queue.
    case submit
    /// A worker claims the task and starts a run.
    case dispatch
    /// A run ended; its resolution decides what follows.
    case settle(RunResolution)
    /// A person stops the task (and its running agent).
    case cancel
    /// A person holds a queued task back (a running one: asks it to pause where it can).
    case pause
    /// A person lets a paused task be claimed again (a running one: withdraws a pause request).
    case resume
    /// A person tries a failed, cancelled or dropped task again.
    case retry
    /// The task is removed from the queue without running.
    case drop
    /// A waiting task's wake time, input or children arrived.
    case wake
    /// A task just queued waits for a person's approval before its first run (its ask policy).
    case hold

    /// Every action, with each resolution of `settle`: the columns of the transition table.
    public static let all: [LifecycleAction] = [
        .submit, .dispatch,
        .settle(.succeeded), .settle(.failed(retryable: true)), .settle(.failed(retryable: false)),
        .settle(.waiting), .settle(.paused), .settle(.continued), .settle(.released), .settle(.parked),
        .cancel, .pause, .resume, .retry, .drop, .wake, .hold,
    ]

    /// The action's name as used in errors and events (`settle`, `cancel`, …).
    public var name: String {
        switch self {
        case .submit: "submit"
        case .dispatch: "dispatch"
        case .settle: "settle"
        case .cancel: "cancel"
        case .pause: "pause"
        case .resume: "resume"
        case .retry: "retry"
        case .drop: "drop"
        case .wake: "wake"
        case .hold: "hold"
        }
    }

    /// The name, with the resolution for `settle`.
    public var description: String {
        if case .settle(let resolution) = self { return "settle(\(resolution))" }
        return name
    }
}

/// How a run ended, as far as the lifecycle cares.
public enum RunResolution: Sendable, Hashable, CustomStringConvertible {
    /// The agent finished its work.
    case succeeded
    /// The run failed; `retryable` says whether another attempt may help.
    case failed(retryable: Bool)
    /// The agent asked to wait (for input, an approval or a wake time).
    case waiting
    /// A workflow stopped between steps at a person's pause request: the task is paused until
    /// resumed, when its next run replays the steps done and goes on.
    case paused
    /// The run ended (done, or asking to wait) while inputs it has not seen were in the task's
    /// inbox: the task runs again at once, resuming the session with them.
    case continued
    /// The node lost or gave back the run (graceful shutdown, a dead or restarted worker, a store
    /// that went away before the agent started): not the agent's failure, so no attempt is
    /// charged; it counts as an interruption instead.
    case released
    /// A provider's usage limit stopped the run: the task waits in the queue until its quota group's
    /// park ends, then resumes the session. Not the agent's failure, so no attempt is charged.
    case parked

    /// A short name: `succeeded`, `failed`, `failed_final`, `waiting`, `paused`, `continued`, `released`, `parked`.
    public var description: String {
        switch self {
        case .succeeded: "succeeded"
        case .failed(let retryable): retryable ? "failed" : "failed_final"
        case .waiting: "waiting"
        case .paused: "paused"
        case .continued: "continued"
        case .released: "released"
        case .parked: "parked"
        }
    }
}
