import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Inserts the checkpoint into `workspace` or replaces the one with its id there, keeping the
    /// first `created_at`.
    public func saveCheckpoint(_ checkpoint: SessionCheckpoint, workspace: String) async throws -> SessionCheckpoint {
        try checkpoint.validate()
        return try await writer.write { transaction in try transaction.save(checkpoint, workspace: workspace) }
    }

    /// The checkpoint with this id, archived or not.
    public func checkpoint(id: String, workspace: String?) async throws -> SessionCheckpoint? {
        try await read { db in try Self.checkpoint(id: id, workspace: workspace, in: db)?.checkpoint }
    }

    /// The checkpoints that match `query`, most recently updated first.
    public func checkpoints(_ query: CheckpointQuery) async throws -> [SessionCheckpoint] {
        try query.validate()
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let workspace = query.workspace {
            conditions.append("workspace_id = ?")
            arguments += [workspace]
        }
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
    public func resolveCheckpoint(id: String, now: Date, workspace: String?) async throws -> SessionCheckpoint {
        try await writer.write { transaction in
            guard let (found, owner) = try Self.checkpoint(id: id, workspace: workspace, in: transaction.db) else {
                throw NightshiftError(.notFound, "no checkpoint with id \(id)", field: "id")
            }
            var checkpoint = found
            guard checkpoint.status != .resolved else { return checkpoint }
            checkpoint.status = .resolved
            checkpoint.updatedAt = SessionCheckpoint.roundedTime(now)
            try Self.write(checkpoint, workspace: owner, in: transaction.db)
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
        return try await writer.write { transaction in
            let rows = try Row.fetchAll(
                transaction.db,
                sql: "SELECT body, workspace_id FROM checkpoints WHERE archived_at IS NULL AND updated_at < ? AND (?2 IS NULL OR workspace_id = ?2)",
                arguments: [cutoff, workspace])
            for row in rows {
                var checkpoint = try Self.decode(row["body"])
                checkpoint.archivedAt = SessionCheckpoint.roundedTime(now)
                try Self.write(checkpoint, workspace: row["workspace_id"], in: transaction.db)
            }
            return rows.count
        }
    }

    /// The most recently updated unarchived active checkpoint of `agent` for the task or session.
    public func latestActiveCheckpoint(
        agent: String, taskID: TaskID?, sessionID: String?, workspace: String
    ) async throws -> SessionCheckpoint? {
        var sql = "SELECT body FROM checkpoints WHERE workspace_id = ? AND agent = ? AND status = 'active' AND archived_at IS NULL"
        var arguments: StatementArguments = [workspace, agent]
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
    public func recordQuarantined(_ file: QuarantinedCheckpoint, workspace: String) async throws {
        try await writer.write { transaction in try transaction.recordQuarantined(file, workspace: workspace) }
    }

    /// The quarantined files, most recent first.
    public func quarantinedCheckpoints(limit: Int, workspace: String?) async throws -> [QuarantinedCheckpoint] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT file_name, quarantined_path, error, agent, task_id, time FROM quarantined_checkpoints
                    WHERE ?1 IS NULL OR workspace_id = ?1 ORDER BY seq DESC LIMIT ?2
                    """,
                arguments: [workspace, max(limit, 0)]
            ).map { row in
                let taskID: String? = row[4]
                return QuarantinedCheckpoint(
                    fileName: row[0], quarantinedPath: row[1], error: row[2], agent: row[3],
                    taskID: taskID.map(TaskID.init(trusted:)), time: Date(timeIntervalSince1970: row[5]))
            }
        }
    }

    // MARK: Rows

    /// The checkpoint with this id, if it is `workspace`'s (any with `nil`), and its workspace.
    private static func checkpoint(id: String, workspace: String?, in db: Database) throws -> (checkpoint: SessionCheckpoint, workspace: String)? {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT body, workspace_id FROM checkpoints WHERE id = ?1 AND (?2 IS NULL OR workspace_id = ?2)",
            arguments: [id, workspace])
        else { return nil }
        return (try decode(row["body"]), row["workspace_id"])
    }

    /// A checkpoint id is unique across workspaces: another workspace's is refused, without saying whose.
    static func checkpointIDTaken(_ id: String) -> NightshiftError {
        NightshiftError(.conflict, "checkpoint id \(id) is taken; leave the id out to get a new one", field: "id")
    }

    static func decode(_ body: String) throws -> SessionCheckpoint {
        try JSONDecoder().decode(SessionCheckpoint.self, from: Data(body.utf8))
    }

    static func write(_ checkpoint: SessionCheckpoint, workspace: String, in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO checkpoints (id, agent, session_id, task_id, phase, status, created_at, updated_at, archived_at, body, workspace_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET agent = excluded.agent, session_id = excluded.session_id,
                    task_id = excluded.task_id, phase = excluded.phase, status = excluded.status,
                    updated_at = excluded.updated_at, archived_at = excluded.archived_at, body = excluded.body
                """,
            arguments: [
                checkpoint.id, checkpoint.agent, checkpoint.sessionID, checkpoint.taskID?.rawValue, checkpoint.phase,
                checkpoint.status.rawValue, checkpoint.createdAt.timeIntervalSince1970,
                checkpoint.updatedAt.timeIntervalSince1970, checkpoint.archivedAt?.timeIntervalSince1970,
                checkpoint.json.jsonText, workspace,
            ])
    }
}

extension WriteTransaction {
    /// Inserts the checkpoint or replaces the one with its id, keeping the first `created_at`; an
    /// empty id gets a new UUIDv7. Answers the checkpoint as stored.
    func save(_ checkpoint: SessionCheckpoint, workspace: String) throws -> SessionCheckpoint {
        var saved = checkpoint
        if saved.id.isEmpty {
            saved.id = UUIDv7.generate()
        } else if let row = try Row.fetchOne(db, sql: "SELECT created_at, workspace_id FROM checkpoints WHERE id = ?", arguments: [saved.id]) {
            guard row["workspace_id"] == workspace else { throw SQLiteTaskStore.checkpointIDTaken(saved.id) }
            saved.createdAt = Date(timeIntervalSince1970: row["created_at"])
        }
        try SQLiteTaskStore.write(saved, workspace: workspace, in: db)
        return saved
    }

    /// Records a checkpoint file that was moved to quarantine.
    func recordQuarantined(_ file: QuarantinedCheckpoint, workspace: String) throws {
        try db.execute(
            sql: """
                INSERT INTO quarantined_checkpoints (file_name, quarantined_path, error, agent, task_id, time, workspace_id)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                file.fileName, file.quarantinedPath, file.error, file.agent, file.taskID?.rawValue,
                file.time.timeIntervalSince1970, workspace,
            ])
    }

    /// Saves the checkpoints runs left and records their quarantined files, each in its task's
    /// workspace (see ``SettlePlan/checkpoints``).
    func save(_ collections: [(workspace: String, collection: CheckpointCollection)]) throws {
        for (workspace, collection) in collections {
            for file in collection.quarantined { try recordQuarantined(file, workspace: workspace) }
            for checkpoint in collection.checkpoints { _ = try save(checkpoint, workspace: workspace) }
        }
    }

    /// Resolves the active checkpoints of tasks that just ended: nothing resumes from them any more.
    func resolveActiveCheckpoints(of tasks: [TaskID], now: Date) throws {
        guard !tasks.isEmpty else { return }
        // Cached statements (one per batch size, as the moves' own): settles run them for every
        // batch that ends tasks. Most ended tasks keep no checkpoint: a lookup first spares them
        // the time's text form. The body's status and time are set in place, as the columns are.
        let time = SessionCheckpoint.roundedTime(now)
        var stamp: String?
        for chunk in tasks.chunks(of: Self.rowsPerStatement) {
            let ids = chunk.map(\.rawValue)
            let active = try Bool.fetchOne(db.cachedStatement(sql: """
                SELECT 1 FROM checkpoints WHERE status = 'active' AND task_id IN (\(Self.parameters(chunk.count))) LIMIT 1
                """), arguments: StatementArguments(ids)) ?? false
            guard active else { continue }
            if stamp == nil { stamp = JSONTime.text(time) }
            try db.cachedStatement(sql: """
                UPDATE checkpoints SET status = 'resolved', updated_at = ?,
                    body = json_set(body, '$.status', 'resolved', '$.updated_at', ?)
                WHERE status = 'active' AND task_id IN (\(Self.parameters(chunk.count)))
                """).execute(arguments: StatementArguments([time.timeIntervalSince1970, stamp] + ids))
        }
    }
}
