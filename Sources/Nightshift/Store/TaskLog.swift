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
    /// The same events without their data (`data` empty): for readers that need only which task
    /// of which workspace moved, and should not pay for the rest (``TaskChangeDigest``).
    func hookEventHeads(after seq: Int64, limit: Int) async throws -> [HookEvent]
}

extension TaskLog {
    /// The whole events, by default.
    public func hookEventHeads(after seq: Int64, limit: Int) async throws -> [HookEvent] {
        try await hookEvents(after: seq, limit: limit)
    }

    /// A task's events, in any workspace.
    public func events(task: TaskID, after seq: Int64, limit: Int) async throws -> [TaskEvent] {
        try await events(task: task, after: seq, limit: limit, workspace: nil)
    }
}
