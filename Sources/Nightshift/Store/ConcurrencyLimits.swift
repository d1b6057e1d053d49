/// Per-agent and per-lane concurrency limits (agents and lanes by workspace and name) with the
/// counts of running tasks, and the agents' pacing (rate buckets, parked quota groups), for one
/// claim: the accounting every store's claim does once it has read the limits and the running counts.
public struct ConcurrencyLimits: Sendable {
    private let agentLimits: [ScopedName: Int]
    private let laneLimits: [ScopedName: Int]
    private var agentRunning: [ScopedName: Int] = [:]
    private var laneRunning: [ScopedName: Int] = [:]
    private var paces: [ScopedName: AgentPace]
    /// Tokens this claim took, by agent.
    private var taken: [ScopedName: Int] = [:]

    /// Limits by agent and by lane, with nothing counted as running yet, and the pacing of the
    /// agents that have a rate or whose quota group is parked (none: ``AgentPace`` costs nothing).
    public init(agentLimits: [ScopedName: Int], laneLimits: [ScopedName: Int], paces: [ScopedName: AgentPace] = [:]) {
        self.agentLimits = agentLimits
        self.laneLimits = laneLimits
        self.paces = paces
    }

    /// Counts `n` running tasks of `agent` in `lane` (both of one workspace).
    public mutating func countRunning(_ n: Int = 1, agent: ScopedName, lane: ScopedName?) {
        agentRunning[agent, default: 0] += n
        if let lane { laneRunning[lane, default: 0] += n }
    }

    /// Whether no limit is defined at all (the claim can take candidates as they come).
    public var isEmpty: Bool { agentLimits.isEmpty && laneLimits.isEmpty && paces.isEmpty }

    /// Whether only pacing limits apply (no concurrency limit: running tasks need not be counted).
    public var hasConcurrencyLimits: Bool { !agentLimits.isEmpty || !laneLimits.isEmpty }

    /// Agents that may start nothing now: at their concurrency limit, out of tokens, or parked.
    public var saturatedAgents: [ScopedName] {
        let full = agentLimits.filter { agentRunning[$0.key, default: 0] >= $0.value }.map(\.key)
        let held = paces.filter { !$0.value.admits(taken: taken[$0.key, default: 0]) }.map(\.key)
        return Array(Set(full + held)).sorted { $0.description < $1.description }
    }

    /// Lanes already at their limit.
    public var saturatedLanes: [ScopedName] {
        laneLimits.filter { laneRunning[$0.key, default: 0] >= $0.value }.map(\.key).sorted { $0.description < $1.description }
    }

    /// Counts a task in if its agent and lane have room (and its agent a token and no park);
    /// returns whether it fits.
    public mutating func admit(agent: ScopedName, lane: ScopedName?) -> Bool {
        if let limit = agentLimits[agent], agentRunning[agent, default: 0] >= limit { return false }
        if let lane, let limit = laneLimits[lane], laneRunning[lane, default: 0] >= limit { return false }
        if let pace = paces[agent] {
            guard pace.admits(taken: taken[agent, default: 0]) else { return false }
            if pace.rate != nil { taken[agent, default: 0] += 1 }
        }
        countRunning(agent: agent, lane: lane)
        return true
    }

    /// The buckets this claim took tokens from, as the store writes them back (at the claim's time).
    public var bucketWrites: [(agent: ScopedName, bucket: RateBucket)] {
        taken.compactMap { agent, count in
            guard count > 0, let pace = paces[agent] else { return nil }
            return (agent, RateBucket(tokens: pace.bucket.tokens - Double(count), updatedAt: pace.bucket.updatedAt))
        }.sorted { $0.agent.description < $1.agent.description }
    }

    /// The earliest time, in seconds since 1970, at which an agent held back now (parked, or out
    /// of tokens after this claim) may start a task again; `nil` if none is held back.
    public var nextOpening: Double? {
        paces.compactMap { agent, pace in pace.opening(taken: taken[agent, default: 0]) }.min()
    }
}

/// One agent's pacing at a claim's time: its rate and bucket (brought forward to the claim's
/// time), and the end of its quota group's park if the group is parked.
public struct AgentPace: Sendable, Hashable {
    /// Its rate, if it has one.
    public var rate: AgentRate?
    /// Its bucket at the claim's time (full without a rate).
    public var bucket: RateBucket
    /// When its quota group's park ends, if it is parked (seconds since 1970).
    public var parkedUntil: Double?

    /// The pace of an agent from its stored columns, at `now` (seconds since 1970).
    public init(rate: AgentRate?, tokens: Double?, updatedAt: Double?, parkedUntil: Double?, now: Double) {
        self.rate = rate
        bucket = rate.map { RateBucket(tokens: tokens, updatedAt: updatedAt, rate: $0, now: now) } ?? RateBucket(tokens: 0, updatedAt: now)
        self.parkedUntil = parkedUntil.flatMap { $0 > now ? $0 : nil }
    }

    /// Whether one more of its tasks may start, `taken` tokens having gone to this claim already.
    func admits(taken: Int) -> Bool {
        guard parkedUntil == nil else { return false }
        guard rate != nil else { return true }
        return bucket.whole - taken >= 1
    }

    /// When it may start a task again if it may not now (seconds since 1970).
    func opening(taken: Int) -> Double? {
        if let parkedUntil { return parkedUntil }
        guard let rate, !admits(taken: taken) else { return nil }
        return RateBucket(tokens: bucket.tokens - Double(taken), updatedAt: bucket.updatedAt).nextToken(rate: rate)
    }
}
