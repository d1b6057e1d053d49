import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Creates or replaces an agent profile in its workspace: its document, and the columns SQL reads.
    public func saveAgent(_ agent: Agent) async throws {
        try agent.validate()
        let document = try AgentDocument.text(agent)
        try await write { transaction in
            var sql = SQL("""
                INSERT INTO agents (workspace_id, name, document, concurrency, timeout, max_attempts, initial_backoff, max_backoff,
                    budget_usd, updated_at, ask, quota_group, rate_limit, rate_window, repo_lane)
                VALUES (
                """)
            sql.append(list: [
                .text(agent.workspaceID), .text(agent.name), .json(document), .int(agent.concurrency), .double(agent.timeout),
                .int(agent.retry.maxAttempts), .double(agent.retry.initialBackoff), .double(agent.retry.maxBackoff),
                .double(agent.budgetUSD), .double(Date().timeIntervalSince1970), .text(agent.ask.rawValue),
                .text(agent.quotaGroup), .int(agent.rate?.limit), .double(agent.rate?.window), .text(agent.repoLane),
            ])
            sql.append("""
                ) ON CONFLICT (workspace_id, name) DO UPDATE SET document = excluded.document,
                    concurrency = excluded.concurrency, timeout = excluded.timeout, max_attempts = excluded.max_attempts,
                    initial_backoff = excluded.initial_backoff, max_backoff = excluded.max_backoff,
                    budget_usd = excluded.budget_usd, updated_at = excluded.updated_at, ask = excluded.ask,
                    quota_group = excluded.quota_group, rate_limit = excluded.rate_limit, rate_window = excluded.rate_window,
                    repo_lane = excluded.repo_lane
                """)
            try await transaction.rows(sql)
        }
    }

    /// The agent named `name` in `workspace`, if any.
    public func agent(named name: String, workspace: String) async throws -> Agent? {
        try await autocommit { transaction in
            var sql = SQL("SELECT \(PostgresRows.agentColumns) FROM agents WHERE workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" AND name = ")
            sql.append(.text(name))
            return try await transaction.rows(sql).first.map(PostgresRows.agent)
        }
    }

    /// Every agent of `workspace` (of every workspace with `nil`), by workspace and name.
    public func agents(workspace: String?) async throws -> [Agent] {
        try await autocommit { transaction in
            var sql = SQL("SELECT \(PostgresRows.agentColumns) FROM agents")
            if let workspace {
                sql.append(" WHERE workspace_id = ")
                sql.append(.text(workspace))
            }
            sql.append(" ORDER BY workspace_id, name")
            return try await transaction.rows(sql).map(PostgresRows.agent)
        }
    }

    /// Removes an agent of `workspace`; returns whether it existed.
    public func deleteAgent(named name: String, workspace: String) async throws -> Bool {
        try await write { transaction in
            var sql = SQL("DELETE FROM agents WHERE workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" AND name = ")
            sql.append(.text(name))
            sql.append(" RETURNING name")
            return try await !transaction.rows(sql).isEmpty
        }
    }

    /// The pacing of every agent of `workspace` (of every workspace with `nil`) at `now`.
    public func agentPacing(workspace: String?, now: Date) async throws -> [AgentPacing] {
        try await autocommit { transaction in
            var sql = SQL("""
                SELECT a.workspace_id, a.name, COALESCE(a.quota_group, a.name) AS quota_group, a.rate_limit, a.rate_window,
                    a.rate_tokens, a.rate_at, p.parked_until, p.reason
                FROM agents a LEFT JOIN quota_parks p ON p.workspace_id = a.workspace_id AND p.quota_group = COALESCE(a.quota_group, a.name)
                """)
            if let workspace {
                sql.append(" WHERE a.workspace_id = ")
                sql.append(.text(workspace))
            }
            sql.append(" ORDER BY a.workspace_id, a.name")
            return try await transaction.rows(sql).map { row in
                let limit = try row["rate_limit"].decode(Int?.self)
                let window = try row["rate_window"].decode(Double?.self)
                let until = try row["parked_until"].decode(Double?.self)
                let reason = try row["reason"].decode(String?.self)
                return AgentPacing(
                    agent: ScopedName(workspace: try row["workspace_id"].decode(String.self), name: try row["name"].decode(String.self)),
                    quotaGroup: try row["quota_group"].decode(String.self),
                    rate: limit.flatMap { limit in window.map { AgentRate(limit: limit, window: $0) } },
                    bucketTokens: try row["rate_tokens"].decode(Double?.self), bucketAt: try row["rate_at"].decode(Double?.self),
                    park: until.map { ($0, reason ?? "") }, now: now)
            }
        }
    }

    /// Ends the park of quota group `group` of `workspace`; answers whether it was parked. Its
    /// `NOTIFY` wakes the dispatchers of every node.
    public func unpark(group: String, workspace: String, now: Date) async throws -> Bool {
        try await write { transaction in
            var sql = SQL("DELETE FROM quota_parks WHERE workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" AND quota_group = ")
            sql.append(.text(group))
            sql.append(" RETURNING parked_until")
            let until = try await transaction.rows(sql).first.map { try $0["parked_until"].decode(Double.self) }
            let ended = (until ?? 0) > now.timeIntervalSince1970
            if ended {
                try await transaction.rows(SQL("SELECT pg_notify(\(Self.changesChannelSQL), '\(Self.queuedPayload)')"))
            }
            return ended
        }
    }

    /// Sets (or with `nil` removes) the concurrency limit of a lane of `workspace`.
    public func setLaneLimit(_ lane: String, concurrency: Int?, workspace: String) async throws {
        if let concurrency { try Lane.validate(concurrency: concurrency) }
        try await write { transaction in
            if let concurrency {
                var sql = SQL("INSERT INTO lanes (workspace_id, name, concurrency) VALUES (")
                sql.append(list: [.text(workspace), .text(lane), .int(concurrency)])
                sql.append(") ON CONFLICT (workspace_id, name) DO UPDATE SET concurrency = excluded.concurrency")
                try await transaction.rows(sql)
            } else {
                var sql = SQL("DELETE FROM lanes WHERE workspace_id = ")
                sql.append(.text(workspace))
                sql.append(" AND name = ")
                sql.append(.text(lane))
                try await transaction.rows(sql)
            }
        }
    }
}
