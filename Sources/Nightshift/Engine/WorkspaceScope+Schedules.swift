import Foundation

/// A workspace's schedules: each is made, changed and fired in this workspace only (a key is a
/// schedule's id or its name here); another workspace's schedule is not found.
extension WorkspaceScope {
    /// Creates a schedule in this workspace (whatever `new` says) and wakes the scheduler.
    public func createSchedule(_ new: NewSchedule) async throws -> Schedule {
        var new = new
        new.workspaceID = workspace
        return try await engine.createSchedule(new)
    }

    /// This workspace's schedules, by name then id.
    public func schedules() async throws -> [Schedule] {
        try await engine.store.schedules(workspace: workspace)
    }

    /// The schedule with this id or name, if it is this workspace's.
    public func schedule(_ key: String) async throws -> Schedule? {
        try await engine.store.schedule(key, workspace: workspace)
    }

    /// Replaces what the schedule is (its id, source and history stay).
    public func replaceSchedule(_ key: String, with new: NewSchedule) async throws -> Schedule {
        var new = new
        new.workspaceID = workspace
        return try await engine.replaceSchedule(key, with: new, workspace: workspace)
    }

    /// Pauses or resumes the schedule.
    public func pauseSchedule(_ key: String, paused: Bool) async throws -> Schedule {
        try await engine.pauseSchedule(key, paused: paused, workspace: workspace)
    }

    /// Deletes the schedule; `false` if there was none. Its tasks stay.
    public func deleteSchedule(_ key: String) async throws -> Bool {
        try await engine.store.deleteSchedule(key, workspace: workspace)
    }

    /// Submits the schedule's task now (a repeat with `idempotencyKey` answers the first one's).
    public func triggerSchedule(_ key: String, idempotencyKey: String?) async throws -> SubmitResult {
        try await engine.triggerSchedule(key, workspace: workspace, idempotencyKey: idempotencyKey)
    }
}
