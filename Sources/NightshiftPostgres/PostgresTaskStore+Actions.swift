import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Applies a person's action (cancel, pause, resume, retry, drop, wake) and returns the task.
    public func transition(_ id: TaskID, _ action: LifecycleAction, now: Date, workspace: String?) async throws -> AgentTask {
        switch action {
        case .cancel, .pause, .resume, .retry, .drop, .wake: break
        default:
            throw NightshiftError.invalid("action", "expected cancel, pause, resume, retry, drop or wake, got \(action.name)")
        }
        do {
            return try await write { transaction in
                guard let facts = try await transaction.lockedFacts(id), workspace == nil || facts.workspace == workspace else {
                    throw NightshiftError.taskNotFound(id)
                }
                // Retry and resume may bring a dedup key back to life: run after earlier submits. The
                // task row is locked first, as settles do, so the two cannot wait on each other.
                try await transaction.lockCheckedWriters()
                // A retry queues a task that no longer counted towards the depth cap: it must fit.
                if action == .retry, let cap = self.configuration.maxQueueDepth, (try? facts.next(on: .retry)) != nil {
                    let depth = try await transaction.queueDepth()
                    if depth >= cap { throw NightshiftError.queueFull(depth: depth, cap: cap) }
                }
                let time = now.timeIntervalSince1970
                var set: [(Transaction.BatchColumn, SQLValue)] = []
                var fixed: [String] = []
                switch action {
                case .cancel, .drop:
                    set = [(.init("finished_at", "float8"), .double(time))]
                    fixed = ["lease_expires_at = NULL", "lease_token = NULL"]
                case .retry:
                    set = [(.init("available_at", "float8"), .double(time))]
                    fixed = ["failures = 0", "interruptions = 0", "finished_at = NULL"]
                case .wake:
                    set = [(.init("available_at", "float8"), .double(time))]
                    fixed = ["wake_at = NULL"]
                case .resume:
                    // A paused task that was submitted with a delay keeps it.
                    fixed = ["available_at = GREATEST(tasks.available_at, \(time))", "wake_at = NULL"]
                default:
                    break
                }
                let next = try await transaction.move(facts, action, set: set, fixed: fixed, now: now)
                if facts.state == .running {
                    var sql = SQL("UPDATE runs SET finished_at = ")
                    sql.append(.double(time))
                    sql.append(", outcome = ")
                    sql.append(.text(action == .cancel ? "cancelled" : action.name))
                    sql.append(", settled_by = ")
                    sql.append(.text(action.name))
                    sql.append(", settled_state = ")
                    sql.append(.text(next.rawValue))
                    sql.append(" WHERE task_id = ")
                    sql.append(.text(id.rawValue))
                    sql.append(" AND attempt = ")
                    sql.append(.int(facts.attempt))
                    sql.append(" AND finished_at IS NULL")
                    try await transaction.rows(sql)
                }
                if next.isTerminal { try await transaction.resolveActiveCheckpoints(of: [id], now: now) }
                guard let task = try await transaction.task(id) else { throw NightshiftError.taskNotFound(id) }
                return task
            }
        } catch let error as NightshiftError where error.isUniqueViolation {
            throw NightshiftError(.illegalTransition, "cannot \(action.name) task \(id): another live task holds its dedup key", field: "dedup_key")
        }
    }
}
