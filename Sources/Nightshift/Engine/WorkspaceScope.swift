import Foundation

/// One workspace's view of an engine and its store (``Engine/workspace(_:)``): every read and
/// write passes the workspace to the store, so a caller cannot forget it. A task, run, event,
/// agent, checkpoint or memory of another workspace is simply not found.
///
/// The API serves each request through the scope of its token's workspace. The engine itself
/// (claims, settles, rescues, wake-ups) works across workspaces.
public struct WorkspaceScope: Sendable {
    /// The workspace.
    public let workspace: String
    let engine: Engine

    init(engine: Engine, workspace: String) {
        self.engine = engine
        self.workspace = workspace
    }

    private var store: any TaskStore { engine.store }

    // MARK: Tasks

    /// Queues a task in this workspace (whatever `new` says) and wakes the dispatcher.
    public func submit(_ new: NewTask) async throws -> SubmitResult {
        var new = new
        new.workspaceID = workspace
        return try await engine.submit(new)
    }

    /// The task with this id, if it is this workspace's.
    public func task(_ id: TaskID) async throws -> AgentTask? {
        try await store.task(id, workspace: workspace)
    }

    /// A page of this workspace's tasks that match `query`.
    public func listTasks(_ query: TaskQuery) async throws -> TaskPage {
        var query = query
        query.workspace = workspace
        return try await store.listTasks(query)
    }

    /// A task's runs, oldest first.
    public func runs(task: TaskID) async throws -> [Run] {
        try await store.runs(task: task, workspace: workspace)
    }

    /// A workflow task's recorded steps, by position.
    public func steps(task: TaskID) async throws -> TaskSteps {
        try await store.steps(task: task, workspace: workspace)
    }

    /// A task's events after `seq`, at most `limit`.
    public func events(task: TaskID, after seq: Int64, limit: Int) async throws -> [TaskEvent] {
        try await store.events(task: task, after: seq, limit: limit, workspace: workspace)
    }

    /// A task's events of `type`, newest first, at most `limit`.
    public func events(task: TaskID, type: String, limit: Int) async throws -> [TaskEvent] {
        try await store.events(task: task, type: type, limit: limit, workspace: workspace)
    }

    /// Applies a person's action to a task of this workspace (a `reason` for a cancel or drop
    /// becomes the task's `error`).
    public func transition(_ id: TaskID, _ action: LifecycleAction, reason: String? = nil) async throws -> AgentTask {
        try await engine.transition(id, action, workspace: workspace, reason: reason)
    }

    /// Adds an input to the inbox of a task of this workspace (see ``Engine/addInput(_:to:workspace:)``).
    public func addInput(_ input: NewInput, to id: TaskID) async throws -> InputReceipt {
        try await engine.addInput(input, to: id, workspace: workspace)
    }

    /// This workspace's tasks that have waited longer than the engine's ``EngineConfiguration/blockedStaleAfter``
    /// (the `blocked_stale` signal), longest waiting first, at most `limit`.
    public func blockedStale(limit: Int = 100) async throws -> [AgentTask] {
        let cutoff = engine.clock.now.addingTimeInterval(-engine.configuration.blockedStaleAfter)
        return try await store.waiting(since: cutoff, workspace: workspace, limit: limit)
    }

    /// The inbox of a task of this workspace, in order.
    public func inputs(of id: TaskID) async throws -> [TaskInput] {
        try await store.inputs(of: id, workspace: workspace)
    }

    /// Archives a finished task of this workspace.
    public func archive(_ id: TaskID) async throws -> AgentTask {
        try await engine.archive(id, workspace: workspace)
    }

    /// Changes the priority of a task of this workspace.
    public func setPriority(_ id: TaskID, to priority: Int) async throws -> AgentTask {
        try await engine.setPriority(id, to: priority, workspace: workspace)
    }

    /// How many of this workspace's tasks are in each state.
    public func countsByState() async throws -> [TaskState: Int] {
        try await store.countsByState(workspace: workspace)
    }

    /// This workspace's figures per agent.
    public func agentStats() async throws -> [AgentStats] {
        try await store.agentStats(workspace: workspace)
    }

    /// The runs of this workspace's agent `agent` that finished in [`from`, `to`), per UTC day.
    public func agentRunStats(agent: String, from: Date, to: Date) async throws -> AgentRunStats {
        try await store.agentRunStats(agent: agent, workspace: workspace, from: from, to: to)
    }

    /// The latest runs of this workspace's tasks that moved most recently.
    public func recentRuns(limit: Int) async throws -> [Run] {
        try await store.recentRuns(limit: limit, workspace: workspace)
    }

    /// The runs of this workspace's tasks in progress on this node.
    public func activeRuns() -> [ActiveRun] {
        engine.activeRuns().filter { $0.workspaceID == workspace }
    }

    // MARK: Agents

    /// This workspace's agents, by name.
    public func agents() async throws -> [Agent] {
        try await store.agents(workspace: workspace)
    }

    /// This workspace's agent named `name`, if any.
    public func agent(named name: String) async throws -> Agent? {
        try await store.agent(named: name, workspace: workspace)
    }

    /// Creates or replaces an agent of this workspace (whatever `agent` says), checked against its runner.
    public func saveAgent(_ agent: Agent) async throws {
        var agent = agent
        agent.workspaceID = workspace
        try await engine.saveAgent(agent)
    }

    /// Removes an agent of this workspace; answers whether it existed.
    public func deleteAgent(named name: String) async throws -> Bool {
        try await engine.deleteAgent(named: name, workspace: workspace)
    }

    /// The pacing of this workspace's agents: rate tokens left, the next refill, their quota group's park.
    public func agentPacing() async throws -> [AgentPacing] {
        try await engine.agentPacing(workspace: workspace)
    }

    /// Ends the park of the quota group of this workspace's agent `name` at once; answers whether
    /// it was parked.
    @discardableResult
    public func unpark(agent name: String) async throws -> Bool {
        try await engine.unpark(agent: name, workspace: workspace)
    }

    // MARK: Lanes

    /// Sets (or with `nil` removes) the concurrency limit of a lane of this workspace; a bad lane
    /// name is refused naming `name`. Wakes the dispatcher: a limit raised or removed may let
    /// queued tasks start at once.
    public func setLaneLimit(_ lane: String, concurrency: Int?) async throws {
        try Lane.validate(name: lane, field: "name")
        try await store.setLaneLimit(lane, concurrency: concurrency, workspace: workspace)
        engine.doorbell.ring()
    }

    /// Removes the concurrency limit of a lane of this workspace; answers whether it had one.
    public func removeLaneLimit(_ lane: String) async throws -> Bool {
        try Lane.validate(name: lane, field: "name")
        guard try await lanes().contains(where: { $0.name == lane && $0.concurrency != nil }) else { return false }
        try await setLaneLimit(lane, concurrency: nil)
        return true
    }

    /// This workspace's lanes that have a limit or running tasks, by name.
    public func lanes() async throws -> [Lane] {
        try await store.lanes(workspace: workspace)
    }

    /// This workspace's lane `name` with its limit and running tasks (no limit and none running
    /// when it has neither).
    public func lane(named name: String) async throws -> Lane {
        try await lanes().first { $0.name == name } ?? Lane(name: name, concurrency: nil)
    }

    /// Whether each of this workspace's agents can be started on this node.
    public func availability(maxAge: Duration = .seconds(30)) async throws -> [AgentAvailability] {
        try await engine.availability(maxAge: maxAge, workspace: workspace)
    }

    // MARK: Checkpoints

    /// Saves a checkpoint of this workspace; answers it as stored, and whether it is new.
    public func saveCheckpoint(_ checkpoint: SessionCheckpoint) async throws -> (checkpoint: SessionCheckpoint, created: Bool) {
        try await engine.saveCheckpoint(checkpoint, workspace: workspace)
    }

    /// This workspace's checkpoint with this id, if any.
    public func checkpoint(id: String) async throws -> SessionCheckpoint? {
        try await store.checkpoint(id: id, workspace: workspace)
    }

    /// This workspace's checkpoints that match `query`.
    public func checkpoints(_ query: CheckpointQuery) async throws -> [SessionCheckpoint] {
        var query = query
        query.workspace = workspace
        return try await store.checkpoints(query)
    }

    /// Resolves a checkpoint of this workspace.
    public func resolveCheckpoint(id: String) async throws -> SessionCheckpoint {
        try await engine.resolveCheckpoint(id: id, workspace: workspace)
    }

    /// Archives this workspace's stale checkpoints; answers how many.
    public func cleanupCheckpoints(olderThanDays days: Int) async throws -> Int {
        try await engine.cleanupCheckpoints(olderThanDays: days, workspace: workspace)
    }

    /// This workspace's quarantined checkpoint files, most recent first.
    public func quarantinedCheckpoints(limit: Int) async throws -> [QuarantinedCheckpoint] {
        try await store.quarantinedCheckpoints(limit: limit, workspace: workspace)
    }

    // MARK: Memories

    /// Writes a memory of this workspace (see ``MemoryStore/setMemory(workspace:agent:key:summary:expectedVersion:now:)``).
    public func setMemory(agent: String, key: String, summary: String, expectedVersion: Int?) async throws -> Memory {
        try await engine.setMemory(workspace: workspace, agent: agent, key: key, summary: summary, expectedVersion: expectedVersion)
    }

    /// A memory of this workspace, if any.
    public func memory(agent: String, key: String) async throws -> Memory? {
        try await store.memory(workspace: workspace, agent: agent, key: key)
    }

    /// An agent's memories in this workspace whose key starts with `prefix`.
    public func memories(agent: String, prefix: String?) async throws -> [Memory] {
        try await store.memories(workspace: workspace, agent: agent, prefix: prefix)
    }

    /// Removes a memory of this workspace; answers whether it existed.
    public func deleteMemory(agent: String, key: String) async throws -> Bool {
        try await engine.deleteMemory(workspace: workspace, agent: agent, key: key)
    }

    // MARK: Tokens

    /// This workspace's tokens (digests only), oldest first.
    public func tokens() async throws -> [AccessToken] {
        try await store.tokens(workspace: workspace)
    }

    /// Stores a token of this workspace (whatever `token` says).
    public func saveToken(_ token: AccessToken) async throws {
        var token = token
        token.workspaceID = workspace
        try await store.saveToken(token)
    }

    /// Revokes a token of this workspace; `nil` when it has no such token.
    public func revokeToken(id: String, now: Date) async throws -> AccessToken? {
        try await store.revokeToken(id: id, workspace: workspace, now: now)
    }
}
