import Foundation

/// Reads of tasks and runs, for people and dashboards: nothing here writes.
public protocol TaskQueries: Sendable {
    /// The task with this id.
    func task(_ id: TaskID) async throws -> AgentTask?
    /// The state of each of these tasks and when it finished, in one read for many ids (the
    /// engine's sweep of leftover work directories); ids of tasks that do not exist are left out.
    func states(of ids: [TaskID]) async throws -> [TaskID: TaskStateRecord]
    /// A task's runs, oldest first.
    func runs(task: TaskID) async throws -> [Run]
    /// A page of the tasks that match `query`, newest first.
    func listTasks(_ query: TaskQuery) async throws -> TaskPage
    /// How many tasks are in each state.
    func countsByState() async throws -> [TaskState: Int]
    /// Runs started, succeeded and failed since the store was created.
    func runTotals() async throws -> RunTotals
    /// Each agent's tasks, cost, tokens, turns and run time, summed over its tasks, by agent name.
    /// Read when asked (a pass over the tasks), so settles write nothing more for it.
    func agentStats() async throws -> [AgentStats]
    /// The latest run of each of the tasks that moved most recently, newest first.
    func recentRuns(limit: Int) async throws -> [Run]
}
