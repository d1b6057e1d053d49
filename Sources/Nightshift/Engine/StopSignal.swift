import Synchronization

/// Why the engine stops a run before the agent finished.
enum StopReason: Sendable, Hashable {
    /// The run exceeded its timeout.
    case timeout(Double)
    /// A person cancelled the task (the store already ended the run).
    case cancelled
    /// The store says the lease is no longer ours.
    case leaseLost
    /// The engine is shutting down and the grace period is over.
    case shutdown
}

/// A one-shot signal that tells a run's supervisor to stop the agent. The first reason wins.
final class StopSignal: Sendable {
    private struct State {
        var reason: StopReason?
        var waiter: CheckedContinuation<StopReason?, Never>?
    }

    private let state = Mutex(State())

    /// Asks the run to stop; later calls change nothing.
    func stop(_ reason: StopReason) {
        let waiter = state.withLock { state -> CheckedContinuation<StopReason?, Never>? in
            guard state.reason == nil else { return nil }
            state.reason = reason
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: reason)
    }

    /// The reason, once stopped; `nil` if the waiting task is cancelled first.
    func wait() async -> StopReason? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<StopReason?, Never>) in
                let now: StopReason?? = state.withLock { state in
                    if let reason = state.reason { return .some(reason) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return .none
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            state.withLock { state in defer { state.waiter = nil }; return state.waiter }?.resume(returning: nil)
        }
    }
}
