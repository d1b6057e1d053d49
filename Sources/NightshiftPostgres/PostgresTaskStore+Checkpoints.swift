import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Inserts the checkpoint or replaces the one with its id, keeping the first `created_at`.
    public func saveCheckpoint(_ checkpoint: SessionCheckpoint) async throws -> SessionCheckpoint {
        try checkpoint.validate()
        return try await write { transaction in try await transaction.save(checkpoint) }
    }

    /// The checkpoint with this id, archived or not.
    public func checkpoint(id: String) async throws -> SessionCheckpoint? {
        try await autocommit { transaction in try await transaction.checkpoint(id: id, lock: false) }
    }

    /// The checkpoints that match `query`, most recently updated first.
    public func checkpoints(_ query: CheckpointQuery) async throws -> [SessionCheckpoint] {
        try query.validate()
        var sql = SQL("SELECT body FROM checkpoints WHERE true")
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
    public func resolveCheckpoint(id: String, now: Date) async throws -> SessionCheckpoint {
        try await write { transaction in
            guard var checkpoint = try await transaction.checkpoint(id: id, lock: true) else {
                throw NightshiftError(.notFound, "no checkpoint with id \(id)", field: "id")
            }
            guard checkpoint.status != .resolved else { return checkpoint }
            checkpoint.status = .resolved
            checkpoint.updatedAt = SessionCheckpoint.roundedTime(now)
            try await transaction.writeCheckpoint(checkpoint)
            return checkpoint
        }
    }

    /// Archives the unarchived checkpoints (resolved, or active and stale) not updated for
    /// `olderThanDays` days; answers how many.
    public func cleanupCheckpoints(olderThanDays: Int, now: Date) async throws -> Int {
        guard olderThanDays > 0 else {
            throw NightshiftError.invalid("days", "expected a number of days ≥ 1, got \(olderThanDays)")
        }
        let cutoff = now.timeIntervalSince1970 - Double(olderThanDays) * 86_400
        return try await write { transaction in
            let rows = try await transaction.rows(
                SQL("SELECT body FROM checkpoints WHERE archived_at IS NULL AND updated_at < ")
                    .appending(.double(cutoff), " FOR UPDATE SKIP LOCKED"))
            for row in rows {
                var checkpoint = try Transaction.checkpoint(row)
                checkpoint.archivedAt = SessionCheckpoint.roundedTime(now)
                try await transaction.writeCheckpoint(checkpoint)
            }
            return rows.count
        }
    }

    /// The most recently updated unarchived active checkpoint of `agent` for the task or session.
    public func latestActiveCheckpoint(agent: String, taskID: TaskID?, sessionID: String?) async throws -> SessionCheckpoint? {
        var sql = SQL("SELECT body FROM checkpoints WHERE agent = ")
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
    public func recordQuarantined(_ file: QuarantinedCheckpoint) async throws {
        try await write { transaction in try await transaction.recordQuarantined(file) }
    }

    /// The quarantined files, most recent first.
    public func quarantinedCheckpoints(limit: Int) async throws -> [QuarantinedCheckpoint] {
        try await autocommit { transaction in
            try await transaction.rows(SQL("""
                SELECT file_name, quarantined_path, error, agent, task_id, time FROM quarantined_checkpoints
                ORDER BY seq DESC LIMIT 
                """).appending(.int(max(limit, 0))))
            .map { row in
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
    func checkpoint(id: String, lock: Bool) async throws -> SessionCheckpoint? {
        try await rows(SQL("SELECT body FROM checkpoints WHERE id = ").appending(.text(id), lock ? " FOR UPDATE" : ""))
            .first.map(Self.checkpoint)
    }

    static func checkpoint(_ row: PostgresRandomAccessRow) throws -> SessionCheckpoint {
        try JSONDecoder().decode(SessionCheckpoint.self, from: Data(row["body"].decode(String.self).utf8))
    }

    func writeCheckpoint(_ checkpoint: SessionCheckpoint) async throws {
        var sql = SQL("""
            INSERT INTO checkpoints (id, agent, session_id, task_id, phase, status, created_at, updated_at, archived_at, body)
            VALUES (
            """)
        sql.append(list: [
            .text(checkpoint.id), .text(checkpoint.agent), .text(checkpoint.sessionID), .text(checkpoint.taskID?.rawValue),
            .text(checkpoint.phase), .text(checkpoint.status.rawValue), .double(checkpoint.createdAt.timeIntervalSince1970),
            .double(checkpoint.updatedAt.timeIntervalSince1970), .double(checkpoint.archivedAt?.timeIntervalSince1970),
            .text(checkpoint.json.jsonText),
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
    func save(_ checkpoint: SessionCheckpoint) async throws -> SessionCheckpoint {
        var saved = checkpoint
        if saved.id.isEmpty {
            saved.id = UUIDv7.generate()
        } else if let created = try await rows(
            SQL("SELECT created_at FROM checkpoints WHERE id = ").appending(.text(saved.id), " FOR UPDATE")
        ).first {
            saved.createdAt = Date(timeIntervalSince1970: try created["created_at"].decode(Double.self))
        }
        try await writeCheckpoint(saved)
        return saved
    }

    /// Records a checkpoint file that was moved to quarantine.
    func recordQuarantined(_ file: QuarantinedCheckpoint) async throws {
        var sql = SQL("INSERT INTO quarantined_checkpoints (file_name, quarantined_path, error, agent, task_id, time) VALUES (")
        sql.append(list: [
            .text(file.fileName), .text(file.quarantinedPath), .text(file.error), .text(file.agent),
            .text(file.taskID?.rawValue), .double(file.time.timeIntervalSince1970),
        ])
        sql.append(")")
        try await rows(sql)
    }

    /// Saves a run's checkpoints and records its quarantined files (see ``SettlePlan/checkpoints``).
    func save(_ collection: CheckpointCollection) async throws {
        for file in collection.quarantined { try await recordQuarantined(file) }
        for checkpoint in collection.checkpoints { _ = try await save(checkpoint) }
    }

    /// Resolves the active checkpoints of tasks that just ended: nothing resumes from them any more.
    func resolveActiveCheckpoints(of tasks: [TaskID], now: Date) async throws {
        guard !tasks.isEmpty else { return }
        var sql = SQL("SELECT body FROM checkpoints WHERE task_id = ANY(")
        sql.append(.texts(tasks.map(\.rawValue)))
        sql.append(") AND status = 'active' ORDER BY id FOR UPDATE")
        for row in try await rows(sql) {
            var checkpoint = try Self.checkpoint(row)
            checkpoint.status = .resolved
            checkpoint.updatedAt = SessionCheckpoint.roundedTime(now)
            try await writeCheckpoint(checkpoint)
        }
    }
}
