import Foundation

/// Reads of tasks and runs, for people and dashboards: nothing here writes.
///
/// Each read is scoped by a workspace: a task of another workspace is not found. `nil` reads every
/// workspace (the engine's own view); the API reads only through a ``WorkspaceScope``.
public protocol TaskQueries: Sendable {
    /// The task with this id, if it belongs to `workspace`.
    func task(_ id: TaskID, workspace: String?) async throws -> AgentTask?
    /// The state of each of these tasks and when it finished, in one read for many ids (the
    /// engine's sweep of leftover work directories); ids of tasks that do not exist are left out.
    func states(of ids: [TaskID]) async throws -> [TaskID: TaskStateRecord]
    /// A task's runs, oldest first (none when the task is not in `workspace`).
    func runs(task: TaskID, workspace: String?) async throws -> [Run]
    /// A workflow task's recorded steps, by position (none when the task is not in `workspace`).
    func steps(task: TaskID, workspace: String?) async throws -> TaskSteps
    /// A page of the tasks that match `query` (its ``TaskQuery/workspace`` included), newest first.
    func listTasks(_ query: TaskQuery) async throws -> TaskPage
    /// How many tasks of `workspace` are in each state.
    func countsByState(workspace: String?) async throws -> [TaskState: Int]
    /// Runs started, succeeded and failed since the store was created.
    func runTotals() async throws -> RunTotals
    /// Each agent's tasks, cost, tokens, turns and run time, summed over its tasks in `workspace`,
    /// by agent name. Read when asked (a pass over the tasks), so settles write nothing more for it.
    func agentStats(workspace: String?) async throws -> [AgentStats]
    /// The runs of `agent`'s tasks in `workspace` that finished in [`from`, `to`), summed per UTC
    /// day of their finish (days without runs left out): counts by outcome, tokens, cost, turns,
    /// durations and tool calls.
    func agentRunStats(agent: String, workspace: String, from: Date, to: Date) async throws -> AgentRunStats
    /// The latest run of each of the tasks of `workspace` that moved most recently, newest first.
    func recentRuns(limit: Int, workspace: String?) async throws -> [Run]
    /// The subtasks of a task (of `workspace`), oldest first; none for an unknown task.
    func children(of id: TaskID, workspace: String?) async throws -> [AgentTask]
    /// The tasks (of `workspace`) waiting since before `cutoff` (their last change), longest
    /// waiting first, at most `limit`: what the `blocked_stale` signal reports.
    func waiting(since cutoff: Date, workspace: String?, limit: Int) async throws -> [AgentTask]
    /// The queued tasks (of `workspace`; `nil`: every one) available since before `cutoff` (no
    /// node claimed them since), longest available first, at most `limit`.
    func stuckQueued(availableBefore cutoff: Date, workspace: String?, limit: Int) async throws -> [AgentTask]
    /// Every workspace's tasks counted by workspace, agent and state, with the seq of the last
    /// hook event they reflect: each move after it is a hook event with a greater seq (the hooks
    /// committed with the counted moves are all numbered at or below it). A ``TaskCensus`` starts
    /// from it, then follows the hook stream; the one full count of its life.
    func censusSnapshot() async throws -> CensusSnapshot
    /// The queued tasks by workspace, agent and lane: how many, and since when the oldest is
    /// available. Read from the queue's own index, so its cost follows the queue, not the tasks.
    func queueStats() async throws -> [QueueStat]
}

extension TaskQueries {
    /// The task with this id, in any workspace.
    public func task(_ id: TaskID) async throws -> AgentTask? { try await task(id, workspace: nil) }
    /// A task's runs, in any workspace.
    public func runs(task: TaskID) async throws -> [Run] { try await runs(task: task, workspace: nil) }
    /// A workflow task's steps, in any workspace.
    public func steps(task: TaskID) async throws -> TaskSteps { try await steps(task: task, workspace: nil) }
    /// How many tasks of every workspace are in each state.
    public func countsByState() async throws -> [TaskState: Int] { try await countsByState(workspace: nil) }
    /// Each agent's figures over every workspace.
    public func agentStats() async throws -> [AgentStats] { try await agentStats(workspace: nil) }
    /// The latest runs of every workspace.
    public func recentRuns(limit: Int) async throws -> [Run] { try await recentRuns(limit: limit, workspace: nil) }
}
