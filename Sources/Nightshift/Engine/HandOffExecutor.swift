/// A task executor that hands each job to a function that runs it on a thread of its choosing:
/// an event loop's `execute`, typically. The core needs no event loop library for it; the
/// PostgreSQL store runs a query's continuations on its connection's loop with it, and the
/// daemon's webhook sender runs delivery on its own low-priority loop.
public final class HandOffExecutor: TaskExecutor {
    private let handOff: @Sendable (@escaping @Sendable () -> Void) -> Void

    /// An executor that runs each job through `handOff` (which must run the closure it is given
    /// exactly once).
    public init(_ handOff: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void) {
        self.handOff = handOff
    }

    /// Hands `job` off to run on the function's thread.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        handOff { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
