import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Applies a person's action (cancel, pause, resume, retry, drop, wake) and returns the task.
    public func transition(_ id: TaskID, _ action: LifecycleAction, now: Date, workspace: String?, reason: String?) async throws -> AgentTask {
        try ActionPlan.check(action)
        return try await writer.write { transaction in
            guard let facts = try transaction.facts([id])[id], workspace == nil || facts.workspace == workspace else {
                throw NightshiftError.taskNotFound(id)
            }
            try transaction.apply(action, to: facts, now: now, maxQueueDepth: self.configuration.maxQueueDepth, reason: reason)
            // A cancel reaches the whole tree under the task.
            if action == .cancel { try transaction.cancelDescendants(of: id, now: now) }
            guard let task = try transaction.task(id) else { throw NightshiftError.taskNotFound(id) }
            return task
        }
    }
}

extension WriteTransaction {
    /// Applies a person's `action` to the task `facts` describe (read in this transaction): its
    /// ``ActionPlan``'s columns, the `state` event, the run it ends, the checkpoints it resolves.
    func apply(_ action: LifecycleAction, to facts: TaskFacts, now: Date, maxQueueDepth: Int?, reason: String? = nil) throws {
        let id = facts.id
        let plan = try ActionPlan(action, on: facts, reason: reason)
        if let request = plan.pauseRequest {
            // The task keeps running: its run sees the request between steps.
            guard let event = plan.pauseRequestEvent(task: id, was: facts.pauseRequested, now: now) else { return }
            try db.execute(sql: "UPDATE tasks SET pause_requested = ? WHERE id = ?", arguments: [request ? 1 : 0, id.rawValue])
            try appendEvents(task: id, [event])
            return
        }
        if plan.checksDepth, let cap = maxQueueDepth {
            let depth = try queueDepth()
            if depth >= cap { throw NightshiftError.queueFull(depth: depth, cap: cap) }
        }
        let time = now.timeIntervalSince1970
        var columns: [WriteTransaction.BatchColumn] = []
        var values: [(any DatabaseValueConvertible)?] = []
        var fixed: [String] = []
        for assignment in plan.assignments {
            switch assignment {
            case .now(let column):
                columns.append(.init(column))
                values.append(time)
            case .notBefore(let column):
                columns.append(.init(column, "MAX(tasks.\(column), moves.\(column))"))
                values.append(time)
            case .null(let column): fixed.append("\(column) = NULL")
            case .zero(let column): fixed.append("\(column) = 0")
            case .text(let column, let text):
                columns.append(.init(column))
                values.append(text)
            }
        }
        do {
            try transition(facts, action, now: now, columns: columns, values: values, fixed: fixed)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw NightshiftError(.illegalTransition, "cannot \(action.name) task \(id): another live task holds its dedup key", field: "dedup_key")
        }
        if let end = plan.runEnd {
            try db.execute(
                sql: "UPDATE runs SET finished_at = ?, outcome = ?, settled_by = ?, settled_state = ? WHERE task_id = ? AND attempt = ? AND finished_at IS NULL",
                arguments: [time, end.outcome, end.settledBy, plan.next.rawValue, id.rawValue, facts.attempt])
        }
        if plan.resolvesCheckpoints { try resolveActiveCheckpoints(of: [id], now: now) }
        if plan.skipsDeclaredSteps {
            // The declared steps that have not ended, the one running included, never will.
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO task_steps (task_id, position, name, state, output, error, attempts, run_id, started_at, finished_at)
                    SELECT t.id, d.key, d.value, 'skipped', NULL, ?, 0, COALESCE(t.run_id, ''), ?, ?
                    FROM tasks t, json_each(t.steps_declared) d WHERE t.steps_declared IS NOT NULL AND t.id = ?
                    """,
                arguments: ["task \(plan.next.rawValue)", time, time, id.rawValue])
        }
        if plan.clearsUnfinishedSteps {
            try db.execute(sql: "DELETE FROM task_steps WHERE task_id = ? AND state <> 'completed'", arguments: [id.rawValue])
        }
    }
}
