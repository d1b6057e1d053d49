import Foundation
import Nightshift

/// An agent's runs over a range of finish times, per UTC day and in total
/// (`GET /v1/agents/{name}/stats`).
public struct WireAgentRunStats: WireValue, Hashable {
    /// The agent.
    public var agent: String
    /// The range's start: runs that finished at or after it count.
    public var from: Date
    /// The range's end: runs that finished before it count.
    public var to: Date
    /// The UTC days on which at least one run finished, oldest first.
    public var days: [WireRunFigures]
    /// The whole range's figures (their `day` is `null`).
    public var totals: WireRunFigures
}

extension WireAgentRunStats {
    /// The wire form of `stats`.
    public init(_ stats: AgentRunStats) {
        self.init(
            agent: stats.agent, from: stats.from, to: stats.to, days: stats.days.map { WireRunFigures($0, day: true) },
            totals: WireRunFigures(stats.totals, day: false))
    }
}

/// What a set of runs (one day's, or a range's) add up to.
public struct WireRunFigures: WireValue, Hashable {
    /// The UTC day, `YYYY-MM-DD`; `null` for a range's totals.
    public var day: String?
    /// The runs.
    public var runs: Int
    /// The runs that succeeded.
    public var succeeded: Int
    /// The runs that failed (`failed`, `timed_out`, `stalled`, `usage_limit`).
    public var failed: Int
    /// The runs by outcome.
    public var outcomes: [String: Int]
    /// Input tokens.
    public var tokensIn: Int
    /// Output tokens.
    public var tokensOut: Int
    /// Cache-read tokens.
    public var cacheReadTokens: Int
    /// Cache-write tokens.
    public var cacheWriteTokens: Int
    /// What the runs cost in US dollars.
    public var costUSD: Double
    /// Agent turns.
    public var turns: Int
    /// The runs' durations added up, in seconds.
    public var runSeconds: Double
    /// The longest run's duration, in seconds.
    public var longestRunSeconds: Double
    /// Tool calls, by tool name.
    public var toolCalls: [String: Int]

    enum CodingKeys: String, CodingKey {
        case day, runs, succeeded, failed, outcomes, turns
        case tokensIn = "tokens_in", tokensOut = "tokens_out", cacheReadTokens = "cache_read_tokens"
        case cacheWriteTokens = "cache_write_tokens", costUSD = "cost_usd", runSeconds = "run_seconds"
        case longestRunSeconds = "longest_run_seconds", toolCalls = "tool_calls"
    }
}

extension WireRunFigures {
    /// The wire form of `figures`, with its day when `day` is set.
    init(_ figures: RunFigures, day: Bool) {
        self.init(
            day: day ? Self.dayText(figures.day) : nil, runs: figures.runs, succeeded: figures.succeeded, failed: figures.failed,
            outcomes: figures.outcomes, tokensIn: figures.tokensIn, tokensOut: figures.tokensOut,
            cacheReadTokens: figures.cacheReadTokens, cacheWriteTokens: figures.cacheWriteTokens, costUSD: figures.costUSD,
            turns: figures.turns, runSeconds: figures.durationSeconds, longestRunSeconds: figures.maxDurationSeconds,
            toolCalls: figures.toolCalls)
    }

    /// `YYYY-MM-DD`: the UTC day of `date`.
    public static func dayText(_ date: Date) -> String {
        String(JSONTime.text(date).prefix(10))
    }
}
