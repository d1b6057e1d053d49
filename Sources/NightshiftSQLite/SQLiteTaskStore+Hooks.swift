import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// The consumer, created at ack 0 on first use (see ``HookConsumerStore/hookConsumer(_:workspace:now:)``).
    public func hookConsumer(_ name: String, workspace: String, now: Date) async throws -> HookConsumer {
        // A poll reads; only a consumer's first use writes.
        if let known = try await read({ db in try Self.consumer(name, workspace: workspace, in: db) }) { return known }
        return try await writer.write { transaction in
            try transaction.db.cachedStatement(sql: """
                INSERT INTO hook_consumers (workspace_id, name, ack_seq, created_at, updated_at) VALUES (?1, ?2, 0, ?3, ?3)
                ON CONFLICT (workspace_id, name) DO NOTHING
                """).execute(arguments: [workspace, name, now.timeIntervalSince1970])
            return try Self.consumer(name, workspace: workspace, in: transaction.db)!
        }
    }

    /// Moves a consumer's ack forward (see ``HookConsumerStore/ackHookConsumer(_:seq:workspace:now:)``).
    public func ackHookConsumer(_ name: String, seq: Int64, workspace: String, now: Date) async throws -> HookConsumer {
        try await writer.write { transaction in
            let db = transaction.db
            guard let current = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT ack_seq FROM hook_consumers WHERE workspace_id = ? AND name = ?"), arguments: [workspace, name])
            else { throw NightshiftError.consumerNotFound(name) }
            guard seq >= current else { throw NightshiftError.ackBehind(seq, current: current) }
            let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM hook_events")) ?? 0
            guard seq <= last else { throw NightshiftError.ackBeyond(seq, last: last) }
            if seq > current {
                try db.cachedStatement(sql: "UPDATE hook_consumers SET ack_seq = ?, updated_at = ? WHERE workspace_id = ? AND name = ?")
                    .execute(arguments: [seq, now.timeIntervalSince1970, workspace, name])
            }
            return try Self.consumer(name, workspace: workspace, in: db)!
        }
    }

    /// The workspace's consumers with their lag.
    public func hookConsumers(workspace: String) async throws -> [HookConsumer] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "\(Self.consumerSelect) WHERE c.workspace_id = ? ORDER BY c.name"), arguments: [workspace]
            ).map(Self.consumer)
        }
    }

    /// Forgets a consumer.
    public func deleteHookConsumer(_ name: String, workspace: String) async throws -> Bool {
        try await writer.write { transaction in
            try transaction.db.cachedStatement(sql: "DELETE FROM hook_consumers WHERE workspace_id = ? AND name = ?")
                .execute(arguments: [workspace, name])
            return transaction.db.changesCount > 0
        }
    }

    /// The workspace's hook events after `seq`.
    public func hookEvents(after seq: Int64, limit: Int, workspace: String) async throws -> [HookEvent] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM hook_events WHERE workspace_id = ? AND seq > ? ORDER BY seq LIMIT ?"),
                arguments: [workspace, seq, max(0, limit)]
            ).map(SQLiteRows.hookEvent)
        }
    }

    /// Appends application events (see ``HookConsumerStore/appendHookEvents(_:workspace:now:)``).
    public func appendHookEvents(_ events: [NewHookEvent], workspace: String, now: Date) async throws {
        guard !events.isEmpty else { return }
        for event in events { try event.validate() }
        try await writer.write { transaction in
            for event in events {
                guard try transaction.taskWorkspace(event.taskID) == workspace else { throw NightshiftError.taskNotFound(event.taskID) }
            }
            try transaction.appendHookEvents(events, workspace: workspace, now: now)
        }
    }

    /// Prunes acked hook events (see ``HookConsumerStore/pruneHookEvents(before:)``).
    public func pruneHookEvents(before cutoff: Date) async throws -> Int {
        try await writer.write { transaction in
            try transaction.db.execute(
                sql: """
                    DELETE FROM hook_events WHERE time < ?1
                    AND seq < (SELECT MAX(seq) FROM hook_events)
                    AND seq <= COALESCE((SELECT MIN(position) FROM (
                        SELECT ack_seq AS position FROM hook_consumers c WHERE c.workspace_id = hook_events.workspace_id
                        UNION ALL SELECT cursor FROM webhooks w WHERE w.workspace_id = hook_events.workspace_id)), seq)
                    """,
                arguments: [cutoff.timeIntervalSince1970])
            let pruned = transaction.db.changesCount
            try transaction.db.execute(sql: "DELETE FROM webhook_deliveries WHERE time < ?", arguments: [cutoff.timeIntervalSince1970])
            return pruned
        }
    }

    /// The queued tasks available since before `cutoff`.
    public func stuckQueued(availableBefore cutoff: Date, workspace: String?, limit: Int) async throws -> [AgentTask] {
        try await tasks(in: .queued, before: cutoff, by: "available_at", workspace: workspace, limit: limit)
    }

    /// A consumer's row with its lag: the workspace's events after its ack.
    static let consumerSelect = """
        SELECT c.*, (SELECT count(*) FROM hook_events e WHERE e.workspace_id = c.workspace_id AND e.seq > c.ack_seq) AS lag
        FROM hook_consumers c
        """

    static func consumer(_ name: String, workspace: String, in db: Database) throws -> HookConsumer? {
        try Row.fetchOne(
            db.cachedStatement(sql: "\(consumerSelect) WHERE c.workspace_id = ? AND c.name = ?"), arguments: [workspace, name]
        ).map(consumer)
    }

    static func consumer(_ row: Row) -> HookConsumer {
        HookConsumer(
            name: row["name"], workspaceID: row["workspace_id"], ackSeq: row["ack_seq"], lag: row["lag"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]), updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }
}

extension WriteTransaction {
    /// The workspace of task `id`, `nil` if there is no such task.
    func taskWorkspace(_ id: TaskID) throws -> String? {
        try String.fetchOne(db.cachedStatement(sql: "SELECT workspace_id FROM tasks WHERE id = ?"), arguments: [id.rawValue])
    }

    /// Appends application events, validated, to the hook stream.
    func appendHookEvents(_ events: [NewHookEvent], workspace: String, now: Date) throws {
        guard !events.isEmpty else { return }
        let statement = try db.cachedStatement(sql: "INSERT INTO hook_events (time, task_id, type, data, workspace_id) VALUES (?, ?, ?, ?, ?)")
        for event in events {
            try statement.execute(arguments: [now.timeIntervalSince1970, event.taskID.rawValue, event.type, event.data.jsonText, workspace])
        }
        appendedHooks = true
    }
}
