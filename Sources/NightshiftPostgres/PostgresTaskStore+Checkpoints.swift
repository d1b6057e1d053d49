import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Inserts the checkpoint into `workspace` or replaces the one with its id there, keeping the
    /// first `created_at`.
    public func saveCheckpoint(_ checkpoint: SessionCheckpoint, workspace: String) async throws -> SessionCheckpoint {
        try checkpoint.validate()
        return try await write { transaction in try await transaction.save(checkpoint, workspace: workspace) }
    }

    /// The checkpoint with this id, archived or not.
    public func checkpoint(id: String, workspace: String?) async throws -> SessionCheckpoint? {
        try await autocommit { transaction in try await transaction.checkpoint(id: id, workspace: workspace, lock: false)?.checkpoint }
    }

    /// The checkpoints that match `query`, most recently updated first.
    public func checkpoints(_ query: CheckpointQuery) async throws -> [SessionCheckpoint] {
        try query.validate()
        var sql = SQL("SELECT body FROM checkpoints WHERE true")
        sql.append(workspace: query.workspace)
        if !query.includeArchived { sql.append(" AND archived_at IS NULL") }
        if let agent = query.agent {
            sql.append(" AND agent = ")
            sql.append(.text(agent))
        }
        if let status = query.status {
            sql.append(" AND status = ")
            sql.append(.text(status.rawValue))
        }
        if let maxAge = query.maxAge {
            sql.append(" AND updated_at >= ")
            sql.append(.double(query.now.timeIntervalSince1970 - maxAge))
        }
        if let taskID = query.taskID {
            sql.append(" AND task_id = ")
            sql.append(.text(taskID.rawValue))
        }
        sql.append(" ORDER BY updated_at DESC, id DESC LIMIT ")
        sql.append(.int(query.limit))
        let finalSQL = sql
        return try await autocommit { transaction in try await transaction.rows(finalSQL).map(Transaction.checkpoint) }
    }

    /// Marks the checkpoint resolved; a resolved one is answered unchanged.
    public func resolveCheckpoint(id: String, now: Date, workspace: String?) async throws -> SessionCheckpoint {
        try await write { transaction in
            guard let (found, owner) = try await transaction.checkpoint(id: id, workspace: workspace, lock: true) else {
                throw NightshiftError(.notFound, "no checkpoint with id \(id)", field: "id")
            }
            var checkpoint = found
            guard checkpoint.status != .resolved else { return checkpoint }
            checkpoint.status = .resolved
            checkpoint.updatedAt = SessionCheckpoint.roundedTime(now)
            try await transaction.writeCheckpoint(checkpoint, workspace: owner)
            return checkpoint
        }
    }

    /// Archives the unarchived checkpoints (resolved, or active and stale) not updated for
    /// `olderThanDays` days; answers how many.
    public func cleanupCheckpoints(olderThanDays: Int, now: Date, workspace: String?) async throws -> Int {
        guard olderThanDays > 0 else {
            throw NightshiftError.invalid("days", "expected a number of days ≥ 1, got \(olderThanDays)")
        }
        let cutoff = now.timeIntervalSince1970 - Double(olderThanDays) * 86_400
        return try await write { transaction in
            var sql = SQL("SELECT body, workspace_id FROM checkpoints WHERE archived_at IS NULL AND updated_at < ").appending(.double(cutoff))
            sql.append(workspace: workspace)
            sql.append(" FOR UPDATE SKIP LOCKED")
            let rows = try await transaction.rows(sql)
            for row in rows {
                var checkpoint = try Transaction.checkpoint(row)
                checkpoint.archivedAt = SessionCheckpoint.roundedTime(now)
                try await transaction.writeCheckpoint(checkpoint, workspace: try row["workspace_id"].decode(String.self))
            }
            return rows.count
        }
    }

    /// The most recently updated unarchived active checkpoint of `agent` for the task or session.
    public func latestActiveCheckpoint(
        agent: String, taskID: TaskID?, sessionID: String?, workspace: String
    ) async throws -> SessionCheckpoint? {
        var sql = SQL("SELECT body FROM checkpoints WHERE workspace_id = ")
        sql.append(.text(workspace))
        sql.append(" AND agent = ")
        sql.append(.text(agent))
        sql.append(" AND status = 'active' AND archived_at IS NULL")
        if taskID != nil || sessionID != nil {
            sql.append(" AND (task_id = ")
            sql.append(.text(taskID?.rawValue))
            sql.append(" OR session_id = ")
            sql.append(.text(sessionID))
            sql.append(")")
        }
        sql.append(" ORDER BY updated_at DESC, id DESC LIMIT 1")
        let finalSQL = sql
        return try await autocommit { transaction in try await transaction.rows(finalSQL).first.map(Transaction.checkpoint) }
    }

    /// Records a checkpoint file that was moved to quarantine.
    public func recordQuarantined(_ file: QuarantinedCheckpoint, workspace: String) async throws {
        try await write { transaction in try await transaction.recordQuarantined(file, workspace: workspace) }
    }

    /// The quarantined files, most recent first.
    public func quarantinedCheckpoints(limit: Int, workspace: String?) async throws -> [QuarantinedCheckpoint] {
        try await autocommit { transaction in
            var sql = SQL("SELECT file_name, quarantined_path, error, agent, task_id, time FROM quarantined_checkpoints WHERE true")
            sql.append(workspace: workspace)
            sql.append(" ORDER BY seq DESC LIMIT ")
            sql.append(.int(max(limit, 0)))
            return try await transaction.rows(sql).map { row in
                QuarantinedCheckpoint(
                    fileName: try row["file_name"].decode(String.self),
                    quarantinedPath: try row["quarantined_path"].decode(String.self),
                    error: try row["error"].decode(String.self), agent: try row["agent"].decode(String.self),
                    taskID: try row["task_id"].decode(String?.self).map(TaskID.init(trusted:)),
                    time: Date(timeIntervalSince1970: try row["time"].decode(Double.self)))
            }
        }
    }
}

extension Transaction {
    /// The checkpoint with this id, if it is `workspace`'s (any with `nil`), and its workspace.
    func checkpoint(id: String, workspace: String?, lock: Bool) async throws -> (checkpoint: SessionCheckpoint, workspace: String)? {
        var sql = SQL("SELECT body, workspace_id FROM checkpoints WHERE id = ").appending(.text(id))
        sql.append(workspace: workspace)
        if lock { sql.append(" FOR UPDATE") }
        guard let row = try await rows(sql).first else { return nil }
        return (try Self.checkpoint(row), try row["workspace_id"].decode(String.self))
    }

    static func checkpoint(_ row: PostgresRandomAccessRow) throws -> SessionCheckpoint {
        try JSONDecoder().decode(SessionCheckpoint.self, from: Data(row["body"].decode(String.self).utf8))
    }

    func writeCheckpoint(_ checkpoint: SessionCheckpoint, workspace: String) async throws {
        var sql = SQL("""
            INSERT INTO checkpoints (id, agent, session_id, task_id, phase, status, created_at, updated_at, archived_at, body, workspace_id)
            VALUES (
            """)
        sql.append(list: [
            .text(checkpoint.id), .text(checkpoint.agent), .text(checkpoint.sessionID), .text(checkpoint.taskID?.rawValue),
            .text(checkpoint.phase), .text(checkpoint.status.rawValue), .double(checkpoint.createdAt.timeIntervalSince1970),
            .double(checkpoint.updatedAt.timeIntervalSince1970), .double(checkpoint.archivedAt?.timeIntervalSince1970),
            .text(checkpoint.json.jsonText), .text(workspace),
        ])
        sql.append("""
            ) ON CONFLICT (id) DO UPDATE SET agent = excluded.agent, session_id = excluded.session_id,
                task_id = excluded.task_id, phase = excluded.phase, status = excluded.status,
                updated_at = excluded.updated_at, archived_at = excluded.archived_at, body = excluded.body
            """)
        try await rows(sql)
    }

    /// Inserts the checkpoint or replaces the one with its id, keeping the first `created_at`; an
    /// empty id gets a new UUIDv7. Answers the checkpoint as stored.
    func save(_ checkpoint: SessionCheckpoint, workspace: String) async throws -> SessionCheckpoint {
        var saved = checkpoint
        if saved.id.isEmpty {
            saved.id = UUIDv7.generate()
        } else if let created = try await rows(
            SQL("SELECT created_at, workspace_id FROM checkpoints WHERE id = ").appending(.text(saved.id), " FOR UPDATE")
        ).first {
            guard try created["workspace_id"].decode(String.self) == workspace else {
                throw NightshiftError(.conflict, "checkpoint id \(saved.id) is taken; leave the id out to get a new one", field: "id")
            }
            saved.createdAt = Date(timeIntervalSince1970: try created["created_at"].decode(Double.self))
        }
        try await writeCheckpoint(saved, workspace: workspace)
        return saved
    }

    /// Records a checkpoint file that was moved to quarantine.
    func recordQuarantined(_ file: QuarantinedCheckpoint, workspace: String) async throws {
        var sql = SQL("INSERT INTO quarantined_checkpoints (file_name, quarantined_path, error, agent, task_id, time, workspace_id) VALUES (")
        sql.append(list: [
            .text(file.fileName), .text(file.quarantinedPath), .text(file.error), .text(file.agent),
            .text(file.taskID?.rawValue), .double(file.time.timeIntervalSince1970), .text(workspace),
        ])
        sql.append(")")
        try await rows(sql)
    }

    /// Saves the checkpoints runs left and records their quarantined files, each in its task's
    /// workspace (see ``SettlePlan/checkpoints``).
    func save(_ collections: [(workspace: String, collection: CheckpointCollection)]) async throws {
        for (workspace, collection) in collections {
            for file in collection.quarantined { try await recordQuarantined(file, workspace: workspace) }
            for checkpoint in collection.checkpoints { _ = try await save(checkpoint, workspace: workspace) }
        }
    }

    /// Resolves the active checkpoints of tasks that just ended: nothing resumes from them any more.
    func resolveActiveCheckpoints(of tasks: [TaskID], now: Date) async throws {
        guard !tasks.isEmpty else { return }
        var sql = SQL("WITH ")
        Self.appendResolution(to: &sql, ids: sql.bind(.texts(tasks.map(\.rawValue))), now: now)
        sql.append(" SELECT 1")
        try await rows(sql)
    }

    /// The expression `resolved AS (UPDATE …)` that resolves the active checkpoints of the tasks
    /// whose ids the array parameter `ids` holds (the body's status and time set in place, as the
    /// columns are): a settle adds it to the statement that ends its tasks.
    static func appendResolution(to sql: inout SQL, ids: String, now: Date) {
        let time = SessionCheckpoint.roundedTime(now)
        sql.append("resolved AS (UPDATE checkpoints SET status = 'resolved', updated_at = ")
        sql.append(.double(time.timeIntervalSince1970))
        sql.append(", body = jsonb_set(jsonb_set(body::jsonb, '{status}', '\"resolved\"'), '{updated_at}', to_jsonb(")
        sql.append(.text(JSONTime.json(time).stringValue))
        sql.append("::text))::text WHERE checkpoints.task_id = ANY(\(ids)) AND checkpoints.status = 'active')")
    }
}
