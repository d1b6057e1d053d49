import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// The runs of `agent`'s tasks in `workspace` that finished in [`from`, `to`), per UTC day:
    /// figures grouped by day and outcome, tool calls by day and tool from each run's JSON object.
    public func agentRunStats(agent: String, workspace: String, from: Date, to: Date) async throws -> AgentRunStats {
        let arguments: StatementArguments = [workspace, from.timeIntervalSince1970, to.timeIntervalSince1970, agent, AgentRunStats.secondsPerDay]
        return try await read { db in
            let figures = try Row.fetchAll(db, sql: """
                SELECT CAST(runs.finished_at / ?5 AS INTEGER) AS day, coalesce(runs.outcome, 'unknown'), count(*),
                    sum(runs.tokens_in), sum(runs.tokens_out), sum(runs.cache_read_tokens), sum(runs.cache_write_tokens),
                    total(runs.cost_usd), sum(runs.turns), total(runs.finished_at - runs.started_at),
                    max(runs.finished_at - runs.started_at)
                FROM runs JOIN tasks ON tasks.id = runs.task_id
                WHERE \(Self.statsRuns)
                GROUP BY day, runs.outcome
                """, arguments: arguments).map { row in
                RunFigures(
                    day: Self.day(row[0]), runs: row[2], outcomes: [row[1]: row[2]], tokensIn: row[3], tokensOut: row[4],
                    cacheReadTokens: row[5], cacheWriteTokens: row[6], costUSD: row[7], turns: row[8], durationSeconds: row[9],
                    maxDurationSeconds: row[10])
            }
            let toolCalls = try Row.fetchAll(db, sql: """
                SELECT CAST(runs.finished_at / ?5 AS INTEGER) AS day, tool.key, sum(tool.value)
                FROM runs JOIN tasks ON tasks.id = runs.task_id, json_each(runs.tool_calls) AS tool
                WHERE \(Self.statsRuns) AND runs.tool_calls IS NOT NULL
                GROUP BY day, tool.key
                """, arguments: arguments).map { row in (day: Self.day(row[0]), tool: row[1] as String, count: row[2] as Int) }
            return AgentRunStats(agent: agent, from: from, to: to, figures: figures, toolCalls: toolCalls)
        }
    }

    /// The runs an agent's stats count: the workspace's (through the `runs_finished` index),
    /// finished in the range, of the agent's tasks.
    private static let statsRuns = """
        runs.workspace_id = ?1 AND runs.finished_at >= ?2 AND runs.finished_at < ?3 AND runs.finished_at IS NOT NULL
            AND tasks.agent = ?4
        """

    /// The start of the day with this index since 1970.
    private static func day(_ index: Int64) -> Date {
        Date(timeIntervalSince1970: Double(index) * AgentRunStats.secondsPerDay)
    }
}
