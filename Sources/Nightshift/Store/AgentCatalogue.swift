import Foundation

/// The agent profiles and lane limits that claims honour.
public protocol AgentCatalogue: Sendable {
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
}
