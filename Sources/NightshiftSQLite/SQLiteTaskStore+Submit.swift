import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Queues a task (see ``TaskStore/submit(_:now:)``).
    public func submit(_ new: NewTask, now: Date) async throws -> SubmitResult {
        try new.validate()
        let (maxDepth, subtasks) = (configuration.maxQueueDepth, configuration.subtasks)
        return try await writer.write { transaction in
            try transaction.submit(new, now: now, maxDepth: maxDepth, subtasks: subtasks)
        }
    }

    /// Queues many tasks in one transaction; one bad task fails them all and writes nothing.
    public func submitAll(_ tasks: [NewTask], now: Date) async throws -> [SubmitResult] {
        for (index, task) in tasks.enumerated() {
            do { try task.validate() } catch {
                throw NightshiftError(error.code, error.message, field: "tasks[\(index)].\(error.field ?? "")")
            }
        }
        let (maxDepth, subtasks) = (configuration.maxQueueDepth, configuration.subtasks)
        return try await writer.write { transaction in
            try tasks.map { try transaction.submit($0, now: now, maxDepth: maxDepth, subtasks: subtasks) }
        }
    }
}

extension WriteTransaction {
    /// Reads what ``SubmitPlan`` checks and writes what it decides.
    func submit(_ new: NewTask, now: Date, maxDepth: Int?, subtasks: SubtaskLimits = SubtaskLimits()) throws -> SubmitResult {
        var new = new
        var facts = SubmitFacts()
        if let key = new.idempotencyKey {
            facts.idempotent = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(SQLiteRows.taskColumns) FROM tasks WHERE workspace_id = ? AND idempotency_key = ?"),
                arguments: [new.workspaceID, key]
            ).map(SQLiteRows.task)
        }
        if facts.idempotent == nil, let parentID = new.parentID {
            facts.parent = try SQLiteRows.task(parentID, workspace: new.workspaceID, in: db)
            let children = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM tasks WHERE parent_id = ?"), arguments: [parentID.rawValue]) ?? 0
            new = try SubmitPlan.subtask(new, parent: facts.parent, children: children, limits: subtasks)
        }
        if facts.idempotent == nil {
            facts.agent = try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT timeout, max_attempts, initial_backoff, max_backoff, budget_usd, spent_usd, ask,
                        json_extract(document, '$.runner') AS runner, repo_lane FROM agents
                    WHERE workspace_id = ? AND name = ?
                    """),
                arguments: [new.workspaceID, new.agent]
            ).map { row in
                SubmitAgent(
                    timeout: row["timeout"],
                    retry: RetryPolicy(maxAttempts: row["max_attempts"], initialBackoff: row["initial_backoff"], maxBackoff: row["max_backoff"]),
                    budgetUSD: row["budget_usd"], spentUSD: row["spent_usd"], ask: AskPolicy(rawValue: row["ask"] ?? "") ?? .off,
                    runner: (row["runner"] as String?).map { RunnerKind($0) },
                    repoLane: row["repo_lane"])
            }
            new = SubmitPlan.inRepoLane(new, agent: facts.agent)
            if let key = new.dedupKey {
                facts.dedup = try Row.fetchOne(
                    db.cachedStatement(sql: """
                        SELECT \(SQLiteRows.taskColumns) FROM tasks WHERE workspace_id = ? AND dedup_key = ?
                        AND state IN ('queued', 'running', 'waiting', 'paused')
                        """),
                    arguments: [new.workspaceID, key]
                ).map(SQLiteRows.task)
            }
            if maxDepth != nil { facts.depth = try queueDepth() }
        }
        let task: AgentTask
        switch try SubmitPlan(new, facts: facts, maxDepth: maxDepth, now: now) {
        case .existing(let result): return result
        case .insert(let planned): task = planned
        }
        let time = now.timeIntervalSince1970
        try db.cachedStatement(sql: """
            INSERT INTO tasks (id, workspace_id, agent, prompt, payload, priority, lane, labels, origin_channel,
                origin_session, idempotency_key, dedup_key, budget_usd, timeout, max_attempts, initial_backoff,
                max_backoff, available_at, state, last_seq, created_at, updated_at, parent_id, subtask_depth, ask, schedule_id,
                scheduled_for, origin_thread, origin_notify, policy, trace_parent)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                task.id.rawValue, task.workspaceID, task.agent, task.prompt, task.payload.jsonText, task.priority, task.lane,
                JSONValue.array(task.labels.map(JSONValue.string)).jsonText, task.origin?.channel, task.origin?.session,
                task.idempotencyKey, task.dedupKey, task.budgetUSD, task.timeout, task.retry.maxAttempts, task.retry.initialBackoff,
                task.retry.maxBackoff, task.availableAt.timeIntervalSince1970, task.state.rawValue, time, time,
                task.parentID?.rawValue, task.subtaskDepth, task.ask?.rawValue, task.scheduleID,
                task.scheduledFor?.timeIntervalSince1970, task.origin?.thread, task.origin.map(\.notify),
                task.policy?.json.jsonText, task.traceParent,
            ])
        try recordTransition(task: task.id, workspace: task.workspaceID, agent: task.agent, from: nil, to: task.state, action: .submit, seq: 1, now: now, details: [:])
        if SubmitPlan.holds(new, agent: facts.agent) {
            try transition(
                TaskFacts(task, runID: nil, leaseToken: nil, lastSeq: 1), .hold, now: now,
                columns: [BatchColumn("waiting_for")], values: [SubmitPlan.approvalBeforeRun.json.jsonText])
            return .inserted(try self.task(task.id) ?? task)
        }
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
