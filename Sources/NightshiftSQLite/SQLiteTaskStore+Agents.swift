import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Creates or replaces an agent profile in its workspace: its document, and the columns SQL reads.
    public func saveAgent(_ agent: Agent) async throws {
        try agent.validate()
        let document = try AgentDocument.text(agent)
        try await writer.write { transaction in
            try transaction.db.execute(
                sql: """
                    INSERT INTO agents (workspace_id, name, document, concurrency, timeout, max_attempts, initial_backoff,
                        max_backoff, budget_usd, updated_at, ask, quota_group, rate_limit, rate_window, repo_lane)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (workspace_id, name) DO UPDATE SET document = excluded.document,
                        concurrency = excluded.concurrency, timeout = excluded.timeout, max_attempts = excluded.max_attempts,
                        initial_backoff = excluded.initial_backoff, max_backoff = excluded.max_backoff,
                        budget_usd = excluded.budget_usd, updated_at = excluded.updated_at, ask = excluded.ask,
                        quota_group = excluded.quota_group, rate_limit = excluded.rate_limit, rate_window = excluded.rate_window,
                        repo_lane = excluded.repo_lane
                    """,
                arguments: [
                    agent.workspaceID, agent.name, document, agent.concurrency, agent.timeout, agent.retry.maxAttempts,
                    agent.retry.initialBackoff, agent.retry.maxBackoff, agent.budgetUSD, Date().timeIntervalSince1970,
                    agent.ask.rawValue, agent.quotaGroup, agent.rate?.limit, agent.rate?.window, agent.repoLane,
                ])
        }
    }

    /// The agent named `name` in `workspace`, if any.
    public func agent(named name: String, workspace: String) async throws -> Agent? {
        try await read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM agents WHERE workspace_id = ? AND name = ?"), arguments: [workspace, name]
            ).map(SQLiteRows.agent)
        }
    }

    /// Every agent of `workspace` (of every workspace with `nil`), by workspace and name.
    public func agents(workspace: String?) async throws -> [Agent] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM agents WHERE ?1 IS NULL OR workspace_id = ?1 ORDER BY workspace_id, name",
                arguments: [workspace]
            ).map(SQLiteRows.agent)
        }
    }

    /// Removes an agent of `workspace`; returns whether it existed.
    public func deleteAgent(named name: String, workspace: String) async throws -> Bool {
        try await writer.write { transaction in
            try transaction.db.execute(sql: "DELETE FROM agents WHERE workspace_id = ? AND name = ?", arguments: [workspace, name])
            return transaction.db.changesCount > 0
        }
    }

    /// The pacing of every agent of `workspace` (of every workspace with `nil`) at `now`.
    public func agentPacing(workspace: String?, now: Date) async throws -> [AgentPacing] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.workspace_id, a.name, COALESCE(a.quota_group, a.name) AS quota_group, a.rate_limit, a.rate_window,
                        a.rate_tokens, a.rate_at, p.parked_until, p.reason
                    FROM agents a LEFT JOIN quota_parks p ON p.workspace_id = a.workspace_id AND p.quota_group = COALESCE(a.quota_group, a.name)
                    WHERE ?1 IS NULL OR a.workspace_id = ?1 ORDER BY a.workspace_id, a.name
                    """,
                arguments: [workspace]
            ).map { row in
                let limit: Int? = row["rate_limit"]
                let window: Double? = row["rate_window"]
                let until: Double? = row["parked_until"]
                let reason: String? = row["reason"]
                return AgentPacing(
                    agent: ScopedName(workspace: row["workspace_id"], name: row["name"]), quotaGroup: row["quota_group"],
                    rate: limit.flatMap { limit in window.map { AgentRate(limit: limit, window: $0) } },
                    bucketTokens: row["rate_tokens"], bucketAt: row["rate_at"], park: until.map { ($0, reason ?? "") }, now: now)
            }
        }
    }

    /// Ends the park of quota group `group` of `workspace`; answers whether it was parked.
    public func unpark(group: String, workspace: String, now: Date) async throws -> Bool {
        try await writer.write { transaction in
            let until = try Double.fetchOne(
                transaction.db, sql: "SELECT parked_until FROM quota_parks WHERE workspace_id = ? AND quota_group = ?", arguments: [workspace, group])
            try transaction.db.execute(sql: "DELETE FROM quota_parks WHERE workspace_id = ? AND quota_group = ?", arguments: [workspace, group])
            return (until ?? 0) > now.timeIntervalSince1970
        }
    }

    /// Sets (or with `nil` removes) the concurrency limit of a lane of `workspace`.
    public func setLaneLimit(_ lane: String, concurrency: Int?, workspace: String) async throws {
        if let concurrency { try Lane.validate(concurrency: concurrency) }
        try await writer.write { transaction in
            if let concurrency {
                try transaction.db.execute(
                    sql: """
                        INSERT INTO lanes (workspace_id, name, concurrency) VALUES (?, ?, ?)
                        ON CONFLICT (workspace_id, name) DO UPDATE SET concurrency = excluded.concurrency
                        """,
                    arguments: [workspace, lane, concurrency])
            } else {
                try transaction.db.execute(sql: "DELETE FROM lanes WHERE workspace_id = ? AND name = ?", arguments: [workspace, lane])
            }
        }
    }
}
