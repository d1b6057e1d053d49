import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Applies a person's action (cancel, pause, resume, retry, drop, wake) and returns the task.
    public func transition(_ id: TaskID, _ action: LifecycleAction, now: Date, workspace: String?) async throws -> AgentTask {
        switch action {
        case .cancel, .pause, .resume, .retry, .drop, .wake: break
        default:
            throw NightshiftError.invalid("action", "expected cancel, pause, resume, retry, drop or wake, got \(action.name)")
        }
        return try await writer.write { transaction in
            guard let facts = try transaction.facts([id])[id], workspace == nil || facts.workspace == workspace else {
                throw NightshiftError.taskNotFound(id)
            }
            // A retry queues a task that no longer counted towards the depth cap: it must fit.
            if action == .retry, let cap = self.configuration.maxQueueDepth, (try? facts.next(on: .retry)) != nil {
                let depth = try transaction.queueDepth()
                if depth >= cap { throw NightshiftError.queueFull(depth: depth, cap: cap) }
            }
            let time = now.timeIntervalSince1970
            var columns: [WriteTransaction.BatchColumn] = []
            var values: [(any DatabaseValueConvertible)?] = []
            var fixed: [String] = []
            switch action {
            case .cancel, .drop:
                (columns, values) = ([.init("finished_at")], [time])
                fixed = ["lease_expires_at = NULL", "lease_token = NULL"]
            case .retry:
                (columns, values) = ([.init("available_at")], [time])
                fixed = ["failures = 0", "interruptions = 0", "finished_at = NULL"]
            case .wake:
                (columns, values) = ([.init("available_at")], [time])
                fixed = ["wake_at = NULL"]
            case .resume:
                // A paused task that was submitted with a delay keeps it.
                (columns, values) = ([.init("available_at", "MAX(tasks.available_at, moves.available_at)")], [time])
                fixed = ["wake_at = NULL"]
            default:
                break
            }
            let next: TaskState
            do {
                next = try transaction.transition(facts, action, now: now, columns: columns, values: values, fixed: fixed)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                throw NightshiftError(.illegalTransition, "cannot \(action.name) task \(id): another live task holds its dedup key", field: "dedup_key")
            }
            if facts.state == .running {
                try transaction.db.execute(
                    sql: "UPDATE runs SET finished_at = ?, outcome = ?, settled_by = ?, settled_state = ? WHERE task_id = ? AND attempt = ? AND finished_at IS NULL",
                    arguments: [time, action == .cancel ? "cancelled" : action.name, action.name, next.rawValue, id.rawValue, facts.attempt])
            }
            if next.isTerminal { try transaction.resolveActiveCheckpoints(of: [id], now: now) }
            guard let task = try transaction.task(id) else { throw NightshiftError.taskNotFound(id) }
            return task
        }
    }
}
