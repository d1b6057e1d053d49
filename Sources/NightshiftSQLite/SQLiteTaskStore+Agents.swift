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
                        max_backoff, budget_usd, updated_at, ask)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (workspace_id, name) DO UPDATE SET document = excluded.document,
                        concurrency = excluded.concurrency, timeout = excluded.timeout, max_attempts = excluded.max_attempts,
                        initial_backoff = excluded.initial_backoff, max_backoff = excluded.max_backoff,
                        budget_usd = excluded.budget_usd, updated_at = excluded.updated_at, ask = excluded.ask
                    """,
                arguments: [
                    agent.workspaceID, agent.name, document, agent.concurrency, agent.timeout, agent.retry.maxAttempts,
                    agent.retry.initialBackoff, agent.retry.maxBackoff, agent.budgetUSD, Date().timeIntervalSince1970,
                    agent.ask.rawValue,
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
