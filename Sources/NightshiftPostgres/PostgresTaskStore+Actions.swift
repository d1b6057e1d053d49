import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Applies a person's action (cancel, pause, resume, retry, drop, wake) and returns the task.
    public func transition(_ id: TaskID, _ action: LifecycleAction, now: Date, workspace: String?, reason: String?) async throws -> AgentTask {
        try ActionPlan.check(action)
        do {
            return try await write { transaction in
                guard let facts = try await transaction.lockedFacts(id), workspace == nil || facts.workspace == workspace else {
                    throw NightshiftError.taskNotFound(id)
                }
                // Retry and resume may bring a dedup key back to life: run after earlier submits. The
                // task row is locked first, as settles do, so the two cannot wait on each other.
                try await transaction.lockCheckedWriters()
                try await transaction.apply(action, to: facts, now: now, maxQueueDepth: self.configuration.maxQueueDepth, reason: reason)
                // A cancel reaches the whole tree under the task.
                if action == .cancel { try await transaction.cancelDescendants(of: id, now: now) }
                guard let task = try await transaction.task(id) else { throw NightshiftError.taskNotFound(id) }
                return task
            }
        } catch let error as NightshiftError where error.isUniqueViolation {
            throw NightshiftError(.illegalTransition, "cannot \(action.name) task \(id): another live task holds its dedup key", field: "dedup_key")
        }
    }
}

extension Transaction {
    /// Applies a person's `action` to the task `facts` describe (its row locked by this
    /// transaction): its ``ActionPlan``'s columns, the `state` event, the run it ends, the
    /// checkpoints it resolves.
    func apply(_ action: LifecycleAction, to facts: TaskFacts, now: Date, maxQueueDepth: Int?, reason: String? = nil) async throws {
        let id = facts.id
        let plan = try ActionPlan(action, on: facts, reason: reason)
        if let request = plan.pauseRequest {
            // The task keeps running: its run sees the request between steps.
            guard let event = plan.pauseRequestEvent(task: id, was: facts.pauseRequested, now: now) else { return }
            try await rows(SQL("UPDATE tasks SET pause_requested = ").appending(.int(request ? 1 : 0), " WHERE id = ").appending(.text(id.rawValue)))
            try await appendEvents(task: id, [event])
            return
        }
        if plan.checksDepth, let cap = maxQueueDepth {
            let depth = try await queueDepth()
            if depth >= cap { throw NightshiftError.queueFull(depth: depth, cap: cap) }
        }
        let time = now.timeIntervalSince1970
        var set: [(BatchColumn, SQLValue)] = []
        var fixed: [String] = []
        for assignment in plan.assignments {
            switch assignment {
            case .now(let column): set.append((Self.taskColumn(column), .double(time)))
            case .notBefore(let column):
                set.append((Self.taskColumn(column, "GREATEST(tasks.\(column), moves.\(column))"), .double(time)))
            case .null(let column): fixed.append("\(column) = NULL")
            case .zero(let column): fixed.append("\(column) = 0")
            case .text(let column, let text): set.append((Self.taskColumn(column), .text(text)))
            }
        }
        try await move(facts, action, set: set, fixed: fixed, now: now)
        if let end = plan.runEnd {
            var sql = SQL("UPDATE runs SET finished_at = ")
            sql.append(.double(time))
            sql.append(", outcome = ")
            sql.append(.text(end.outcome))
            sql.append(", settled_by = ")
            sql.append(.text(end.settledBy))
            sql.append(", settled_state = ")
            sql.append(.text(plan.next.rawValue))
            sql.append(" WHERE task_id = ")
            sql.append(.text(id.rawValue))
            sql.append(" AND attempt = ")
            sql.append(.int(facts.attempt))
            sql.append(" AND finished_at IS NULL")
            try await rows(sql)
        }
        if plan.resolvesCheckpoints { try await resolveActiveCheckpoints(of: [id], now: now) }
        if plan.skipsDeclaredSteps {
            // The declared steps that have not ended, the one running included, never will.
            var sql = SQL("INSERT INTO task_steps (task_id, position, name, state, output, error, attempts, run_id, started_at, finished_at)")
            sql.append(" SELECT t.id, d.ord - 1, d.name, 'skipped', NULL, ")
            sql.append(.text("task \(plan.next.rawValue)"))
            sql.append(", 0, COALESCE(t.run_id, ''), ")
            sql.append(.double(time))
            sql.append(", ")
            sql.append(.double(time))
            sql.append(" FROM tasks t, jsonb_array_elements_text(t.steps_declared::jsonb) WITH ORDINALITY AS d(name, ord)")
            sql.append(" WHERE t.steps_declared IS NOT NULL AND t.id = ")
            sql.append(.text(id.rawValue))
            sql.append(" ON CONFLICT (task_id, position) DO NOTHING")
            try await rows(sql)
        }
        if plan.clearsUnfinishedSteps {
            try await rows(SQL("DELETE FROM task_steps WHERE state <> 'completed' AND task_id = ").appending(.text(id.rawValue)))
        }
    }

    /// The PostgreSQL type of each task column a plan may set: the one definition of them.
    static let taskColumnTypes: [String: String] = [
        "available_at": "float8", "finished_at": "float8", "wake_at": "float8", "failures": "bigint", "interruptions": "bigint",
        "cost_usd": "float8", "result": "text", "error": "text", "waiting_for": "text", "pause_requested": "bigint",
    ]

    /// A batch column for the task column `name`, typed from ``taskColumnTypes``.
    static func taskColumn(_ name: String, _ expression: String? = nil) -> BatchColumn {
        guard let type = taskColumnTypes[name] else { preconditionFailure("no PostgreSQL type for task column \(name)") }
        return BatchColumn(name, type, expression)
    }
}
