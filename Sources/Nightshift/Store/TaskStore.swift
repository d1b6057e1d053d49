import Foundation

/// Durable storage of tasks, runs and events. Every state change goes through ``Lifecycle`` inside
/// the store's transaction, together with its task event and hook event.
///
/// Implementations: `SQLiteTaskStore` (embedded default) and `PostgresTaskStore` (several nodes on
/// one database). One conformance suite tests them both.
public protocol TaskStore: Sendable {
    /// Creates or replaces an agent profile.
    func saveAgent(_ agent: Agent) async throws
    /// The agent named `name`, if any.
    func agent(named name: String) async throws -> Agent?
    /// Every agent, by name.
    func agents() async throws -> [Agent]
    /// Removes an agent; returns whether it existed. Its tasks stay.
    func deleteAgent(named name: String) async throws -> Bool
    /// Sets (or with `nil` removes) the concurrency limit of a lane.
    func setLaneLimit(_ lane: String, concurrency: Int?) async throws

    /// Queues a task, or returns the existing one for a repeated idempotency key or a live dedup key.
    /// Throws ``NightshiftError`` (`invalid_input`, `queue_full`) with nothing written.
    func submit(_ new: NewTask, now: Date) async throws -> SubmitResult
    /// Queues many tasks in one transaction (bulk load). All or nothing.
    func submitAll(_ tasks: [NewTask], now: Date) async throws -> [SubmitResult]
    /// The task with this id.
    func task(_ id: TaskID) async throws -> AgentTask?
    /// The state of each of these tasks and when it finished, in one read for many ids (the
    /// engine's sweep of leftover work directories); ids of tasks that do not exist are left out.
    func states(of ids: [TaskID]) async throws -> [TaskID: TaskStateRecord]
    /// Applies a person's action (cancel, pause, resume, retry, drop, wake) and returns the task.
    /// Cancelling a running task ends its run, so its worker's lease is lost.
    func transition(_ id: TaskID, _ action: LifecycleAction, now: Date) async throws -> AgentTask

    /// Claims up to `limit` available tasks for `worker`, in priority / available_at / id order,
    /// honouring per-agent and per-lane concurrency limits; each gets a run and a lease.
    func claim(worker: String, limit: Int, leaseDuration: Double, now: Date) async throws -> [ClaimedRun]
    /// Extends the leases still held; returns the ones that are lost.
    func heartbeat(_ leases: [Lease], extendTo: Date, now: Date) async throws -> [Lease]
    /// Records how a run ended and moves its task on — only if `lease` is still current (fenced);
    /// a repeat with the same lease changes nothing.
    func settle(_ lease: Lease, outcome: RunOutcome, now: Date) async throws -> SettleResult
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

    /// A task's events after `seq`, at most `limit`, in order.
    func events(task: TaskID, after seq: Int64, limit: Int) async throws -> [TaskEvent]
    /// Writes what a run produced while it runs (events, its agent's session id and process), in
    /// one transaction, fenced by the run's lease: answers `false`, having written nothing, when the
    /// lease is no longer current (the run was cancelled, rescued or settled elsewhere).
    func appendRunWrite(_ write: RunWrite) async throws -> Bool
    /// The global hook stream after `seq`, at most `limit`, in order.
    func hookEvents(after seq: Int64, limit: Int) async throws -> [HookEvent]
    /// A task's runs, oldest first.
    func runs(task: TaskID) async throws -> [Run]
    /// Writes a row of its own for `node` (the time of the probe): readiness checks that the
    /// store can still write (not locked, not full, not read-only), not only read.
    func probeWrite(node: String, now: Date) async throws
    /// How many tasks are in each state.
    func countsByState() async throws -> [TaskState: Int]

    /// A page of the tasks that match `query`, newest first.
    func listTasks(_ query: TaskQuery) async throws -> TaskPage
    /// Archives a finished task (default listings leave it out). Throws `illegal_transition` unless
    /// the task is done, error, cancelled or dropped.
    func archive(_ id: TaskID, now: Date) async throws -> AgentTask
    /// Changes the priority of a task that has not finished, and records a `priority` event.
    func setPriority(_ id: TaskID, to priority: Int, now: Date) async throws -> AgentTask
    /// Runs started, succeeded and failed since the store was created.
    func runTotals() async throws -> RunTotals
    /// Each agent's tasks, cost, tokens, turns and run time, summed over its tasks, by agent name.
    /// Read when asked (a pass over the tasks), so settles write nothing more for it.
    func agentStats() async throws -> [AgentStats]
    /// The latest run of each of the tasks that moved most recently, newest first.
    func recentRuns(limit: Int) async throws -> [Run]

    /// Calls `wake` whenever another process may have queued work (a submit, a retry, a released
    /// run on another node), until the calling task is cancelled. A store that one process owns
    /// has nothing to listen for and returns at once (the default); the engine's own submits ring
    /// it directly.
    func listenForWork(_ wake: @escaping @Sendable () -> Void) async throws
}

extension TaskStore {
    /// Nothing to listen for: returns at once.
    public func listenForWork(_ wake: @escaping @Sendable () -> Void) async throws {}
}
