import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Queues a task (see ``TaskStore/submit(_:now:)``).
    public func submit(_ new: NewTask, now: Date) async throws -> SubmitResult {
        try new.validate()
        let maxDepth = configuration.maxQueueDepth
        return try await write { transaction in
            try await transaction.submit(new, now: now, maxDepth: maxDepth)
        }
    }

    /// Queues many tasks in one transaction; one bad task fails them all and writes nothing.
    public func submitAll(_ tasks: [NewTask], now: Date) async throws -> [SubmitResult] {
        for (index, task) in tasks.enumerated() {
            do { try task.validate() } catch {
                throw NightshiftError(error.code, error.message, field: "tasks[\(index)].\(error.field ?? "")")
            }
        }
        let maxDepth = configuration.maxQueueDepth
        return try await write { transaction in
            var results: [SubmitResult] = []
            for task in tasks { results.append(try await transaction.submit(task, now: now, maxDepth: maxDepth)) }
            return results
        }
    }
}

extension Transaction {
    func submit(_ new: NewTask, now: Date, maxDepth: Int?) async throws -> SubmitResult {
        // Submits run one at a time across nodes (they hold the hook stream's lock from here on), so
        // the idempotency, dedup and depth checks below see every earlier submit's commit.
        try await lockHookStream()
        if let key = new.idempotencyKey {
            var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE workspace_id = ")
            sql.append(.text(new.workspaceID))
            sql.append(" AND idempotency_key = ")
            sql.append(.text(key))
            if let row = try await rows(sql).first { return .existingIdempotent(try PostgresRows.task(row)) }
        }
        let agents = try await rows(SQL("""
            SELECT timeout, max_attempts, initial_backoff, max_backoff, budget_usd, spent_usd FROM agents WHERE name = 
            """).appending(.text(new.agent)))
        guard let agent = agents.first else {
            throw NightshiftError.invalid("agent", "expected the name of a defined agent, got '\(new.agent)'")
        }
        if let refusal = Budget.submitRefusal(
            agent: new.agent, spent: try agent["spent_usd"].decode(Double.self), budget: try agent["budget_usd"].decode(Double?.self))
        {
            throw refusal
        }
        if let key = new.dedupKey {
            var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE workspace_id = ")
            sql.append(.text(new.workspaceID))
            sql.append(" AND dedup_key = ")
            sql.append(.text(key))
            sql.append(" AND state IN ('queued', 'running', 'waiting', 'paused')")
            if let row = try await rows(sql).first { return .existingDedup(try PostgresRows.task(row)) }
        }
        if let maxDepth {
            let depth = try await rows("SELECT count(*) AS n FROM tasks WHERE state IN ('queued', 'waiting', 'paused')")
                .first.map { try $0["n"].decode(Int.self) } ?? 0
            if depth >= maxDepth {
                throw NightshiftError(.queueFull, "queue is full: \(depth) tasks waiting to run, the cap is \(maxDepth)")
            }
        }
        let id = TaskID.generate(at: now)
        let state = try Lifecycle.next(from: nil, on: .submit, task: id)
        let retry = try new.retry ?? PostgresRows.retry(agent)
        let timeout = try new.timeout ?? agent["timeout"].decode(Double?.self)
        let time = now.timeIntervalSince1970
        let availableAt = max(new.availableAt?.timeIntervalSince1970 ?? time, time)
        var insert = SQL("""
            INSERT INTO tasks (id, workspace_id, agent, prompt, payload, priority, lane, labels, origin_channel,
                origin_session, idempotency_key, dedup_key, budget_usd, timeout, max_attempts, initial_backoff,
                max_backoff, available_at, state, last_seq, created_at, updated_at)
            VALUES (
            """)
        insert.append(list: [
            .text(id.rawValue), .text(new.workspaceID), .text(new.agent), .text(new.prompt), .text(new.payload.jsonText),
            .int(new.priority), .text(new.lane), .text(JSONValue.array(new.labels.map(JSONValue.string)).jsonText),
            .text(new.origin?.channel), .text(new.origin?.session), .text(new.idempotencyKey), .text(new.dedupKey),
            .double(new.budgetUSD), .double(timeout), .int(retry.maxAttempts), .double(retry.initialBackoff),
            .double(retry.maxBackoff), .double(availableAt), .text(state.rawValue), .int(1), .double(time), .double(time),
        ])
        insert.append(")")
        try await rows(insert)
        try await record(task: id, agent: new.agent, from: nil, to: state, action: .submit, seq: 1, details: [:], now: now)
        return .inserted(AgentTask(
            id: id, workspaceID: new.workspaceID, agent: new.agent, prompt: new.prompt, payload: new.payload,
            priority: new.priority, lane: new.lane, labels: new.labels, origin: new.origin,
            idempotencyKey: new.idempotencyKey, dedupKey: new.dedupKey, budgetUSD: new.budgetUSD, timeout: timeout,
            retry: retry, availableAt: Date(timeIntervalSince1970: availableAt), state: state, attempt: 0, failures: 0,
            createdAt: now, updatedAt: now, finishedAt: nil, result: nil, error: nil, costUSD: 0))
    }
}
