import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The consumer, created at ack 0 on first use (see ``HookConsumerStore/hookConsumer(_:workspace:now:)``).
    public func hookConsumer(_ name: String, workspace: String, now: Date) async throws -> HookConsumer {
        // Numbered first, so that the lag counts every event committed before the call.
        try await sequenceHooks()
        // A poll reads; only a consumer's first use writes.
        if let known = try await autocommit({ transaction in try await transaction.hookConsumer(name, workspace: workspace) }) { return known }
        return try await write { transaction in
            var sql = SQL("INSERT INTO hook_consumers (workspace_id, name, ack_seq, created_at, updated_at) VALUES (")
            sql.append(list: [.text(workspace), .text(name), .int(0), .double(now.timeIntervalSince1970), .double(now.timeIntervalSince1970)])
            sql.append(") ON CONFLICT (workspace_id, name) DO NOTHING")
            try await transaction.rows(sql)
            return try await transaction.hookConsumer(name, workspace: workspace)!
        }
    }

    /// Moves a consumer's ack forward (see ``HookConsumerStore/ackHookConsumer(_:seq:workspace:now:)``).
    public func ackHookConsumer(_ name: String, seq: Int64, workspace: String, now: Date) async throws -> HookConsumer {
        // Numbered first: an ack may name an event committed just before it.
        try await sequenceHooks()
        return try await write { transaction in
            var read = SQL("SELECT ack_seq, (SELECT seq FROM hook_stream) AS last FROM hook_consumers WHERE workspace_id = ")
            read.append(.text(workspace))
            read.append(" AND name = ")
            read.append(.text(name))
            read.append(" FOR UPDATE")
            guard let row = try await transaction.rows(read).first else { throw NightshiftError.consumerNotFound(name) }
            let current = try row["ack_seq"].decode(Int64.self)
            let last = try row["last"].decode(Int64?.self) ?? 0
            guard seq >= current else { throw NightshiftError.ackBehind(seq, current: current) }
            guard seq <= last else { throw NightshiftError.ackBeyond(seq, last: last) }
            if seq > current {
                var sql = SQL("UPDATE hook_consumers SET ack_seq = ")
                sql.append(.int(Int(seq)))
                sql.append(", updated_at = ")
                sql.append(.double(now.timeIntervalSince1970))
                sql.append(" WHERE workspace_id = ")
                sql.append(.text(workspace))
                sql.append(" AND name = ")
                sql.append(.text(name))
                try await transaction.rows(sql)
            }
            return try await transaction.hookConsumer(name, workspace: workspace)!
        }
    }

    /// The workspace's consumers with their lag.
    public func hookConsumers(workspace: String) async throws -> [HookConsumer] {
        try await sequenceHooks()
        return try await autocommit { transaction in
            var sql = SQL("\(Transaction.consumerSelect) WHERE c.workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" ORDER BY c.name")
            return try await transaction.rows(sql).map(Transaction.consumer)
        }
    }

    /// Forgets a consumer.
    public func deleteHookConsumer(_ name: String, workspace: String) async throws -> Bool {
        try await write { transaction in
            var sql = SQL("DELETE FROM hook_consumers WHERE workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" AND name = ")
            sql.append(.text(name))
            sql.append(" RETURNING 1")
            return try await !transaction.rows(sql).isEmpty
        }
    }

    /// The workspace's hook events after `seq`; hook events committed before the call are
    /// numbered first (see ``stream(after:limit:workspace:)``).
    public func hookEvents(after seq: Int64, limit: Int, workspace: String) async throws -> [HookEvent] {
        try await stream(after: seq, limit: limit, workspace: workspace)
    }

    /// The hook events after `seq` (of `workspace`, or of all), at most `limit`, in order, the
    /// ones committed before the call included. Events not numbered yet come after every
    /// numbered one: a reader behind the stream (a full page of numbered events) gets its page
    /// without numbering any, and only one that has caught up runs the sequencer, then reads
    /// again. (A webhook delivering a backlog would otherwise number a few events at a time, many
    /// times a second, beside the writers.)
    func stream(after seq: Int64, limit: Int, workspace: String?) async throws -> [HookEvent] {
        let numbered = try await numberedHookEvents(after: seq, limit: limit, workspace: workspace)
        guard numbered.count < limit else { return numbered }
        try await sequenceHooks()
        return try await numberedHookEvents(after: seq, limit: limit, workspace: workspace)
    }

    /// The numbered hook events after `seq` (of `workspace`, or of all), at most `limit`, in order.
    private func numberedHookEvents(after seq: Int64, limit: Int, workspace: String?) async throws -> [HookEvent] {
        try await autocommit { transaction in
            var sql = SQL("SELECT * FROM hook_events WHERE seq > ")
            sql.append(.int(Int(seq)))
            if let workspace {
                sql.append(" AND workspace_id = ")
                sql.append(.text(workspace))
            }
            sql.append(" ORDER BY seq LIMIT ")
            sql.append(.int(max(0, limit)))
            return try await transaction.rows(sql).map(PostgresRows.hookEvent)
        }
    }

    /// Appends application events (see ``HookConsumerStore/appendHookEvents(_:workspace:now:)``).
    public func appendHookEvents(_ events: [NewHookEvent], workspace: String, now: Date) async throws {
        guard !events.isEmpty else { return }
        for event in events { try event.validate() }
        try await write { transaction in
            for event in events {
                guard try await transaction.task(event.taskID, workspace: workspace) != nil else { throw NightshiftError.taskNotFound(event.taskID) }
            }
            try await transaction.appendHookEvents(events, workspace: workspace, now: now)
        }
    }

    /// Prunes acked hook events (see ``HookConsumerStore/pruneHookEvents(before:)``).
    public func pruneHookEvents(before cutoff: Date) async throws -> Int {
        try await write { transaction in
            var sql = SQL("DELETE FROM hook_events WHERE time < ")
            sql.append(.double(cutoff.timeIntervalSince1970))
            sql.append("""
                 AND seq < (SELECT seq FROM hook_stream)
                 AND seq <= COALESCE((SELECT min(position) FROM (
                    SELECT ack_seq AS position FROM hook_consumers c WHERE c.workspace_id = hook_events.workspace_id
                    UNION ALL SELECT cursor FROM webhooks w WHERE w.workspace_id = hook_events.workspace_id) AS positions), seq)
                 RETURNING 1
                """)
            let pruned = try await transaction.rows(sql).count
            var log = SQL("DELETE FROM webhook_deliveries WHERE time < ")
            log.append(.double(cutoff.timeIntervalSince1970))
            try await transaction.rows(log)
            return pruned
        }
    }

    /// The queued tasks available since before `cutoff`.
    public func stuckQueued(availableBefore cutoff: Date, workspace: String?, limit: Int) async throws -> [AgentTask] {
        try await tasks(in: .queued, before: cutoff, by: "available_at", workspace: workspace, limit: limit)
    }
}

extension Transaction {
    /// A consumer's row with its lag: the workspace's events after its ack.
    static let consumerSelect = """
        SELECT c.*, (SELECT count(*) FROM hook_events e WHERE e.workspace_id = c.workspace_id AND e.seq > c.ack_seq) AS lag
        FROM hook_consumers c
        """

    func hookConsumer(_ name: String, workspace: String) async throws -> HookConsumer? {
        var sql = SQL("\(Self.consumerSelect) WHERE c.workspace_id = ")
        sql.append(.text(workspace))
        sql.append(" AND c.name = ")
        sql.append(.text(name))
        return try await rows(sql).first.map(Self.consumer)
    }

    static func consumer(_ row: PostgresRandomAccessRow) throws -> HookConsumer {
        HookConsumer(
            name: try row["name"].decode(String.self), workspaceID: try row["workspace_id"].decode(String.self),
            ackSeq: try row["ack_seq"].decode(Int64.self), lag: try row["lag"].decode(Int64.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            updatedAt: Date(timeIntervalSince1970: try row["updated_at"].decode(Double.self)))
    }

    /// Appends application events, validated, to the hook stream (numbered by the sequencer).
    func appendHookEvents(_ events: [NewHookEvent], workspace: String, now: Date) async throws {
        guard !events.isEmpty else { return }
        hooks.mark()
        var sql = SQL("INSERT INTO hook_pending (time, task_id, type, data, workspace_id) VALUES ")
        for (index, event) in events.enumerated() {
            sql.append(index == 0 ? "(" : ", (")
            sql.append(list: [.double(now.timeIntervalSince1970), .text(event.taskID.rawValue), .text(event.type), .text(event.data.jsonText), .text(workspace)])
            sql.append(")")
        }
        try await rows(sql)
    }
}
