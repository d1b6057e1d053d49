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
    }
}
