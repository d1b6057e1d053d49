import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Adds an input to a task's inbox (see ``TaskInbox/addInput(_:to:now:workspace:)``).
    public func addInput(_ input: NewInput, to id: TaskID, now: Date, workspace: String?) async throws -> InputReceipt {
        try input.validate()
        return try await writer.write { transaction in
            guard let facts = try transaction.facts([id])[id], workspace == nil || facts.workspace == workspace else {
                throw NightshiftError.taskNotFound(id)
            }
            if let key = input.idempotencyKey, let first = try transaction.input(task: id, key: key, taskState: facts.state) {
                guard let task = try transaction.task(id) else { throw NightshiftError.taskNotFound(id) }
                return InputReceipt(input: first, created: false, task: task)
            }
            let plan = try InputPlan(input, on: facts)
            // The wake first: it moves the task from the facts just read; the input's event follows.
            if plan.wakes { try transaction.apply(.wake, to: facts, now: now, maxQueueDepth: nil) }
            if let reason = plan.dropReason { try transaction.apply(.drop, to: facts, now: now, maxQueueDepth: nil, reason: reason) }
            let stored = try transaction.insertInput(plan.stamped(input), task: id, workspace: facts.workspace, now: now)
            guard let task = try transaction.task(id) else { throw NightshiftError.taskNotFound(id) }
            return InputReceipt(input: stored, created: true, task: task)
        }
    }

    /// A task's inputs in order (see ``TaskInbox/inputs(of:workspace:)``).
    public func inputs(of id: TaskID, workspace: String?) async throws -> [TaskInput] {
        try await read { db in
            guard let task = try SQLiteRows.task(id, workspace: workspace, in: db) else { throw NightshiftError.taskNotFound(id) }
            return try Row.fetchAll(
                db.cachedStatement(sql: "SELECT \(SQLiteRows.inputColumns) FROM task_inputs WHERE task_id = ? ORDER BY seq"),
                arguments: [id.rawValue]
            ).map { try SQLiteRows.input($0, taskState: task.state) }
        }
    }

    /// Hands the pending inputs to the run holding `lease` (see ``TaskInbox/deliverInputs(_:how:now:)``).
    public func deliverInputs(_ lease: Lease, how: InputDelivery, now: Date) async throws -> [TaskInput]? {
        try await writer.write { transaction in
            let db = transaction.db
            let pending = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT \(SQLiteRows.inputColumns) FROM task_inputs WHERE task_id = ? AND delivery = 'pending' ORDER BY seq"),
                arguments: [lease.taskID.rawValue]
            ).map { try SQLiteRows.input($0) }
            let event = NewTaskEvent(
                taskID: lease.taskID, type: "input_delivered",
                data: ["how": .string(how.rawValue), "run_id": .string(lease.runID), "inputs": .array(pending.map { .string($0.id) })],
                time: now)
            // Fenced: a run that lost its lease hands nothing over.
            guard try transaction.appendEvents(task: lease.taskID, pending.isEmpty ? [] : [event], fencedBy: lease) else { return nil }
            guard !pending.isEmpty else { return [] }
            try db.execute(
                sql: "UPDATE task_inputs SET delivery = ?, delivered_at = ?, run_id = ? WHERE task_id = ? AND delivery = 'pending'",
                arguments: [how.rawValue, now.timeIntervalSince1970, lease.runID, lease.taskID.rawValue])
            try db.execute(sql: "UPDATE tasks SET pending_inputs = 0 WHERE id = ?", arguments: [lease.taskID.rawValue])
            return pending.map { input in
                var delivered = input
                delivered.delivery = how
                delivered.deliveredAt = now
                delivered.runID = lease.runID
                return delivered
            }
        }
    }
}

extension WriteTransaction {
    /// Puts back in the inbox the inputs that `released` runs took by resume when their agent
    /// never started (no process recorded): nobody read them (see ``SettlePlan/released``).
    func returnInputs(ofReleased released: [(task: TaskID, run: String)]) throws {
        for (task, run) in released {
            try db.cachedStatement(sql: """
                UPDATE task_inputs SET delivery = 'pending', delivered_at = NULL, run_id = NULL
                WHERE task_id = ?1 AND run_id = ?2 AND delivery = 'delivered_resume'
                AND EXISTS (SELECT 1 FROM runs WHERE runs.task_id = ?1 AND runs.id = ?2 AND runs.agent_process IS NULL)
                """).execute(arguments: [task.rawValue, run])
            let returned = db.changesCount
            if returned > 0 {
                try db.execute(sql: "UPDATE tasks SET pending_inputs = pending_inputs + ? WHERE id = ?", arguments: [returned, task.rawValue])
            }
        }
    }

    /// The input of `task` sent with idempotency key `key`, if any.
    func input(task: TaskID, key: String, taskState: TaskState) throws -> TaskInput? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(SQLiteRows.inputColumns) FROM task_inputs WHERE task_id = ? AND idempotency_key = ?"),
            arguments: [task.rawValue, key]
        ).map { try SQLiteRows.input($0, taskState: taskState) }
    }

    /// Stores `input` as the task's next, counts it pending and appends its `input` event.
    func insertInput(_ input: NewInput, task: TaskID, workspace: String, now: Date) throws -> TaskInput {
        let seq = try Int.fetchOne(
            db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) + 1 FROM task_inputs WHERE task_id = ?"), arguments: [task.rawValue]) ?? 1
        let stored = TaskInput(
            id: UUIDv7.generate(at: now), taskID: task, workspaceID: workspace, seq: seq, kind: input.kind, text: input.text,
            decisions: input.decisions, sender: input.sender, idempotencyKey: input.idempotencyKey, createdAt: now, delivery: .pending,
            deliveredAt: nil, runID: nil)
        try db.cachedStatement(sql: """
            INSERT INTO task_inputs (task_id, seq, id, workspace_id, kind, text, decisions, sender, idempotency_key, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                task.rawValue, seq, stored.id, workspace, input.kind.rawValue, input.text, input.decisions?.jsonText, input.sender,
                input.idempotencyKey, now.timeIntervalSince1970,
            ])
        try db.execute(sql: "UPDATE tasks SET pending_inputs = pending_inputs + 1 WHERE id = ?", arguments: [task.rawValue])
        try appendEvents(task: task, [NewTaskEvent(taskID: task, type: "input", data: stored.eventData, time: now)])
        try db.cachedStatement(sql: "INSERT INTO hook_events (time, task_id, type, data, workspace_id) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [now.timeIntervalSince1970, task.rawValue, HookEvent.inputType, stored.hookData.jsonText, workspace])
        appendedHooks = true
        return stored
    }
}
