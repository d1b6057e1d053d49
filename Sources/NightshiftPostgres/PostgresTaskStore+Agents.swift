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
                    budget_usd, updated_at, ask)
                VALUES (
                """)
            sql.append(list: [
                .text(agent.workspaceID), .text(agent.name), .json(document), .int(agent.concurrency), .double(agent.timeout),
                .int(agent.retry.maxAttempts), .double(agent.retry.initialBackoff), .double(agent.retry.maxBackoff),
                .double(agent.budgetUSD), .double(Date().timeIntervalSince1970), .text(agent.ask.rawValue),
            ])
            sql.append("""
                ) ON CONFLICT (workspace_id, name) DO UPDATE SET document = excluded.document,
                    concurrency = excluded.concurrency, timeout = excluded.timeout, max_attempts = excluded.max_attempts,
                    initial_backoff = excluded.initial_backoff, max_backoff = excluded.max_backoff,
                    budget_usd = excluded.budget_usd, updated_at = excluded.updated_at, ask = excluded.ask
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
