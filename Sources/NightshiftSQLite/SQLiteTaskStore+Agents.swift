import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Creates or replaces an agent profile.
    public func saveAgent(_ agent: Agent) async throws {
        try agent.validate()
        try await writer.write { transaction in
            try transaction.db.execute(
                sql: """
                    INSERT INTO agents (name, runner, config, concurrency, timeout, max_attempts, initial_backoff, max_backoff,
                        budget_usd, inject_memories, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET runner = excluded.runner, config = excluded.config,
                        concurrency = excluded.concurrency, timeout = excluded.timeout, max_attempts = excluded.max_attempts,
                        initial_backoff = excluded.initial_backoff, max_backoff = excluded.max_backoff,
                        budget_usd = excluded.budget_usd, inject_memories = excluded.inject_memories, updated_at = excluded.updated_at
                    """,
                arguments: [
                    agent.name, agent.runner.rawValue, agent.config.jsonText, agent.concurrency, agent.timeout,
                    agent.retry.maxAttempts, agent.retry.initialBackoff, agent.retry.maxBackoff, agent.budgetUSD,
                    agent.injectMemories, Date().timeIntervalSince1970,
                ])
        }
    }

    /// The agent named `name`, if any.
    public func agent(named name: String) async throws -> Agent? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM agents WHERE name = ?", arguments: [name]).map(SQLiteRows.agent)
        }
    }

    /// Every agent, by name.
    public func agents() async throws -> [Agent] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM agents ORDER BY name").map(SQLiteRows.agent)
        }
    }

    /// Removes an agent; returns whether it existed.
    public func deleteAgent(named name: String) async throws -> Bool {
        try await writer.write { transaction in
            try transaction.db.execute(sql: "DELETE FROM agents WHERE name = ?", arguments: [name])
            return transaction.db.changesCount > 0
        }
    }

    /// Sets (or with `nil` removes) a lane's concurrency limit.
    public func setLaneLimit(_ lane: String, concurrency: Int?) async throws {
        if let concurrency, concurrency < 1 {
            throw NightshiftError.invalid("concurrency", "expected an integer ≥ 1, got \(concurrency)")
        }
        try await writer.write { transaction in
            if let concurrency {
                try transaction.db.execute(
                    sql: "INSERT INTO lanes (name, concurrency) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency",
                    arguments: [lane, concurrency])
            } else {
                try transaction.db.execute(sql: "DELETE FROM lanes WHERE name = ?", arguments: [lane])
            }
        }
    }
}
