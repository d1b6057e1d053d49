/// Per-agent and per-lane concurrency limits (agents and lanes by workspace and name) with the
/// counts of running tasks, for one claim: the accounting every store's claim does once it has read
/// the limits and the running counts.
public struct ConcurrencyLimits: Sendable {
    private let agentLimits: [ScopedName: Int]
    private let laneLimits: [ScopedName: Int]
    private var agentRunning: [ScopedName: Int] = [:]
    private var laneRunning: [ScopedName: Int] = [:]

    /// Limits by agent and by lane, with nothing counted as running yet.
    public init(agentLimits: [ScopedName: Int], laneLimits: [ScopedName: Int]) {
        self.agentLimits = agentLimits
        self.laneLimits = laneLimits
    }

    /// Counts `n` running tasks of `agent` in `lane` (both of one workspace).
    public mutating func countRunning(_ n: Int = 1, agent: ScopedName, lane: ScopedName?) {
        agentRunning[agent, default: 0] += n
        if let lane { laneRunning[lane, default: 0] += n }
    }

    /// Whether no limit is defined at all (the claim can take candidates as they come).
    public var isEmpty: Bool { agentLimits.isEmpty && laneLimits.isEmpty }

    /// Agents already at their limit.
    public var saturatedAgents: [ScopedName] {
        agentLimits.filter { agentRunning[$0.key, default: 0] >= $0.value }.map(\.key).sorted { $0.description < $1.description }
    }

    /// Lanes already at their limit.
    public var saturatedLanes: [ScopedName] {
        laneLimits.filter { laneRunning[$0.key, default: 0] >= $0.value }.map(\.key).sorted { $0.description < $1.description }
    }

    /// Counts a task in if its agent and lane have room; returns whether it fits.
    public mutating func admit(agent: ScopedName, lane: ScopedName?) -> Bool {
        if let limit = agentLimits[agent], agentRunning[agent, default: 0] >= limit { return false }
        if let lane, let limit = laneLimits[lane], laneRunning[lane, default: 0] >= limit { return false }
        countRunning(agent: agent, lane: lane)
        return true
    }
}
