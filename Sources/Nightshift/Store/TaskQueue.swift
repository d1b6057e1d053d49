import Foundation

/// The run-time cycle of the queue: submit, claim, heartbeat, write while running, settle, rescue
/// and wake. Every state change goes through ``Lifecycle`` inside the store's transaction, together
/// with its task event and hook event; every write a run makes is fenced by its lease.
public protocol TaskQueue: Sendable {
    /// Queues a task, or returns the existing one for a repeated idempotency key or a live dedup key.
    /// Throws ``NightshiftError`` (`invalid_input`, `queue_full`) with nothing written.
    func submit(_ new: NewTask, now: Date) async throws -> SubmitResult
    /// Queues many tasks in one transaction (bulk load). All or nothing.
    func submitAll(_ tasks: [NewTask], now: Date) async throws -> [SubmitResult]
    /// Claims up to `limit` available tasks for `worker`, in priority / available_at / id order,
    /// honouring per-agent and per-lane concurrency limits and the agents' pacing (a rate limit's
    /// empty bucket, a parked quota group); each gets a run and a lease, and each task of an agent
    /// with a rate takes a token from its bucket in the claim's transaction. Also answers when an
    /// agent it passed over for its pacing may start a task again.
    func claimBatch(worker: String, limit: Int, leaseDuration: Double, now: Date) async throws -> ClaimBatch
    /// Extends the leases still held; returns the ones that are lost.
    func heartbeat(_ leases: [Lease], extendTo: Date, now: Date) async throws -> [Lease]
    /// Writes what a run produced while it runs (events, its agent's session id and process), in
    /// one transaction, fenced by the run's lease: answers `false`, having written nothing, when the
    /// lease is no longer current (the run was cancelled, rescued or settled elsewhere).
    func appendRunWrite(_ write: RunWrite) async throws -> Bool
    /// Records how a run ended and moves its task on — only if `lease` is still current (fenced);
    /// a repeat with the same lease changes nothing. In the same transaction: the checkpoints the
    /// run left are saved and its quarantined files recorded, and once the task has ended its
    /// active checkpoints are resolved (nothing resumes from them any more). A stale settle writes
    /// none of it.
    func settle(_ lease: Lease, outcome: RunOutcome, checkpoints: CheckpointCollection, now: Date) async throws -> SettleResult
    /// Ends runs whose lease expired (their worker died) as lost: an interruption, not a failure;
    /// their tasks are queued again (or end in error past ``RetryBudget/interruptionLimit``).
    /// Returns the runs rescued (at most 500 per call) with their recorded agent processes.
    func rescueExpiredLeases(now: Date) async throws -> [RescuedRun]
    /// Ends, at once, every run still held by `worker` — a restarted node reclaiming the runs of its
    /// previous incarnation — as lost. Returns the runs reclaimed (at most 500 per call).
    func reclaimRuns(ofWorker worker: String, now: Date) async throws -> [RescuedRun]
    /// Wakes waiting tasks whose wake time has come. Returns the tasks woken.
    func wakeDue(now: Date) async throws -> [TaskID]
    /// The earliest time a queued task becomes available after `now`, if any is delayed.
    func nextAvailableAt(after now: Date) async throws -> Date?
    /// Writes a row of its own for `node` (the time of the probe): readiness checks that the
    /// store can still write (not locked, not full, not read-only), not only read.
    func probeWrite(node: String, now: Date) async throws
    /// Calls `wake` whenever another process may have queued work (a submit, a retry, a released
    /// run on another node), until the calling task is cancelled. A store that one process owns
    /// has nothing to listen for and returns at once (the default); the engine's own submits ring
    /// it directly.
    func listenForWork(_ wake: @escaping @Sendable () -> Void) async throws
}

/// What one claim took, and when it should look again for the agents its pacing held back.
public struct ClaimBatch: Sendable {
    /// The tasks claimed, each with its new run.
    public var runs: [ClaimedRun]
    /// The earliest time an agent held back by its pacing (no token in its bucket, its quota group
    /// parked) may start a task again; `nil` if none was held back.
    public var nextOpening: Date?

    /// Creates a batch.
    public init(runs: [ClaimedRun], nextOpening: Date? = nil) {
        self.runs = runs
        self.nextOpening = nextOpening
    }
}

extension TaskQueue {
    /// Claims up to `limit` available tasks (see ``claimBatch(worker:limit:leaseDuration:now:)``).
    public func claim(worker: String, limit: Int, leaseDuration: Double, now: Date) async throws -> [ClaimedRun] {
        try await claimBatch(worker: worker, limit: limit, leaseDuration: leaseDuration, now: now).runs
    }

    /// Settles a run that left no checkpoints.
    public func settle(_ lease: Lease, outcome: RunOutcome, now: Date) async throws -> SettleResult {
        try await settle(lease, outcome: outcome, checkpoints: CheckpointCollection(), now: now)
    }

    /// Nothing to listen for: returns at once.
    public func listenForWork(_ wake: @escaping @Sendable () -> Void) async throws {}
}
