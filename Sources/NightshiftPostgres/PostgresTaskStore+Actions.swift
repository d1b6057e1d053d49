import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Applies a person's action (cancel, pause, resume, retry, drop, wake) and returns the task.
    public func transition(_ id: TaskID, _ action: LifecycleAction, now: Date, workspace: String?) async throws -> AgentTask {
        try ActionPlan.check(action)
        do {
            return try await write { transaction in
                guard let facts = try await transaction.lockedFacts(id), workspace == nil || facts.workspace == workspace else {
                    throw NightshiftError.taskNotFound(id)
                }
                // Retry and resume may bring a dedup key back to life: run after earlier submits. The
                // task row is locked first, as settles do, so the two cannot wait on each other.
                try await transaction.lockCheckedWriters()
                let plan = try ActionPlan(action, on: facts)
                if plan.checksDepth, let cap = self.configuration.maxQueueDepth {
                    let depth = try await transaction.queueDepth()
                    if depth >= cap { throw NightshiftError.queueFull(depth: depth, cap: cap) }
                }
                let time = now.timeIntervalSince1970
                var set: [(Transaction.BatchColumn, SQLValue)] = []
                var fixed: [String] = []
                for assignment in plan.assignments {
                    switch assignment {
                    case .now(let column): set.append((Transaction.taskColumn(column), .double(time)))
                    case .notBefore(let column):
                        set.append((Transaction.taskColumn(column, "GREATEST(tasks.\(column), moves.\(column))"), .double(time)))
                    case .null(let column): fixed.append("\(column) = NULL")
                    case .zero(let column): fixed.append("\(column) = 0")
                    }
                }
                try await transaction.move(facts, action, set: set, fixed: fixed, now: now)
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
                    try await transaction.rows(sql)
                }
                if plan.resolvesCheckpoints { try await transaction.resolveActiveCheckpoints(of: [id], now: now) }
                guard let task = try await transaction.task(id) else { throw NightshiftError.taskNotFound(id) }
                return task
            }
        } catch let error as NightshiftError where error.isUniqueViolation {
            throw NightshiftError(.illegalTransition, "cannot \(action.name) task \(id): another live task holds its dedup key", field: "dedup_key")
        }
    }
}

extension Transaction {
    /// The PostgreSQL type of each task column a plan may set: the one definition of them.
    static let taskColumnTypes: [String: String] = [
        "available_at": "float8", "finished_at": "float8", "wake_at": "float8", "failures": "bigint", "interruptions": "bigint",
        "cost_usd": "float8", "result": "text", "error": "text",
    ]

    /// A batch column for the task column `name`, typed from ``taskColumnTypes``.
    static func taskColumn(_ name: String, _ expression: String? = nil) -> BatchColumn {
        guard let type = taskColumnTypes[name] else { preconditionFailure("no PostgreSQL type for task column \(name)") }
        return BatchColumn(name, type, expression)
    }
}
