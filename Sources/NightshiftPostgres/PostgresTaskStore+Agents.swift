import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Creates or replaces an agent profile.
    public func saveAgent(_ agent: Agent) async throws {
        try agent.validate()
        try await write { transaction in
            var sql = SQL("""
                INSERT INTO agents (name, runner, config, concurrency, timeout, max_attempts, initial_backoff, max_backoff,
                    budget_usd, inject_memories, updated_at)
                VALUES (
                """)
            sql.append(list: [
                .text(agent.name), .text(agent.runner.rawValue), .text(agent.config.jsonText), .int(agent.concurrency),
                .double(agent.timeout), .int(agent.retry.maxAttempts), .double(agent.retry.initialBackoff),
                .double(agent.retry.maxBackoff), .double(agent.budgetUSD), .bool(agent.injectMemories),
                .double(Date().timeIntervalSince1970),
            ])
            sql.append("""
                ) ON CONFLICT (name) DO UPDATE SET runner = excluded.runner, config = excluded.config,
                    concurrency = excluded.concurrency, timeout = excluded.timeout, max_attempts = excluded.max_attempts,
                    initial_backoff = excluded.initial_backoff, max_backoff = excluded.max_backoff,
                    budget_usd = excluded.budget_usd, inject_memories = excluded.inject_memories, updated_at = excluded.updated_at
                """)
            try await transaction.rows(sql)
        }
    }

    /// The agent named `name`, if any.
    public func agent(named name: String) async throws -> Agent? {
        try await autocommit { transaction in
            try await transaction.rows(SQL("SELECT * FROM agents WHERE name = ").appending(.text(name))).first.map(PostgresRows.agent)
        }
    }

    /// Every agent, by name.
    public func agents() async throws -> [Agent] {
        try await autocommit { transaction in
            try await transaction.rows("SELECT * FROM agents ORDER BY name").map(PostgresRows.agent)
        }
    }

    /// Removes an agent; returns whether it existed.
    public func deleteAgent(named name: String) async throws -> Bool {
        try await write { transaction in
            try await !transaction.rows(SQL("DELETE FROM agents WHERE name = ").appending(.text(name), " RETURNING name")).isEmpty
        }
    }

    /// Sets (or with `nil` removes) a lane's concurrency limit.
    public func setLaneLimit(_ lane: String, concurrency: Int?) async throws {
        if let concurrency, concurrency < 1 {
            throw NightshiftError.invalid("concurrency", "expected an integer ≥ 1, got \(concurrency)")
        }
        try await write { transaction in
            if let concurrency {
                var sql = SQL("INSERT INTO lanes (name, concurrency) VALUES (")
                sql.append(list: [.text(lane), .int(concurrency)])
                sql.append(") ON CONFLICT (name) DO UPDATE SET concurrency = excluded.concurrency")
                try await transaction.rows(sql)
            } else {
                try await transaction.rows(SQL("DELETE FROM lanes WHERE name = ").appending(.text(lane)))
            }
        }
    }
}
