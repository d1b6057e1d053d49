import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The runs of `agent`'s tasks in `workspace` that finished in [`from`, `to`), per UTC day:
    /// figures grouped by day and outcome, tool calls by day and tool from each run's JSON object.
    public func agentRunStats(agent: String, workspace: String, from: Date, to: Date) async throws -> AgentRunStats {
        try await autocommit { transaction in
            var sql = SQL("""
                SELECT floor(runs.finished_at / 86400)::bigint AS day, coalesce(runs.outcome, 'unknown') AS outcome,
                    count(*)::bigint AS runs, sum(runs.tokens_in)::bigint AS tokens_in, sum(runs.tokens_out)::bigint AS tokens_out,
                    sum(runs.cache_read_tokens)::bigint AS cache_read_tokens, sum(runs.cache_write_tokens)::bigint AS cache_write_tokens,
                    sum(runs.cost_usd)::float8 AS cost_usd, sum(runs.turns)::bigint AS turns,
                    sum(runs.finished_at - runs.started_at)::float8 AS duration, max(runs.finished_at - runs.started_at)::float8 AS longest
                FROM runs JOIN tasks ON tasks.id = runs.task_id
                """)
            Self.appendStatsRuns(to: &sql, agent: agent, workspace: workspace, from: from, to: to)
            sql.append(" GROUP BY 1, 2")
            let figures = try await transaction.rows(sql).map { row in
                let runs = try row["runs"].decode(Int.self)
                return RunFigures(
                    day: Self.day(try row["day"].decode(Int.self)), runs: runs, outcomes: [try row["outcome"].decode(String.self): runs],
                    tokensIn: try row["tokens_in"].decode(Int.self), tokensOut: try row["tokens_out"].decode(Int.self),
                    cacheReadTokens: try row["cache_read_tokens"].decode(Int.self),
                    cacheWriteTokens: try row["cache_write_tokens"].decode(Int.self), costUSD: try row["cost_usd"].decode(Double.self),
                    turns: try row["turns"].decode(Int.self), durationSeconds: try row["duration"].decode(Double.self),
                    maxDurationSeconds: try row["longest"].decode(Double.self))
            }
            var tools = SQL("""
                SELECT floor(runs.finished_at / 86400)::bigint AS day, tool.key AS tool, sum(tool.value::bigint)::bigint AS calls
                FROM runs JOIN tasks ON tasks.id = runs.task_id, jsonb_each_text(runs.tool_calls::jsonb) AS tool
                """)
            Self.appendStatsRuns(to: &tools, agent: agent, workspace: workspace, from: from, to: to)
            tools.append(" AND runs.tool_calls IS NOT NULL GROUP BY 1, 2")
            let toolCalls = try await transaction.rows(tools).map { row in
                (day: Self.day(try row["day"].decode(Int.self)), tool: try row["tool"].decode(String.self), count: try row["calls"].decode(Int.self))
            }
            return AgentRunStats(agent: agent, from: from, to: to, figures: figures, toolCalls: toolCalls)
        }
    }

    /// The runs an agent's stats count: the workspace's (through the `runs_finished` index),
    /// finished in the range, of the agent's tasks.
    private static func appendStatsRuns(to sql: inout SQL, agent: String, workspace: String, from: Date, to: Date) {
        sql.append(" WHERE runs.workspace_id = ")
        sql.append(.text(workspace))
        sql.append(" AND runs.finished_at >= ")
        sql.append(.double(from.timeIntervalSince1970))
        sql.append(" AND runs.finished_at < ")
        sql.append(.double(to.timeIntervalSince1970))
        sql.append(" AND runs.finished_at IS NOT NULL AND tasks.agent = ")
        sql.append(.text(agent))
    }

    /// The start of the day with this index since 1970.
    private static func day(_ index: Int) -> Date {
        Date(timeIntervalSince1970: Double(index) * AgentRunStats.secondsPerDay)
    }
}
