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
        let (maxDepth, subtasks) = (configuration.maxQueueDepth, configuration.subtasks)
        if maxDepth == nil, new.parentID == nil, new.ask == nil, let task = try await autocommit({ try await $0.insert(new, now: now, unbudgetedOnly: true) }) {
            return .inserted(task)
        }
        return try await write { transaction in
            try await transaction.submit(new, now: now, maxDepth: maxDepth, subtasks: subtasks)
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
        return try await write { transaction in
            var results: [SubmitResult] = []
            for task in tasks { results.append(try await transaction.submit(task, now: now, maxDepth: maxDepth, subtasks: subtasks)) }
            return results
        }
    }
}

extension Transaction {
    /// Reads what ``SubmitPlan`` checks (idempotency key, agent and budget, dedup key, depth) and
    /// inserts the task if the plan says so.
    func submit(_ new: NewTask, now: Date, maxDepth: Int?, subtasks: SubtaskLimits = SubtaskLimits()) async throws -> SubmitResult {
        // Checked submits run one at a time across nodes (they hold the checked writers' lock
        // from here on), so the depth check below sees every earlier submit's commit.
        try await lockCheckedWriters()
        var new = new
        var facts = SubmitFacts()
        facts.idempotent = try await keyHolder(new, idempotency: true)
        if facts.idempotent == nil, let parentID = new.parentID {
            // The parent's row lock holds its state and its children's count until this commits.
            facts.parent = try await lockedFacts(parentID) == nil ? nil : try await task(parentID, workspace: new.workspaceID)
            var count = SQL("SELECT count(*) AS n FROM tasks WHERE parent_id = ")
            count.append(.text(parentID.rawValue))
            let children = try await rows(count).first.map { try $0["n"].decode(Int.self) } ?? 0
            new = try SubmitPlan.subtask(new, parent: facts.parent, children: children, limits: subtasks)
        }
        if facts.idempotent == nil {
            var lookup = SQL("SELECT timeout, max_attempts, initial_backoff, max_backoff, budget_usd, spent_usd, ask, document->>'runner' AS runner, repo_lane FROM agents WHERE workspace_id = ")
            lookup.append(.text(new.workspaceID))
            lookup.append(" AND name = ")
            lookup.append(.text(new.agent))
            facts.agent = try await rows(lookup).first.map { row in
                SubmitAgent(
                    timeout: try row["timeout"].decode(Double?.self), retry: try PostgresRows.retry(row),
                    budgetUSD: try row["budget_usd"].decode(Double?.self), spentUSD: try row["spent_usd"].decode(Double.self),
                    ask: AskPolicy(rawValue: try row["ask"].decode(String?.self) ?? "") ?? .off,
                    runner: try row["runner"].decode(String?.self).map { RunnerKind($0) },
                    repoLane: try row["repo_lane"].decode(String?.self))
            }
            new = SubmitPlan.inRepoLane(new, agent: facts.agent)
            facts.dedup = try await keyHolder(new, idempotency: false)
            if maxDepth != nil { facts.depth = try await queueDepth() }
        }
        // The insert takes the plan's defaults from the agent's row itself (see ``insert(_:now:unbudgetedOnly:)``).
        if case .existing(let result) = try SubmitPlan(new, facts: facts, maxDepth: maxDepth, now: now) { return result }
        if let task = try await insert(new, now: now, unbudgetedOnly: false, subtaskDepth: facts.parent.map { $0.subtaskDepth + 1 } ?? 0) {
            guard SubmitPlan.holds(new, agent: facts.agent) else { return .inserted(task) }
            try await move(
                TaskFacts(task, runID: nil, leaseToken: nil, lastSeq: 1), .hold,
                set: [(Self.taskColumn("waiting_for"), .text(SubmitPlan.approvalBeforeRun.json.jsonText))], now: now)
            return .inserted(try await self.task(task.id) ?? task)
        }
        // A submit that did not take the lock committed the same key in the meantime.
        if let task = try await keyHolder(new, idempotency: true) { return .existingIdempotent(task) }
        if let task = try await keyHolder(new, idempotency: false) { return .existingDedup(task) }
        throw NightshiftError(.storeUnavailable, "task could not be queued: a concurrent submit holds one of its keys")
    }

    /// The columns ``insert(_:now:unbudgetedOnly:)`` fills, in the order of its values.
    private static let insertedColumns = """
        id, workspace_id, agent, prompt, payload, priority, lane, labels, origin_channel, origin_session, idempotency_key, \
        dedup_key, budget_usd, timeout, max_attempts, initial_backoff, max_backoff, available_at, state, last_seq, created_at, \
        updated_at, parent_id, subtask_depth, ask, schedule_id, scheduled_for, origin_thread, origin_notify, policy, trace_parent
        """

    /// The task that holds `new`'s idempotency key (or, with `idempotency` false, the live task
    /// that holds its dedup key) in its workspace, if any.
    private func keyHolder(_ new: NewTask, idempotency: Bool) async throws -> AgentTask? {
        guard let key = idempotency ? new.idempotencyKey : new.dedupKey else { return nil }
        var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE workspace_id = ")
        sql.append(.text(new.workspaceID))
        sql.append(idempotency ? " AND idempotency_key = " : " AND dedup_key = ")
        sql.append(.text(key))
        if !idempotency { sql.append(" AND state IN ('queued', 'running', 'waiting', 'paused')") }
        return try await rows(sql).first.map(PostgresRows.task)
    }

    /// Inserts `new` with its `submit` event and hook event in one statement, taking the agent's
    /// defaults for what `new` leaves out. Inserts nothing, and returns `nil`, when the agent does
    /// not exist, when one of the task's keys is taken, or (with `unbudgetedOnly`) when the agent
    /// has a budget.
    func insert(_ new: NewTask, now: Date, unbudgetedOnly: Bool, subtaskDepth: Int = 0) async throws -> AgentTask? {
        let id = TaskID.generate(at: now)
        let state = try Lifecycle.next(from: nil, on: .submit, task: id)
        let availableAt = max(new.availableAt?.timeIntervalSince1970 ?? now.timeIntervalSince1970, now.timeIntervalSince1970)
        // Each value bound with its type (NULLs included, through the placeholder's cast), so the
        // statement's text is always the same and is prepared once per connection. The task is
        // inserted straight from the agent's row, which supplies the defaults (no CTE of the new
        // values: that plan cost the server ~0.02 ms more per submit, as did one JSON parameter
        // read with jsonb_to_record).
        let agent = new.agent
        var sql = SQL("WITH moved AS (INSERT INTO tasks (\(Self.insertedColumns)) SELECT ")
        let time = sql.bind(.double(now.timeIntervalSince1970))
        let values: [String] = [
            sql.bind(.text(id.rawValue)), sql.bind(.text(new.workspaceID)), "agents.name", sql.bind(.text(new.prompt)),
            sql.bind(.text(new.payload.jsonText)), sql.bind(.int(new.priority)), sql.bind(.text(new.lane)),
            sql.bind(.text(JSONValue.array(new.labels.map(JSONValue.string)).jsonText)), sql.bind(.text(new.origin?.channel)),
            sql.bind(.text(new.origin?.session)), sql.bind(.text(new.idempotencyKey)), sql.bind(.text(new.dedupKey)),
            sql.bind(.double(new.budgetUSD)), "COALESCE(\(sql.bind(.double(new.timeout))), agents.timeout)",
            "COALESCE(\(sql.bind(.int(new.retry?.maxAttempts))), agents.max_attempts)",
            "COALESCE(\(sql.bind(.double(new.retry?.initialBackoff))), agents.initial_backoff)",
            "COALESCE(\(sql.bind(.double(new.retry?.maxBackoff))), agents.max_backoff)",
            sql.bind(.double(availableAt)), sql.bind(.text(state.rawValue)), "1", time, time,
            sql.bind(.text(new.parentID?.rawValue)), sql.bind(.int(subtaskDepth)), sql.bind(.text(new.ask?.rawValue)),
            sql.bind(.text(new.scheduleID)), sql.bind(.double(new.scheduledFor?.timeIntervalSince1970)),
            sql.bind(.text(new.origin?.thread)), sql.bind(.bool(new.origin.map(\.notify))),
            sql.bind(.text(new.policy?.json.jsonText)), sql.bind(.text(new.traceParent)),
        ]
        sql.append(values.joined(separator: ", "))
        sql.append(" FROM agents WHERE agents.workspace_id = ")
        sql.append(.text(new.workspaceID))
        sql.append(" AND agents.name = ")
        sql.append(.text(agent))
        // The one-statement path: an agent with a budget, or whose tasks ask first, takes the checked one.
        // So does one whose repository caps its tasks (they take its lane).
        if unbudgetedOnly {
            sql.append(" AND agents.budget_usd IS NULL AND agents.ask IS DISTINCT FROM 'always' AND agents.repo_lane IS NULL")
        }
        // A task with a key may meet a live one holding it: then nothing is inserted. A task
        // without keys has only its new id to clash on, so it skips the arbiter checks, which
        // cost the server ~0.01 ms per submit.
        if new.idempotencyKey != nil || new.dedupKey != nil { sql.append(" ON CONFLICT DO NOTHING") }
        sql.append(" RETURNING id, workspace_id, timeout, max_attempts, initial_backoff, max_backoff)")
        let record = TransitionRecord(task: id, workspace: new.workspaceID, agent: agent, from: nil, to: state, action: .submit, seq: 1)
        sql.append(", moves AS (SELECT id, workspace_id, 0::bigint AS from_seq, 1::bigint AS ord, ")
        sql.append(.text(record.eventData))
        sql.append(" AS event, ")
        sql.append(.text(record.hookType))
        sql.append(" AS hook_type, ")
        sql.append(.text(record.hookData))
        // From `moved`: nothing is recorded when nothing was inserted.
        sql.append(" AS hook FROM moved)")
        // Its own NOTIFY (`queued`) tells the feed's listeners too: no coalesced notice needed.
        Self.appendRecords(to: &sql, time: time, runs: RunCounts(), notify: true, notifyGate: "moved")
        sql.append(" SELECT timeout, max_attempts, initial_backoff, max_backoff FROM moved, (SELECT count(*) FROM notified) AS n")
        guard let row = try await rows(sql).first else { return nil }
        var task = AgentTask(
            id: id, workspaceID: new.workspaceID, agent: new.agent, prompt: new.prompt, payload: new.payload,
            priority: new.priority, lane: new.lane, labels: new.labels, origin: new.origin,
            idempotencyKey: new.idempotencyKey, dedupKey: new.dedupKey, budgetUSD: new.budgetUSD,
            timeout: try row["timeout"].decode(Double?.self), retry: try PostgresRows.retry(row),
            availableAt: Date(timeIntervalSince1970: availableAt), state: state, attempt: 0, failures: 0,
            createdAt: now, updatedAt: now, finishedAt: nil, result: nil, error: nil, costUSD: 0,
            parentID: new.parentID, subtaskDepth: subtaskDepth, ask: new.ask, scheduleID: new.scheduleID,
            scheduledFor: new.scheduledFor, policy: new.policy)
        task.traceParent = new.traceParent
        return task
    }
}
