import Synchronization

/// Why the engine stops a run before the agent finished.
enum StopReason: Sendable, Hashable {
    /// The run exceeded its timeout.
    case timeout(Double)
    /// The run reported no event for this many seconds (the agent's stall timeout).
    case stalled(Double)
    /// A person cancelled the task (the store already ended the run).
    case cancelled
    /// The store says the lease is no longer ours.
    case leaseLost
    /// The engine is shutting down and the grace period is over.
    case shutdown
}

/// A one-shot signal that stops a run's agent. The first of a stop and the end of the run wins:
/// a stop after ``finish()`` changes nothing, and a stop before it is what ``finish()`` returns.
final class StopSignal: Sendable {
    private struct State {
        var reason: StopReason?
        var finished = false
        var handler: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    private let pause = Atomic(false)

    /// Whether a person asked the run's task to pause (``RunContext/pauseRequested``).
    var pauseRequested: Bool { pause.load(ordering: .acquiring) }

    /// Records that a pause was asked for (`true`) or withdrawn.
    func requestPause(_ requested: Bool) {
        pause.store(requested, ordering: .releasing)
    }

    /// Asks the run to stop; calls the handler of ``onStop(_:)`` the first time.
    func stop(_ reason: StopReason) {
        let handler = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.reason == nil, !state.finished else { return nil }
            state.reason = reason
            return state.handler
        }
        handler?()
    }

    /// Sets what a stop does (cancel the runner); runs it at once if the stop came first.
    func onStop(_ handler: @escaping @Sendable () -> Void) {
        let stoppedAlready = state.withLock { state in
            state.handler = handler
            return state.reason != nil
        }
        if stoppedAlready { handler() }
    }

    /// Marks the run as ended; returns the reason it was stopped for, if a stop came first.
    func finish() -> StopReason? {
        state.withLock { state in
            state.finished = true
            state.handler = nil
            return state.reason
        }
    }
}
