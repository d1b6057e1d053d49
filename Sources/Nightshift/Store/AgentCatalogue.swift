import Foundation

/// The agent profiles and lane limits that claims honour, each belonging to a workspace.
public protocol AgentCatalogue: Sendable {
    /// Creates or replaces an agent profile in its workspace (``Agent/workspaceID``).
    func saveAgent(_ agent: Agent) async throws
    /// The agent named `name` in `workspace`, if any.
    func agent(named name: String, workspace: String) async throws -> Agent?
    /// Every agent of `workspace` (of every workspace with `nil`), by workspace and name.
    func agents(workspace: String?) async throws -> [Agent]
    /// Removes an agent of `workspace`; returns whether it existed. Its tasks stay.
    func deleteAgent(named name: String, workspace: String) async throws -> Bool
    /// Sets (or with `nil` removes) the concurrency limit of a lane of `workspace`.
    func setLaneLimit(_ lane: String, concurrency: Int?, workspace: String) async throws
    /// The lanes of `workspace` that have a limit or running tasks, by name, each with its limit
    /// and how many of its tasks run.
    func lanes(workspace: String) async throws -> [Lane]
    /// The pacing of every agent of `workspace` (of every workspace with `nil`) at `now`: tokens
    /// left and the next refill for those with a rate, and the park of their quota group.
    func agentPacing(workspace: String?, now: Date) async throws -> [AgentPacing]
    /// Ends the park of quota group `group` of `workspace` (and forgets its default-park streak);
    /// answers whether it was parked. Dispatchers on every node look for work again.
    func unpark(group: String, workspace: String, now: Date) async throws -> Bool
}

extension AgentCatalogue {
    /// The agent named `name` in the default workspace.
    public func agent(named name: String) async throws -> Agent? {
        try await agent(named: name, workspace: Workspace.defaultID)
    }

    /// Every agent of every workspace.
    public func agents() async throws -> [Agent] {
        try await agents(workspace: nil)
    }

    /// Removes an agent of the default workspace.
    public func deleteAgent(named name: String) async throws -> Bool {
        try await deleteAgent(named: name, workspace: Workspace.defaultID)
    }

    /// Sets a lane limit in the default workspace.
    public func setLaneLimit(_ lane: String, concurrency: Int?) async throws {
        try await setLaneLimit(lane, concurrency: concurrency, workspace: Workspace.defaultID)
    }

    /// Saves `agent`, and the limit of its repository's lane when it caps its repository's live
    /// tasks (``Agent/repoLane``, ``GitWorkspace/repoConcurrency``).
    public func saveAgentAndRepoLane(_ agent: Agent) async throws {
        try await saveAgent(agent)
        if let lane = agent.repoLane, let cap = agent.git?.repoConcurrency {
            try await setLaneLimit(lane, concurrency: cap, workspace: agent.workspaceID)
        }
    }
}
