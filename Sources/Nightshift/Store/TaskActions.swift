import Foundation

/// What a person does to a task: lifecycle actions, archiving, priority. Each change writes its task
/// event and hook event in the same transaction. A task not in `workspace` is not found (`nil`:
/// any workspace, the engine's view).
public protocol TaskActions: Sendable {
    /// Applies a person's action (cancel, pause, resume, retry, drop, wake) and returns the task.
    /// Cancelling a running task ends its run, so its worker's lease is lost. A `reason` for a
    /// cancel or drop becomes the task's `error`.
    func transition(_ id: TaskID, _ action: LifecycleAction, now: Date, workspace: String?, reason: String?) async throws -> AgentTask
    /// Archives a finished task (default listings leave it out). Throws `illegal_transition` unless
    /// the task is done, error, cancelled or dropped.
    func archive(_ id: TaskID, now: Date, workspace: String?) async throws -> AgentTask
    /// Changes the priority of a task that has not finished, and records a `priority` event.
    func setPriority(_ id: TaskID, to priority: Int, now: Date, workspace: String?) async throws -> AgentTask
}

extension TaskActions {
    /// Applies a person's action to a task of any workspace.
    public func transition(_ id: TaskID, _ action: LifecycleAction, now: Date) async throws -> AgentTask {
        try await transition(id, action, now: now, workspace: nil, reason: nil)
    }

    /// Applies a person's action, without a reason.
    public func transition(_ id: TaskID, _ action: LifecycleAction, now: Date, workspace: String?) async throws -> AgentTask {
        try await transition(id, action, now: now, workspace: workspace, reason: nil)
    }

    /// Archives a task of any workspace.
    public func archive(_ id: TaskID, now: Date) async throws -> AgentTask {
        try await archive(id, now: now, workspace: nil)
    }

    /// Changes the priority of a task of any workspace.
    public func setPriority(_ id: TaskID, to priority: Int, now: Date) async throws -> AgentTask {
        try await setPriority(id, to: priority, now: now, workspace: nil)
    }
}
