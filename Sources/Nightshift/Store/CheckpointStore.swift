import Foundation

/// Which checkpoints a listing returns, most recently updated first.
public struct CheckpointQuery: Sendable, Hashable {
    /// Only checkpoints of this workspace (every workspace when `nil`; a ``WorkspaceScope`` always
    /// sets it).
    public var workspace: String?
    /// Only checkpoints of this agent.
    public var agent: String?
    /// Only checkpoints with this status.
    public var status: CheckpointStatus?
    /// Only checkpoints updated at most this many seconds before ``now``.
    public var maxAge: Double?
    /// Only checkpoints of this task.
    public var taskID: TaskID?
    /// Whether archived checkpoints are listed too (they are left out by default).
    public var includeArchived: Bool
    /// At most this many, 1 to ``maxLimit``.
    public var limit: Int
    /// The time ``maxAge`` counts back from.
    public var now: Date

    /// The largest listing.
    public static let maxLimit = 500

    /// A query; every filter is off by default and the limit is 100.
    public init(
        agent: String? = nil, status: CheckpointStatus? = nil, maxAge: Double? = nil, taskID: TaskID? = nil,
        includeArchived: Bool = false, limit: Int = 100, now: Date = Date(), workspace: String? = nil
    ) {
        self.workspace = workspace
        self.agent = agent
        self.status = status
        self.maxAge = maxAge
        self.taskID = taskID
        self.includeArchived = includeArchived
        self.limit = limit
        self.now = now
    }

    /// Checks the limit and the age; the error names the field.
    public func validate() throws(NightshiftError) {
        guard (1...Self.maxLimit).contains(limit) else {
            throw .invalid("limit", "expected an integer from 1 to \(Self.maxLimit), got \(limit)")
        }
        if let maxAge, !(maxAge > 0 && maxAge.isFinite) { throw .invalid("max_age", "expected a duration > 0") }
    }
}

/// Durable storage of session checkpoints and of the checkpoint files that could not be read.
///
/// Every checkpoint belongs to a workspace: one of another workspace is not found. `nil` for a
/// workspace reads or changes every workspace's (the engine's view).
public protocol CheckpointStore: Sendable {
    /// Inserts the checkpoint into `workspace`, or replaces the one with its id there (keeping the
    /// first `created_at`). An empty id gets a new UUIDv7. Answers the checkpoint as stored. Throws
    /// `conflict` (field `id`) when the id is taken in another workspace.
    func saveCheckpoint(_ checkpoint: SessionCheckpoint, workspace: String) async throws -> SessionCheckpoint
    /// The checkpoint with this id, archived or not.
    func checkpoint(id: String, workspace: String?) async throws -> SessionCheckpoint?
    /// The checkpoints that match `query` (its workspace included), most recently updated first.
    func checkpoints(_ query: CheckpointQuery) async throws -> [SessionCheckpoint]
    /// Marks the checkpoint resolved; resolving a resolved one answers it unchanged. Throws
    /// `not_found` for an unknown id.
    func resolveCheckpoint(id: String, now: Date, workspace: String?) async throws -> SessionCheckpoint
    /// Archives the unarchived checkpoints not updated for `olderThanDays` days: resolved ones, and
    /// active ones gone stale. Answers how many it archived. Throws `invalid_input` (field `days`)
    /// unless `olderThanDays` > 0.
    func cleanupCheckpoints(olderThanDays: Int, now: Date, workspace: String?) async throws -> Int
    /// The most recently updated unarchived active checkpoint of `agent` in `workspace` for
    /// `taskID` or `sessionID` (either matches; with neither, any of the agent's).
    func latestActiveCheckpoint(agent: String, taskID: TaskID?, sessionID: String?, workspace: String) async throws -> SessionCheckpoint?
    /// Records a checkpoint file that was moved to quarantine.
    func recordQuarantined(_ file: QuarantinedCheckpoint, workspace: String) async throws
    /// The quarantined files of `workspace`, most recent first, at most `limit`.
    func quarantinedCheckpoints(limit: Int, workspace: String?) async throws -> [QuarantinedCheckpoint]
}

extension CheckpointStore {
    /// Saves a checkpoint of the default workspace.
    public func saveCheckpoint(_ checkpoint: SessionCheckpoint) async throws -> SessionCheckpoint {
        try await saveCheckpoint(checkpoint, workspace: Workspace.defaultID)
    }

    /// The checkpoint with this id, in any workspace.
    public func checkpoint(id: String) async throws -> SessionCheckpoint? {
        try await checkpoint(id: id, workspace: nil)
    }

    /// Resolves a checkpoint of any workspace.
    public func resolveCheckpoint(id: String, now: Date) async throws -> SessionCheckpoint {
        try await resolveCheckpoint(id: id, now: now, workspace: nil)
    }

    /// Archives stale checkpoints of every workspace.
    public func cleanupCheckpoints(olderThanDays: Int, now: Date) async throws -> Int {
        try await cleanupCheckpoints(olderThanDays: olderThanDays, now: now, workspace: nil)
    }

    /// The latest active checkpoint of `agent` in the default workspace.
    public func latestActiveCheckpoint(agent: String, taskID: TaskID?, sessionID: String?) async throws -> SessionCheckpoint? {
        try await latestActiveCheckpoint(agent: agent, taskID: taskID, sessionID: sessionID, workspace: Workspace.defaultID)
    }

    /// Records a quarantined file of the default workspace.
    public func recordQuarantined(_ file: QuarantinedCheckpoint) async throws {
        try await recordQuarantined(file, workspace: Workspace.defaultID)
    }

    /// The quarantined files of every workspace.
    public func quarantinedCheckpoints(limit: Int) async throws -> [QuarantinedCheckpoint] {
        try await quarantinedCheckpoints(limit: limit, workspace: nil)
    }
}

/// Durable storage of agents' memories, versioned per key.
public protocol MemoryStore: Sendable {
    /// Writes the summary under the key (version 1 when new, else one more). With
    /// `expectedVersion`, writes only if the current version is that one (0: only if there is
    /// none yet), else throws `conflict`.
    func setMemory(
        workspace: String, agent: String, key: String, summary: String, expectedVersion: Int?, now: Date
    ) async throws -> Memory
    /// The memory under the key, if any.
    func memory(workspace: String, agent: String, key: String) async throws -> Memory?
    /// The agent's memories in the workspace whose key starts with `prefix` (all with `nil`), by key.
    func memories(workspace: String, agent: String, prefix: String?) async throws -> [Memory]
    /// Removes the memory; answers whether it existed.
    func deleteMemory(workspace: String, agent: String, key: String) async throws -> Bool
    /// Read-modify-write in one write transaction, atomic even against other processes using the
    /// same database: `transform` gets the current memory (or `nil`) and answers the new summary,
    /// or `nil` to delete it. Answers the memory written (`nil` when deleted). `transform` runs
    /// while the write lock is held: keep it short.
    func updateMemory(
        workspace: String, agent: String, key: String, now: Date,
        _ transform: @escaping @Sendable (Memory?) throws -> String?
    ) async throws -> Memory?
}
