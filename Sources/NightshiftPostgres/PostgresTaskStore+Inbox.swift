import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Adds an input to a task's inbox (see ``TaskInbox/addInput(_:to:now:workspace:)``).
    public func addInput(_ input: NewInput, to id: TaskID, now: Date, workspace: String?) async throws -> InputReceipt {
        try input.validate()
        return try await write { transaction in
            // The task's row lock orders inputs of one task, and their seq with them.
            guard let facts = try await transaction.lockedFacts(id), workspace == nil || facts.workspace == workspace else {
                throw NightshiftError.taskNotFound(id)
            }
            if let key = input.idempotencyKey, let first = try await transaction.input(task: id, key: key, taskState: facts.state) {
                guard let task = try await transaction.task(id) else { throw NightshiftError.taskNotFound(id) }
                return InputReceipt(input: first, created: false, task: task)
            }
            let plan = try InputPlan(input, on: facts)
            // The wake first: it moves the task from the facts just read; the input's event follows.
            if plan.wakes { try await transaction.apply(.wake, to: facts, now: now, maxQueueDepth: nil) }
            if let reason = plan.dropReason { try await transaction.apply(.drop, to: facts, now: now, maxQueueDepth: nil, reason: reason) }
            let stored = try await transaction.insertInput(plan.stamped(input), task: id, workspace: facts.workspace, now: now)
            guard let task = try await transaction.task(id) else { throw NightshiftError.taskNotFound(id) }
            return InputReceipt(input: stored, created: true, task: task)
        }
    }

    /// A task's inputs in order (see ``TaskInbox/inputs(of:workspace:)``).
    public func inputs(of id: TaskID, workspace: String?) async throws -> [TaskInput] {
        try await autocommit { transaction in
            guard let task = try await transaction.task(id, workspace: workspace) else { throw NightshiftError.taskNotFound(id) }
            var sql = SQL("SELECT \(PostgresRows.inputColumns) FROM task_inputs WHERE task_id = ")
            sql.append(.text(id.rawValue))
            sql.append(" ORDER BY seq")
            return try await transaction.rows(sql).map { try PostgresRows.input($0, taskState: task.state) }
        }
    }

    /// Hands the pending inputs to the run holding `lease` (see ``TaskInbox/deliverInputs(_:how:now:)``).
    public func deliverInputs(_ lease: Lease, how: InputDelivery, now: Date) async throws -> [TaskInput]? {
        try await write { transaction in
            // The fence, and the row lock that orders this against an input being added.
            guard try await transaction.holds(lease, lock: "FOR UPDATE") else { return nil }
            var sql = SQL("UPDATE task_inputs SET delivery = ")
            sql.append(.text(how.rawValue))
            sql.append(", delivered_at = ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(", run_id = ")
            sql.append(.text(lease.runID))
            sql.append(" WHERE task_id = ")
            sql.append(.text(lease.taskID.rawValue))
            sql.append(" AND delivery = 'pending' RETURNING \(PostgresRows.inputColumns)")
            let delivered = try await transaction.rows(sql).map { try PostgresRows.input($0) }.sorted { $0.seq < $1.seq }
            guard !delivered.isEmpty else { return [] }
            var reset = SQL("UPDATE tasks SET pending_inputs = 0 WHERE id = ")
            reset.append(.text(lease.taskID.rawValue))
            try await transaction.rows(reset)
            let event = NewTaskEvent(
                taskID: lease.taskID, type: "input_delivered",
                data: ["how": .string(how.rawValue), "run_id": .string(lease.runID), "inputs": .array(delivered.map { .string($0.id) })],
                time: now)
            try await transaction.appendEvents(task: lease.taskID, [event], fencedBy: lease)
            return delivered
        }
    }
}

extension Transaction {
    /// Puts back in the inbox the inputs a released run took by resume when its agent never
    /// started (no process recorded): nobody read them (see ``SettlePlan/released``).
    func returnInputs(task: TaskID, run: String) async throws {
        var sql = SQL("WITH returned AS (UPDATE task_inputs SET delivery = 'pending', delivered_at = NULL, run_id = NULL WHERE task_id = ")
        let taskValue = sql.bind(.text(task.rawValue))
        let runValue = sql.bind(.text(run))
        sql.append("""
            \(taskValue) AND run_id = \(runValue) AND delivery = 'delivered_resume'
            AND EXISTS (SELECT 1 FROM runs WHERE runs.task_id = \(taskValue) AND runs.id = \(runValue) AND runs.agent_process IS NULL)
            RETURNING 1)
            UPDATE tasks SET pending_inputs = pending_inputs + (SELECT count(*) FROM returned) WHERE id = \(taskValue)
            """)
        try await rows(sql)
    }

    /// The input of `task` sent with idempotency key `key`, if any.
    func input(task: TaskID, key: String, taskState: TaskState) async throws -> TaskInput? {
        var sql = SQL("SELECT \(PostgresRows.inputColumns) FROM task_inputs WHERE task_id = ")
        sql.append(.text(task.rawValue))
        sql.append(" AND idempotency_key = ")
        sql.append(.text(key))
        return try await rows(sql).first.map { try PostgresRows.input($0, taskState: taskState) }
    }

    /// Stores `input` as the task's next (the task's row is locked by this transaction), counts it
    /// pending and appends its `input` event.
    func insertInput(_ input: NewInput, task: TaskID, workspace: String, now: Date) async throws -> TaskInput {
        let id = UUIDv7.generate(at: now)
        var sql = SQL("""
            INSERT INTO task_inputs (task_id, seq, id, workspace_id, kind, text, decisions, sender, idempotency_key, created_at)
            SELECT
            """)
        sql.append(" ")
        let taskValue = sql.bind(.text(task.rawValue))
        sql.append("\(taskValue), COALESCE((SELECT MAX(seq) FROM task_inputs WHERE task_id = \(taskValue)), 0) + 1, ")
        sql.append(list: [
            .text(id), .text(workspace), .text(input.kind.rawValue), .text(input.text), .text(input.decisions?.jsonText), .text(input.sender),
            .text(input.idempotencyKey), .double(now.timeIntervalSince1970),
        ])
        sql.append(" RETURNING seq")
        let seq = try await rows(sql).first.map { try $0["seq"].decode(Int.self) } ?? 1
        var count = SQL("UPDATE tasks SET pending_inputs = pending_inputs + 1 WHERE id = ")
        count.append(.text(task.rawValue))
        try await rows(count)
        let stored = TaskInput(
            id: id, taskID: task, workspaceID: workspace, seq: seq, kind: input.kind, text: input.text, decisions: input.decisions,
            sender: input.sender, idempotencyKey: input.idempotencyKey, createdAt: now, delivery: .pending, deliveredAt: nil, runID: nil)
        try await appendEvents(task: task, [NewTaskEvent(taskID: task, type: "input", data: stored.eventData, time: now)])
        // Numbered by the hook sequencer; the store's notice after this write tells every node.
        hooks.mark()
        var hook = SQL("INSERT INTO hook_pending (time, task_id, type, data, workspace_id) VALUES (")
        hook.append(list: [.double(now.timeIntervalSince1970), .text(task.rawValue), .text(HookEvent.inputType), .text(stored.hookData.jsonText), .text(workspace)])
        hook.append(")")
        try await rows(hook)
        return stored
    }
}
