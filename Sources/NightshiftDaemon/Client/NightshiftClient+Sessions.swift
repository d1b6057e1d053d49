import Foundation
import Nightshift

extension NightshiftClient {
    /// The filters of `GET /v1/checkpoints`; nil fields are left out.
    public struct CheckpointFilter: Sendable, Hashable {
        /// Only checkpoints of this agent.
        public var agent: String?
        /// `active` or `resolved`.
        public var status: String?
        /// Updated within this long: `7d`, `12h`, `30m`, `3600s` or seconds.
        public var maxAge: String?
        /// Only checkpoints of this task.
        public var taskID: String?
        /// List archived checkpoints too.
        public var includeArchived: Bool
        /// At most this many (1 to 500).
        public var limit: Int?

        /// A filter; every field is optional.
        public init(
            agent: String? = nil, status: String? = nil, maxAge: String? = nil, taskID: String? = nil,
            includeArchived: Bool = false, limit: Int? = nil
        ) {
            self.agent = agent
            self.status = status
            self.maxAge = maxAge
            self.taskID = taskID
            self.includeArchived = includeArchived
            self.limit = limit
        }

        /// The query items.
        var items: [(String, String)] {
            var items: [(String, String)] = []
            if let agent { items.append(("agent", agent)) }
            if let status { items.append(("status", status)) }
            if let maxAge { items.append(("max_age", maxAge)) }
            if let taskID { items.append(("task_id", taskID)) }
            if includeArchived { items.append(("include_archived", "true")) }
            if let limit { items.append(("limit", String(limit))) }
            return items
        }
    }

    // MARK: Checkpoints

    /// `GET /v1/checkpoints`: checkpoints, most recently updated first.
    public func checkpoints(_ filter: CheckpointFilter = CheckpointFilter()) async throws -> [SessionCheckpoint] {
        try await fetch(.GET, "/v1/checkpoints", query: filter.items, as: WireCheckpointList.self).checkpoints
    }

    /// `GET /v1/checkpoints/{id}`: one checkpoint.
    public func checkpoint(_ id: String) async throws -> SessionCheckpoint {
        try await fetch(.GET, "/v1/checkpoints/\(Self.escapePath(id))")
    }

    /// `POST /v1/checkpoints`: saves a checkpoint (its JSON form, schema version 1, as an agent
    /// writes it); answers it as stored.
    public func saveCheckpoint(_ checkpoint: JSONValue) async throws -> SessionCheckpoint {
        try await fetch(.POST, "/v1/checkpoints", body: checkpoint)
    }

    /// `POST /v1/checkpoints/{id}/resolve`: marks it resolved (idempotent); answers it.
    public func resolveCheckpoint(_ id: String) async throws -> SessionCheckpoint {
        try await fetch(.POST, "/v1/checkpoints/\(Self.escapePath(id))/resolve")
    }

    /// `POST /v1/checkpoints/cleanup`: archives resolved and stale checkpoints older than `days`
    /// days; answers how many.
    public func cleanupCheckpoints(olderThanDays days: Int) async throws -> Int {
        try await fetch(.POST, "/v1/checkpoints/cleanup", body: WireCleanup(olderThanDays: days).json, as: WireCleanupResult.self).archived
    }

    /// `GET /v1/checkpoints/quarantine`: the checkpoint files that could not be read.
    public func quarantinedCheckpoints(limit: Int? = nil) async throws -> [WireQuarantined] {
        let query = limit.map { [("limit", String($0))] } ?? []
        return try await fetch(.GET, "/v1/checkpoints/quarantine", query: query, as: WireQuarantineList.self).quarantined
    }

    // MARK: Memories

    /// `GET /v1/agents/{name}/memories`: the agent's memories (in the token's workspace), by key.
    public func memories(agent: String, prefix: String? = nil) async throws -> [Memory] {
        var query: [(String, String)] = []
        if let prefix { query.append(("prefix", prefix)) }
        return try await fetch(.GET, Self.memoriesPath(agent), query: query, as: WireMemoryList.self).memories
    }

    /// `GET /v1/agents/{name}/memories/{key}`: one memory.
    public func memory(agent: String, key: String) async throws -> Memory {
        try await fetch(.GET, Self.memoriesPath(agent, key))
    }

    /// `PUT /v1/agents/{name}/memories/{key}`: writes the memory; with `expectedVersion`, only over
    /// that version (``APIError`` 409 `conflict` otherwise; 0 means only if there is none yet).
    public func setMemory(
        agent: String, key: String, summary: String, expectedVersion: Int? = nil
    ) async throws -> Memory {
        let body = WireMemoryWrite(summary: summary, expectedVersion: expectedVersion)
        return try await fetch(.PUT, Self.memoriesPath(agent, key), body: body.json)
    }

    /// `DELETE /v1/agents/{name}/memories/{key}` (``APIError`` 404 if there is none).
    public func deleteMemory(agent: String, key: String) async throws {
        _ = try await send(.DELETE, Self.memoriesPath(agent, key))
    }

    private static func memoriesPath(_ agent: String, _ key: String? = nil) -> String {
        "/v1/agents/\(escapePath(agent))/memories" + (key.map { "/" + escapePath($0) } ?? "")
    }
}
