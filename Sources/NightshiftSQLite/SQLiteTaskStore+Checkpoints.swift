import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Inserts the checkpoint or replaces the one with its id, keeping the first `created_at`.
    public func saveCheckpoint(_ checkpoint: SessionCheckpoint) async throws -> SessionCheckpoint {
        try checkpoint.validate()
        return try await writer.write { transaction in try transaction.save(checkpoint) }
    }

    /// The checkpoint with this id, archived or not.
    public func checkpoint(id: String) async throws -> SessionCheckpoint? {
        try await read { db in try Self.checkpoint(id: id, in: db) }
    }

    /// The checkpoints that match `query`, most recently updated first.
    public func checkpoints(_ query: CheckpointQuery) async throws -> [SessionCheckpoint] {
        try query.validate()
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if !query.includeArchived { conditions.append("archived_at IS NULL") }
        if let agent = query.agent {
            conditions.append("agent = ?")
            arguments += [agent]
        }
        if let status = query.status {
            conditions.append("status = ?")
            arguments += [status.rawValue]
        }
        if let maxAge = query.maxAge {
            conditions.append("updated_at >= ?")
            arguments += [query.now.timeIntervalSince1970 - maxAge]
        }
        if let taskID = query.taskID {
            conditions.append("task_id = ?")
            arguments += [taskID.rawValue]
        }
        arguments += [query.limit]
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT body FROM checkpoints \(filter) ORDER BY updated_at DESC, id DESC LIMIT ?"
        return try await read { [arguments] db in
            try String.fetchAll(db, sql: sql, arguments: arguments).map(Self.decode)
        }
    }

    /// Marks the checkpoint resolved; a resolved one is answered unchanged.
    public func resolveCheckpoint(id: String, now: Date) async throws -> SessionCheckpoint {
        try await writer.write { transaction in
            guard var checkpoint = try Self.checkpoint(id: id, in: transaction.db) else {
                throw NightshiftError(.notFound, "no checkpoint with id \(id)", field: "id")
            }
            guard checkpoint.status != .resolved else { return checkpoint }
            checkpoint.status = .resolved
            checkpoint.updatedAt = SessionCheckpoint.roundedTime(now)
            try Self.write(checkpoint, in: transaction.db)
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
        return try await writer.write { transaction in
            let bodies = try String.fetchAll(
                transaction.db, sql: "SELECT body FROM checkpoints WHERE archived_at IS NULL AND updated_at < ?",
                arguments: [cutoff])
            for body in bodies {
                var checkpoint = try Self.decode(body)
                checkpoint.archivedAt = SessionCheckpoint.roundedTime(now)
                try Self.write(checkpoint, in: transaction.db)
            }
            return bodies.count
        }
    }

    /// The most recently updated unarchived active checkpoint of `agent` for the task or session.
    public func latestActiveCheckpoint(agent: String, taskID: TaskID?, sessionID: String?) async throws -> SessionCheckpoint? {
        var sql = "SELECT body FROM checkpoints WHERE agent = ? AND status = 'active' AND archived_at IS NULL"
        var arguments: StatementArguments = [agent]
        if taskID != nil || sessionID != nil {
            sql += " AND (task_id = ? OR session_id = ?)"
            arguments += [taskID?.rawValue, sessionID]
        }
        sql += " ORDER BY updated_at DESC, id DESC LIMIT 1"
        return try await read { [sql, arguments] db in
            try String.fetchOne(db, sql: sql, arguments: arguments).map(Self.decode)
        }
    }

    /// Records a checkpoint file that was moved to quarantine.
    public func recordQuarantined(_ file: QuarantinedCheckpoint) async throws {
        try await writer.write { transaction in try transaction.recordQuarantined(file) }
    }

    /// The quarantined files, most recent first.
    public func quarantinedCheckpoints(limit: Int) async throws -> [QuarantinedCheckpoint] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT file_name, quarantined_path, error, agent, task_id, time FROM quarantined_checkpoints
                    ORDER BY seq DESC LIMIT ?
                    """,
                arguments: [max(limit, 0)]
            ).map { row in
                let taskID: String? = row[4]
                return QuarantinedCheckpoint(
                    fileName: row[0], quarantinedPath: row[1], error: row[2], agent: row[3],
                    taskID: taskID.map(TaskID.init(trusted:)), time: Date(timeIntervalSince1970: row[5]))
            }
        }
    }

    // MARK: Rows

    private static func checkpoint(id: String, in db: Database) throws -> SessionCheckpoint? {
        try String.fetchOne(db, sql: "SELECT body FROM checkpoints WHERE id = ?", arguments: [id]).map(decode)
    }

    static func decode(_ body: String) throws -> SessionCheckpoint {
        try JSONDecoder().decode(SessionCheckpoint.self, from: Data(body.utf8))
    }

    static func write(_ checkpoint: SessionCheckpoint, in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO checkpoints (id, agent, session_id, task_id, phase, status, created_at, updated_at, archived_at, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET agent = excluded.agent, session_id = excluded.session_id,
                    task_id = excluded.task_id, phase = excluded.phase, status = excluded.status,
                    updated_at = excluded.updated_at, archived_at = excluded.archived_at, body = excluded.body
                """,
            arguments: [
                checkpoint.id, checkpoint.agent, checkpoint.sessionID, checkpoint.taskID?.rawValue, checkpoint.phase,
                checkpoint.status.rawValue, checkpoint.createdAt.timeIntervalSince1970,
                checkpoint.updatedAt.timeIntervalSince1970, checkpoint.archivedAt?.timeIntervalSince1970,
                checkpoint.json.jsonText,
            ])
    }
}

extension WriteTransaction {
    /// Inserts the checkpoint or replaces the one with its id, keeping the first `created_at`; an
    /// empty id gets a new UUIDv7. Answers the checkpoint as stored.
    func save(_ checkpoint: SessionCheckpoint) throws -> SessionCheckpoint {
        var saved = checkpoint
        if saved.id.isEmpty {
            saved.id = UUIDv7.generate()
        } else if let created = try Double.fetchOne(db, sql: "SELECT created_at FROM checkpoints WHERE id = ?", arguments: [saved.id]) {
            saved.createdAt = Date(timeIntervalSince1970: created)
        }
        try SQLiteTaskStore.write(saved, in: db)
        return saved
    }

    /// Records a checkpoint file that was moved to quarantine.
    func recordQuarantined(_ file: QuarantinedCheckpoint) throws {
        try db.execute(
            sql: """
                INSERT INTO quarantined_checkpoints (file_name, quarantined_path, error, agent, task_id, time)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                file.fileName, file.quarantinedPath, file.error, file.agent, file.taskID?.rawValue, file.time.timeIntervalSince1970,
            ])
    }

    /// Saves a run's checkpoints and records its quarantined files (see ``SettlePlan/checkpoints``).
    func save(_ collection: CheckpointCollection) throws {
        for file in collection.quarantined { try recordQuarantined(file) }
        for checkpoint in collection.checkpoints { _ = try save(checkpoint) }
    }

    /// Resolves the active checkpoints of tasks that just ended: nothing resumes from them any more.
    func resolveActiveCheckpoints(of tasks: [TaskID], now: Date) throws {
        guard !tasks.isEmpty else { return }
        let bodies = try String.fetchAll(
            db, sql: "SELECT body FROM checkpoints WHERE task_id IN (\(databaseQuestionMarks(count: tasks.count))) AND status = 'active'",
            arguments: StatementArguments(tasks.map(\.rawValue)))
        for body in bodies {
            var checkpoint = try SQLiteTaskStore.decode(body)
            checkpoint.status = .resolved
            checkpoint.updatedAt = SessionCheckpoint.roundedTime(now)
            try SQLiteTaskStore.write(checkpoint, in: db)
        }
    }
}
