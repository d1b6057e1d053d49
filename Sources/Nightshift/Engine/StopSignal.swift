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
    private let reason = Mutex<StopReason?>(nil)
    private let doorbell = Doorbell()

    /// Asks the run to stop; later calls change nothing.
    func stop(_ reason: StopReason) {
        let first = self.reason.withLock { current in
            guard current == nil else { return false }
            current = reason
            return true
        }
        if first { doorbell.ring() }
    }

    /// The reason, once stopped; `nil` if the waiting task is cancelled first.
    func wait() async -> StopReason? {
        while !Task.isCancelled {
            if let reason = reason.withLock({ $0 }) { return reason }
            await doorbell.wait()
        }
        return nil
    }
}
