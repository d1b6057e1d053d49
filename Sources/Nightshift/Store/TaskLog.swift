import Foundation

/// The append-only logs: each task's events, and the global hook stream of state changes.
public protocol TaskLog: Sendable {
    /// A task's events after `seq`, at most `limit`, in order (none when the task is not in
    /// `workspace`; `nil` reads every workspace).
    func events(task: TaskID, after seq: Int64, limit: Int, workspace: String?) async throws -> [TaskEvent]
    /// A task's events of `type`, newest first, at most `limit` (none when the task is not in
    /// `workspace`; `nil` reads every workspace).
    func events(task: TaskID, type: String, limit: Int, workspace: String?) async throws -> [TaskEvent]
    /// The global hook stream after `seq`, at most `limit`, in order.
    func hookEvents(after seq: Int64, limit: Int) async throws -> [HookEvent]
}

extension TaskLog {
    /// A task's events, in any workspace.
    public func events(task: TaskID, after seq: Int64, limit: Int) async throws -> [TaskEvent] {
        try await events(task: task, after: seq, limit: limit, workspace: nil)
    }
}
