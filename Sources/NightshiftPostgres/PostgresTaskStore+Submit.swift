import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Queues a task (see ``TaskStore/submit(_:now:)``).
    ///
    /// Without a depth cap, a task for an agent with no budget is queued by one statement that
    /// commits on its own; keys already in use make it insert nothing. Everything else (a
    /// repeated key, an unknown agent, a budget, the depth cap) goes through a transaction that
    /// checks each rule in turn and says which one applied.
    public func submit(_ new: NewTask, now: Date) async throws -> SubmitResult {
        try new.validate()
        let maxDepth = configuration.maxQueueDepth
        if maxDepth == nil, let task = try await autocommit({ try await $0.insert(new, now: now, unbudgetedOnly: true) }) {
            return .inserted(task)
        }
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
    /// Queues `new` after checking, in order, its idempotency key, its agent and the agent's
    /// budget, its dedup key and the depth cap.
    func submit(_ new: NewTask, now: Date, maxDepth: Int?) async throws -> SubmitResult {
        // Checked submits run one at a time across nodes (they hold the checked writers' lock
        // from here on), so the depth check below sees every earlier submit's commit.
        try await lockCheckedWriters()
        if let existing = try await existing(new) { return existing }
        let agents = try await rows(SQL("SELECT budget_usd, spent_usd FROM agents WHERE name = ").appending(.text(new.agent)))
        guard let agent = agents.first else {
            throw NightshiftError.invalid("agent", "expected the name of a defined agent, got '\(new.agent)'")
        }
        if let refusal = Budget.submitRefusal(
            agent: new.agent, spent: try agent["spent_usd"].decode(Double.self), budget: try agent["budget_usd"].decode(Double?.self))
        {
            throw refusal
        }
        if let maxDepth {
            let depth = try await rows("SELECT count(*) AS n FROM tasks WHERE state IN ('queued', 'waiting', 'paused')")
                .first.map { try $0["n"].decode(Int.self) } ?? 0
            if depth >= maxDepth {
                throw NightshiftError(.queueFull, "queue is full: \(depth) tasks waiting to run, the cap is \(maxDepth)")
            }
        }
        if let task = try await insert(new, now: now, unbudgetedOnly: false) { return .inserted(task) }
        // A submit that did not take the lock committed the same key in the meantime.
        if let existing = try await existing(new) { return existing }
        throw NightshiftError(.storeUnavailable, "task could not be queued: a concurrent submit holds one of its keys")
    }

    /// The live task that a repeated idempotency key or dedup key of `new` returns, if any.
    private func existing(_ new: NewTask) async throws -> SubmitResult? {
        if let key = new.idempotencyKey {
            var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE workspace_id = ")
            sql.append(.text(new.workspaceID))
            sql.append(" AND idempotency_key = ")
            sql.append(.text(key))
            if let row = try await rows(sql).first { return .existingIdempotent(try PostgresRows.task(row)) }
        }
        if let key = new.dedupKey {
            var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE workspace_id = ")
            sql.append(.text(new.workspaceID))
            sql.append(" AND dedup_key = ")
            sql.append(.text(key))
            sql.append(" AND state IN ('queued', 'running', 'waiting', 'paused')")
            if let row = try await rows(sql).first { return .existingDedup(try PostgresRows.task(row)) }
        }
        return nil
    }

    /// Inserts `new` with its `submit` event and hook event in one statement, taking the agent's
    /// defaults for what `new` leaves out. Inserts nothing, and returns `nil`, when the agent does
    /// not exist, when one of the task's keys is taken, or (with `unbudgetedOnly`) when the agent
    /// has a budget.
    func insert(_ new: NewTask, now: Date, unbudgetedOnly: Bool) async throws -> AgentTask? {
        let id = TaskID.generate(at: now)
        let state = try Lifecycle.next(from: nil, on: .submit, task: id)
        let time = now.timeIntervalSince1970
        let availableAt = max(new.availableAt?.timeIntervalSince1970 ?? time, time)
        // Each value bound with its type (NULLs included, through the placeholder's cast), so the
        // statement's text is always the same and is prepared once per connection. (One JSON
        // parameter read with jsonb_to_record cost the server ~0.02 ms more per submit.)
        let values: [(String, SQLValue)] = [
            ("id", .text(id.rawValue)), ("workspace_id", .text(new.workspaceID)), ("agent", .text(new.agent)),
            ("prompt", .text(new.prompt)), ("payload", .text(new.payload.jsonText)), ("priority", .int(new.priority)),
            ("lane", .text(new.lane)), ("labels", .text(JSONValue.array(new.labels.map(JSONValue.string)).jsonText)),
            ("origin_channel", .text(new.origin?.channel)), ("origin_session", .text(new.origin?.session)),
            ("idempotency_key", .text(new.idempotencyKey)), ("dedup_key", .text(new.dedupKey)),
            ("budget_usd", .double(new.budgetUSD)), ("timeout", .double(new.timeout)),
            ("max_attempts", .int(new.retry?.maxAttempts)), ("initial_backoff", .double(new.retry?.initialBackoff)),
            ("max_backoff", .double(new.retry?.maxBackoff)), ("available_at", .double(availableAt)), ("state", .text(state.rawValue)),
        ]
        var sql = SQL("WITH new AS (SELECT ")
        var columns: [String] = []
        for (name, value) in values { columns.append("\(sql.bind(value)) AS \(name)") }
        sql.append(columns.joined(separator: ", "))
        sql.append("""
            ),
            agent AS (SELECT agents.timeout, agents.max_attempts, agents.initial_backoff, agents.max_backoff FROM agents, new
                WHERE agents.name = new.agent
            """)
        if unbudgetedOnly { sql.append(" AND agents.budget_usd IS NULL") }
        sql.append("""
            ), moved AS (INSERT INTO tasks (id, workspace_id, agent, prompt, payload, priority, lane, labels, origin_channel,
                origin_session, idempotency_key, dedup_key, budget_usd, timeout, max_attempts, initial_backoff,
                max_backoff, available_at, state, last_seq, created_at, updated_at)
            SELECT new.id, new.workspace_id, new.agent, new.prompt, new.payload, new.priority, new.lane, new.labels,
                new.origin_channel, new.origin_session, new.idempotency_key, new.dedup_key, new.budget_usd,
                COALESCE(new.timeout, agent.timeout), COALESCE(new.max_attempts, agent.max_attempts),
                COALESCE(new.initial_backoff, agent.initial_backoff), COALESCE(new.max_backoff, agent.max_backoff),
                new.available_at, new.state, 1, 
            """)
        let timePlaceholder = sql.bind(.double(time))
        sql.append("""
            \(timePlaceholder), \(timePlaceholder) FROM new, agent ON CONFLICT DO NOTHING
                RETURNING id, timeout, max_attempts, initial_backoff, max_backoff)
            """)
        let taskID = "(SELECT id FROM new)"
        let record = TransitionRecord(task: id, agent: new.agent, from: nil, to: state, action: .submit, seq: 1)
        sql.append(", moves AS (SELECT \(taskID) AS id, 0::bigint AS from_seq, 1::bigint AS ord, ")
        sql.append(.text(record.eventData))
        sql.append(" AS event, ")
        sql.append(.text(record.hookType))
        sql.append(" AS hook_type, ")
        sql.append(.text(record.hookData))
        sql.append(" AS hook)")
        Self.appendRecords(to: &sql, time: timePlaceholder, runs: RunCounts(), notify: true, gate: "moved")
        sql.append(" SELECT timeout, max_attempts, initial_backoff, max_backoff FROM moved, (SELECT count(*) FROM notified) AS n")
        guard let row = try await rows(sql).first else { return nil }
        return AgentTask(
            id: id, workspaceID: new.workspaceID, agent: new.agent, prompt: new.prompt, payload: new.payload,
            priority: new.priority, lane: new.lane, labels: new.labels, origin: new.origin,
            idempotencyKey: new.idempotencyKey, dedupKey: new.dedupKey, budgetUSD: new.budgetUSD,
            timeout: try row["timeout"].decode(Double?.self), retry: try PostgresRows.retry(row),
            availableAt: Date(timeIntervalSince1970: availableAt), state: state, attempt: 0, failures: 0,
            createdAt: now, updatedAt: now, finishedAt: nil, result: nil, error: nil, costUSD: 0)
    }
}
