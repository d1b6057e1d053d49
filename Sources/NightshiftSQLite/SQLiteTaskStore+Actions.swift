import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Applies a person's action (cancel, pause, resume, retry, drop, wake) and returns the task.
    public func transition(_ id: TaskID, _ action: LifecycleAction, now: Date) async throws -> AgentTask {
        switch action {
        case .cancel, .pause, .resume, .retry, .drop, .wake: break
        default:
            throw NightshiftError.invalid("action", "expected cancel, pause, resume, retry, drop or wake, got \(action.name)")
        }
        return try await writer.write { transaction in
            guard let facts = try transaction.facts(id) else { throw NightshiftError.taskNotFound(id) }
            let time = now.timeIntervalSince1970
            var assignments: [(String, (any DatabaseValueConvertible)?)] = []
            switch action {
            case .cancel, .drop:
                assignments = [("finished_at = ?", time), ("lease_expires_at = ?", nil), ("lease_token = ?", nil)]
            case .retry:
                assignments = [("failures = ?", 0), ("available_at = ?", time), ("finished_at = ?", nil)]
            case .wake:
                assignments = [("available_at = ?", time), ("wake_at = ?", nil)]
            case .resume:
                // A paused task that was submitted with a delay keeps it.
                assignments = [("available_at = MAX(available_at, ?)", time), ("wake_at = ?", nil)]
            default:
                break
            }
            let next: TaskState
            do {
                next = try transaction.transition(facts, action, now: now, assignments: assignments)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw NightshiftError(.illegalTransition, "cannot \(action.name) task \(id): another live task holds its dedup key", field: "dedup_key")
            }
            if facts.state == .running {
                try transaction.db.execute(
                    sql: "UPDATE runs SET finished_at = ?, outcome = ?, settled_by = ?, settled_state = ? WHERE task_id = ? AND attempt = ? AND finished_at IS NULL",
                    arguments: [time, action == .cancel ? "cancelled" : action.name, action.name, next.rawValue, id.rawValue, facts.attempt])
            }
            guard let row = try Row.fetchOne(transaction.db, sql: "SELECT \(SQLiteRows.taskColumns) FROM tasks WHERE id = ?", arguments: [id.rawValue]) else {
                throw NightshiftError.taskNotFound(id)
            }
            return try SQLiteRows.task(row)
        }
    }
}
