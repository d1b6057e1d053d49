import Foundation
import Nightshift

/// The answer of `GET /v1/status`: counts by state, queue depth, active and recent runs, run
/// totals, each agent's availability, stats and quota, and the tasks that have waited too long.
public struct WireStatus: WireValue, Hashable {
    /// Run totals over the store.
    public struct Totals: WireValue, Hashable {
        /// Runs started.
        public var invocations: Int
        /// Runs that succeeded.
        public var succeeded: Int
        /// Runs that failed.
        public var failed: Int
    }

    /// Each agent: whether it can run here, its stats and its quota.
    public var agents: [WireAgentStatus]
    /// Tasks by state, every state present.
    public var counts: [String: Int]
    /// Tasks waiting to run: queued, waiting or paused.
    public var queueDepth: Int
    /// The runs in progress on this node.
    public var activeRuns: [WireActiveRun]
    /// The latest runs.
    public var recentRuns: [WireRun]
    /// Run totals.
    public var totals: Totals
    /// The tasks that have waited longer than the daemon's `blocked_stale_after`, longest waiting first.
    public var blockedStale: [WireBlockedTask]
    /// The workspace's work detectors registered on this node: their last scans and errors.
    public var detectors: [WireDetector]

    enum CodingKeys: String, CodingKey {
        case agents, counts, totals, detectors
        case queueDepth = "queue_depth", activeRuns = "active_runs", recentRuns = "recent_runs", blockedStale = "blocked_stale"
    }
}

/// A task that has waited longer than the daemon's `blocked_stale_after` (the status's `blocked_stale`).
public struct WireBlockedTask: WireValue, Hashable {
    /// The task.
    public var taskID: String
    /// Its agent.
    public var agent: String
    /// What it waits for, if known.
    public var waitingFor: WireWaitingFor?
    /// When it began to wait (its last change).
    public var waitingSince: Date

    enum CodingKeys: String, CodingKey {
        case agent
        case taskID = "task_id", waitingFor = "waiting_for", waitingSince = "waiting_since"
    }
}

extension WireBlockedTask {
    /// The wire form of a waiting `task`.
    init(_ task: AgentTask) {
        self.init(
            taskID: task.id.rawValue, agent: task.agent, waitingFor: task.waitingFor.map(WireWaitingFor.init), waitingSince: task.updatedAt)
    }
}

/// An agent in the status: whether its program can run here, its stats and its latest quota.
public struct WireAgentStatus: WireValue, Hashable {
    /// The agent.
    public var agent: String
    /// Its runner kind.
    public var runner: String
    /// Whether it can run here.
    public var available: Bool
    /// The program's resolved path, if it has one.
    public var path: String?
    /// The program's version, if known.
    public var version: String?
    /// Why it cannot run, when it cannot.
    public var problem: String?
    /// Its tasks, cost, tokens, turns and run time.
    public var stats: WireAgentStats
    /// Its latest quota status, if a run reported one.
    public var quota: WireQuota?
    /// Its rate tokens and its quota group's park.
    public var pacing: WirePacing?
}

extension WireAgentStatus {
    /// The status of the agent `report` is about.
    init(_ report: AgentAvailability, stats: WireAgentStats, quota: WireQuota?, pacing: WirePacing?) {
        self.init(
            agent: report.agent, runner: report.runner.rawValue, available: report.available, path: report.path,
            version: report.version, problem: report.problem, stats: stats, quota: quota, pacing: pacing)
    }
}

/// An agent's stats, summed over its tasks.
public struct WireAgentStats: WireValue, Hashable {
    /// Its tasks.
    public var tasks: Int
    /// What they cost in US dollars.
    public var costUSD: Double
    /// Input tokens.
    public var tokensIn: Int
    /// Output tokens.
    public var tokensOut: Int
    /// Cache-read tokens.
    public var cacheReadTokens: Int
    /// Cache-write tokens.
    public var cacheWriteTokens: Int
    /// All tokens.
    public var tokensUsed: Int
    /// Agent turns.
    public var turns: Int
    /// Seconds of runs.
    public var runSeconds: Double

    enum CodingKeys: String, CodingKey {
        case tasks, turns
        case costUSD = "cost_usd", tokensIn = "tokens_in", tokensOut = "tokens_out", cacheReadTokens = "cache_read_tokens"
        case cacheWriteTokens = "cache_write_tokens", tokensUsed = "tokens_used", runSeconds = "run_seconds"
    }
}

extension WireAgentStats {
    /// The wire form of `stats`.
    init(_ stats: AgentStats) {
        self.init(
            tasks: stats.tasks, costUSD: stats.costUSD, tokensIn: stats.totals.tokensIn, tokensOut: stats.totals.tokensOut,
            cacheReadTokens: stats.totals.cacheReadTokens, cacheWriteTokens: stats.totals.cacheWriteTokens,
            tokensUsed: stats.totals.tokensUsed, turns: stats.totals.turns, runSeconds: stats.totals.runSeconds)
    }
}

/// An agent's latest quota status: the agent CLI's own fields, and when it was seen.
public struct WireQuota: WireValue, Hashable {
    /// The status as the agent CLI printed it.
    public var status: JSONValue
    /// When it was seen.
    public var observedAt: Date

    enum CodingKeys: String, CodingKey {
        case status
        case observedAt = "observed_at"
    }
}

/// A run in progress on the answering node.
public struct WireActiveRun: WireValue, Hashable {
    /// The task.
    public var taskID: String
    /// The run.
    public var runID: String
    /// The agent.
    public var agent: String
    /// The attempt number.
    public var attempt: Int
    /// The agent process's pid, while there is one.
    public var pid: Int?
    /// When the run started.
    public var startedAt: Date
    /// Seconds it has run, to the millisecond.
    public var durationS: Double

    enum CodingKeys: String, CodingKey {
        case agent, attempt, pid
        case taskID = "task_id", runID = "run_id", startedAt = "started_at", durationS = "duration_s"
    }
}

extension WireActiveRun {
    /// The wire form of `run` at `now`.
    init(_ run: ActiveRun, now: Date) {
        self.init(
            taskID: run.taskID.rawValue, runID: run.runID, agent: run.agent, attempt: run.attempt, pid: run.pid.map(Int.init),
            startedAt: run.startedAt, durationS: (now.timeIntervalSince(run.startedAt) * 1000).rounded() / 1000)
    }
}
