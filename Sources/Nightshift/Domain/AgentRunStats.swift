import Foundation

/// One agent's runs that finished in a range of time, summed per UTC day and in total
/// (``TaskQueries/agentRunStats(agent:workspace:from:to:)``).
public struct AgentRunStats: Sendable, Hashable {
    /// The agent.
    public var agent: String
    /// The range's start: runs that finished at or after it count.
    public var from: Date
    /// The range's end: runs that finished before it count.
    public var to: Date
    /// The UTC days on which at least one of the runs finished, oldest first.
    public var days: [RunFigures]

    /// Creates the stats of `agent` over [`from`, `to`).
    public init(agent: String, from: Date, to: Date, days: [RunFigures]) {
        self.agent = agent
        self.from = from
        self.to = to
        self.days = days
    }

    /// The figures of every day together (``RunFigures/day`` is the range's start).
    public var totals: RunFigures {
        days.reduce(RunFigures(day: from)) { $0 + $1 }
    }

    /// The start (midnight UTC) of the day that holds `date`.
    public static func startOfDay(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / secondsPerDay).rounded(.down) * secondsPerDay)
    }

    /// The seconds of a UTC day (which has no daylight saving time).
    public static let secondsPerDay = 86_400.0
}

/// What a set of runs (one day's, or a whole range's) add up to.
public struct RunFigures: Sendable, Hashable {
    /// The day (midnight UTC) the runs finished on.
    public var day: Date
    /// The runs.
    public var runs: Int
    /// The runs by outcome (`succeeded`, `failed`, `timed_out`, `lost` …).
    public var outcomes: [String: Int]
    /// Input tokens.
    public var tokensIn: Int
    /// Output tokens.
    public var tokensOut: Int
    /// Input tokens read from the prompt cache.
    public var cacheReadTokens: Int
    /// Input tokens written to the prompt cache.
    public var cacheWriteTokens: Int
    /// Cost in USD.
    public var costUSD: Double
    /// The agents' turns.
    public var turns: Int
    /// The runs' durations (start to finish) added up, in seconds.
    public var durationSeconds: Double
    /// The longest run's duration, in seconds.
    public var maxDurationSeconds: Double
    /// Tool calls, by tool name.
    public var toolCalls: [String: Int]

    /// Creates figures; all zero by default.
    public init(
        day: Date, runs: Int = 0, outcomes: [String: Int] = [:], tokensIn: Int = 0, tokensOut: Int = 0, cacheReadTokens: Int = 0,
        cacheWriteTokens: Int = 0, costUSD: Double = 0, turns: Int = 0, durationSeconds: Double = 0, maxDurationSeconds: Double = 0,
        toolCalls: [String: Int] = [:]
    ) {
        self.day = day
        self.runs = runs
        self.outcomes = outcomes
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.costUSD = costUSD
        self.turns = turns
        self.durationSeconds = durationSeconds
        self.maxDurationSeconds = maxDurationSeconds
        self.toolCalls = toolCalls
    }

    /// The runs that succeeded.
    public var succeeded: Int { outcomes["succeeded"] ?? 0 }
    /// The runs that failed (``failedOutcomes``).
    public var failed: Int { Self.failedOutcomes.reduce(0) { $0 + (outcomes[$1] ?? 0) } }

    /// The outcomes that are the agent's failures; the others are successes, waits, parks and
    /// interruptions (`lost`, `released`, `interrupted`), and cancellations.
    public static let failedOutcomes = ["failed", "timed_out", "stalled", RunOutcome.usageLimitLabel]

    /// The figures of both sets of runs, on `lhs`'s day.
    public static func + (lhs: RunFigures, rhs: RunFigures) -> RunFigures {
        RunFigures(
            day: lhs.day, runs: lhs.runs + rhs.runs, outcomes: lhs.outcomes.merging(rhs.outcomes, uniquingKeysWith: +),
            tokensIn: lhs.tokensIn + rhs.tokensIn, tokensOut: lhs.tokensOut + rhs.tokensOut,
            cacheReadTokens: lhs.cacheReadTokens + rhs.cacheReadTokens, cacheWriteTokens: lhs.cacheWriteTokens + rhs.cacheWriteTokens,
            costUSD: lhs.costUSD + rhs.costUSD, turns: lhs.turns + rhs.turns, durationSeconds: lhs.durationSeconds + rhs.durationSeconds,
            maxDurationSeconds: max(lhs.maxDurationSeconds, rhs.maxDurationSeconds),
            toolCalls: lhs.toolCalls.merging(rhs.toolCalls, uniquingKeysWith: +))
    }
}

extension AgentRunStats {
    /// The stats a store's two reads make: `figures` per day and outcome (a day's rows are added
    /// up), and tool calls per day and tool.
    package init(
        agent: String, from: Date, to: Date, figures: [RunFigures], toolCalls: [(day: Date, tool: String, count: Int)]
    ) {
        var days: [Date: RunFigures] = [:]
        for row in figures { days[row.day] = days[row.day].map { $0 + row } ?? row }
        for call in toolCalls { days[call.day]?.toolCalls[call.tool, default: 0] += call.count }
        self.init(agent: agent, from: from, to: to, days: days.values.sorted { $0.day < $1.day })
    }
}
