import Foundation

/// The writes of checkpoints and memories that come from outside a run (the HTTP API, through a
/// ``WorkspaceScope``): each goes through the engine, which stamps it with its clock. They write no
/// task event or hook event, so no follower of a log has anything to be told.
extension Engine {
    /// Saves a checkpoint of `workspace` (replacing the one with its id); answers it as stored,
    /// and whether it is new.
    public func saveCheckpoint(
        _ checkpoint: SessionCheckpoint, workspace: String
    ) async throws -> (checkpoint: SessionCheckpoint, created: Bool) {
        let existed = checkpoint.id.isEmpty ? false : try await store.checkpoint(id: checkpoint.id, workspace: workspace) != nil
        let saved = try await store.saveCheckpoint(checkpoint, workspace: workspace)
        return (saved, !existed)
    }

    /// Marks a checkpoint of `workspace` resolved (a resolved one is answered unchanged).
    public func resolveCheckpoint(id: String, workspace: String) async throws -> SessionCheckpoint {
        let checkpoint = try await store.resolveCheckpoint(id: id, now: clock.now, workspace: workspace)
        return checkpoint
    }

    /// Archives the resolved and stale checkpoints of `workspace` not updated for `days` days;
    /// answers how many.
    public func cleanupCheckpoints(olderThanDays days: Int, workspace: String) async throws -> Int {
        let archived = try await store.cleanupCheckpoints(olderThanDays: days, now: clock.now, workspace: workspace)
        return archived
    }

    /// Writes a memory (version + 1); with `expectedVersion`, only over that version.
    public func setMemory(
        workspace: String, agent: String, key: String, summary: String, expectedVersion: Int?
    ) async throws -> Memory {
        let memory = try await store.setMemory(
            workspace: workspace, agent: agent, key: key, summary: summary, expectedVersion: expectedVersion, now: clock.now)
        return memory
    }

    /// Removes a memory; answers whether it existed.
    public func deleteMemory(workspace: String, agent: String, key: String) async throws -> Bool {
        let existed = try await store.deleteMemory(workspace: workspace, agent: agent, key: key)
        return existed
    }
}
