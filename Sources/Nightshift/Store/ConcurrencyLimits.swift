/// Per-agent and per-lane concurrency limits with the counts of running tasks, for one claim: the
/// accounting every store's claim does once it has read the limits and the running counts.
public struct ConcurrencyLimits: Sendable {
    private let agentLimits: [String: Int]
    private let laneLimits: [String: Int]
    private var agentRunning: [String: Int] = [:]
    private var laneRunning: [String: Int] = [:]

    /// Limits by agent and by lane, with nothing counted as running yet.
    public init(agentLimits: [String: Int], laneLimits: [String: Int]) {
        self.agentLimits = agentLimits
        self.laneLimits = laneLimits
    }

    /// Counts `n` running tasks of `agent` in `lane`.
    public mutating func countRunning(_ n: Int = 1, agent: String, lane: String?) {
        agentRunning[agent, default: 0] += n
        if let lane { laneRunning[lane, default: 0] += n }
    }

    /// Whether no limit is defined at all (the claim can take candidates as they come).
    public var isEmpty: Bool { agentLimits.isEmpty && laneLimits.isEmpty }

    /// Agents already at their limit.
    public var saturatedAgents: [String] {
        agentLimits.filter { agentRunning[$0.key, default: 0] >= $0.value }.map(\.key).sorted()
    }

    /// Lanes already at their limit.
    public var saturatedLanes: [String] {
        laneLimits.filter { laneRunning[$0.key, default: 0] >= $0.value }.map(\.key).sorted()
    }

    /// Counts a task in if its agent and lane have room; returns whether it fits.
    public mutating func admit(agent: String, lane: String?) -> Bool {
        if let limit = agentLimits[agent], agentRunning[agent, default: 0] >= limit { return false }
        if let lane, let limit = laneLimits[lane], laneRunning[lane, default: 0] >= limit { return false }
        countRunning(agent: agent, lane: lane)
        return true
    }
}
