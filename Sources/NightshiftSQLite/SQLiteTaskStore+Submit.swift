import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Queues a task (see ``TaskStore/submit(_:now:)``).
    public func submit(_ new: NewTask, now: Date) async throws -> SubmitResult {
        try new.validate()
        let maxDepth = configuration.maxQueueDepth
        return try await writer.write { transaction in
            try transaction.submit(new, now: now, maxDepth: maxDepth)
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
        return try await writer.write { transaction in
            try tasks.map { try transaction.submit($0, now: now, maxDepth: maxDepth) }
        }
    }
}

extension WriteTransaction {
    func submit(_ new: NewTask, now: Date, maxDepth: Int?) throws -> SubmitResult {
        if let key = new.idempotencyKey,
           let row = try Row.fetchOne(
               db.cachedStatement(sql: "SELECT \(SQLiteRows.taskColumns) FROM tasks WHERE workspace_id = ? AND idempotency_key = ?"),
               arguments: [new.workspaceID, key])
        {
            return .existingIdempotent(try SQLiteRows.task(row))
        }
        guard let agentRow = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT timeout, max_attempts, initial_backoff, max_backoff, budget_usd, spent_usd FROM agents WHERE workspace_id = ? AND name = ?"),
            arguments: [new.workspaceID, new.agent])
        else {
            throw NightshiftError.invalid("agent", "expected the name of a defined agent, got '\(new.agent)'")
        }
        if let refusal = Budget.submitRefusal(agent: new.agent, spent: agentRow["spent_usd"], budget: agentRow["budget_usd"]) {
            throw refusal
        }
        if let key = new.dedupKey,
           let row = try Row.fetchOne(
               db.cachedStatement(sql: """
                   SELECT \(SQLiteRows.taskColumns) FROM tasks WHERE workspace_id = ? AND dedup_key = ?
                   AND state IN ('queued', 'running', 'waiting', 'paused')
                   """),
               arguments: [new.workspaceID, key])
        {
            return .existingDedup(try SQLiteRows.task(row))
        }
        if let maxDepth {
            let depth = try queueDepth()
            if depth >= maxDepth {
                throw NightshiftError.queueFull(depth: depth, cap: maxDepth)
            }
        }
        let id = TaskID.generate(at: now)
        let state = try Lifecycle.next(from: nil, on: .submit, task: id)
        let retry = new.retry ?? RetryPolicy(
            maxAttempts: agentRow["max_attempts"], initialBackoff: agentRow["initial_backoff"], maxBackoff: agentRow["max_backoff"])
        let timeout: Double? = new.timeout ?? agentRow["timeout"]
        let time = now.timeIntervalSince1970
        let availableAt = max(new.availableAt?.timeIntervalSince1970 ?? time, time)
        try db.cachedStatement(sql: """
            INSERT INTO tasks (id, workspace_id, agent, prompt, payload, priority, lane, labels, origin_channel,
                origin_session, idempotency_key, dedup_key, budget_usd, timeout, max_attempts, initial_backoff,
                max_backoff, available_at, state, last_seq, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
            """).execute(arguments: [
                id.rawValue, new.workspaceID, new.agent, new.prompt, new.payload.jsonText, new.priority, new.lane,
                JSONValue.array(new.labels.map(JSONValue.string)).jsonText, new.origin?.channel, new.origin?.session,
                new.idempotencyKey, new.dedupKey, new.budgetUSD, timeout, retry.maxAttempts, retry.initialBackoff,
                retry.maxBackoff, availableAt, state.rawValue, time, time,
            ])
        try recordTransition(task: id, workspace: new.workspaceID, agent: new.agent, from: nil, to: state, action: .submit, seq: 1, now: now, details: [:])
        let task = AgentTask(
            id: id, workspaceID: new.workspaceID, agent: new.agent, prompt: new.prompt, payload: new.payload,
            priority: new.priority, lane: new.lane, labels: new.labels, origin: new.origin,
            idempotencyKey: new.idempotencyKey, dedupKey: new.dedupKey, budgetUSD: new.budgetUSD, timeout: timeout,
            retry: retry, availableAt: Date(timeIntervalSince1970: availableAt), state: state, attempt: 0, failures: 0,
            createdAt: now, updatedAt: now, finishedAt: nil, result: nil, error: nil, costUSD: 0)
        return .inserted(task)
    }

    /// Tasks waiting to run (queued, waiting, paused), counting this batch's changes.
    func queueDepth() throws -> Int {
        let stored = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT SUM(n) FROM state_counts WHERE state IN ('queued', 'waiting', 'paused')")) ?? 0
        let pending = [TaskState.queued, .waiting, .paused].reduce(0) { $0 + (stateDeltas[$1] ?? 0) }
        return stored + pending
    }
}
