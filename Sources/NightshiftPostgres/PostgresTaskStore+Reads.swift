import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The task with this id.
    public func task(_ id: TaskID) async throws -> AgentTask? {
        try await autocommit { transaction in try await transaction.task(id) }
    }

    /// The state and finish time of each of these tasks that exists, read 500 ids at a time.
    public func states(of ids: [TaskID]) async throws -> [TaskID: TaskStateRecord] {
        guard !ids.isEmpty else { return [:] }
        return try await autocommit { transaction in
            var states: [TaskID: TaskStateRecord] = [:]
            for chunk in ids.chunks(of: 500) {
                let sql = SQL("SELECT id, state, finished_at FROM tasks WHERE id = ANY(").appending(.texts(chunk.map(\.rawValue)), ")")
                for row in try await transaction.rows(sql) {
                    states[TaskID(trusted: try row["id"].decode(String.self))] = TaskStateRecord(
                        state: try PostgresRows.state(row["state"].decode(String.self)),
                        finishedAt: PostgresRows.date(try row["finished_at"].decode(Double?.self)))
                }
            }
            return states
        }
    }

    /// A task's events after `seq`, at most `limit`.
    public func events(task: TaskID, after seq: Int64, limit: Int) async throws -> [TaskEvent] {
        try await autocommit { transaction in
            var sql = SQL("SELECT * FROM task_events WHERE task_id = ")
            sql.append(.text(task.rawValue))
            sql.append(" AND seq > ")
            sql.append(.int(Int(seq)))
            sql.append(" ORDER BY seq LIMIT ")
            sql.append(.int(max(0, limit)))
            return try await transaction.rows(sql).map(PostgresRows.event)
        }
    }

    /// The hook stream after `seq`, at most `limit`. Hook events committed before the call are
    /// numbered first (see ``sequenceHooks()``), so a reader sees every move that returned.
    public func hookEvents(after seq: Int64, limit: Int) async throws -> [HookEvent] {
        try await sequenceHooks()
        return try await autocommit { transaction in
            var sql = SQL("SELECT * FROM hook_events WHERE seq > ")
            sql.append(.int(Int(seq)))
            sql.append(" ORDER BY seq LIMIT ")
            sql.append(.int(max(0, limit)))
            return try await transaction.rows(sql).map(PostgresRows.hookEvent)
        }
    }

    /// A task's runs, oldest first.
    public func runs(task: TaskID) async throws -> [Run] {
        try await autocommit { transaction in
            try await transaction.rows(SQL("SELECT * FROM runs WHERE task_id = ").appending(.text(task.rawValue), " ORDER BY attempt"))
                .map(PostgresRows.run)
        }
    }

    /// How many tasks are in each state (every state is present).
    public func countsByState() async throws -> [TaskState: Int] {
        try await autocommit { transaction in
            var counts: [TaskState: Int] = [:]
            for state in TaskState.allCases { counts[state] = 0 }
            for row in try await transaction.rows("SELECT state, count(*) AS n FROM tasks GROUP BY state") {
                counts[try PostgresRows.state(row["state"].decode(String.self))] = try row["n"].decode(Int.self)
            }
            return counts
        }
    }

    /// The earliest `available_at` after `now` among queued tasks.
    public func nextAvailableAt(after now: Date) async throws -> Date? {
        try await autocommit { transaction in
            try await transaction.rows(SQL("SELECT min(available_at) AS at FROM tasks WHERE state = 'queued' AND available_at > ")
                .appending(.double(now.timeIntervalSince1970)))
                .first.flatMap { try $0["at"].decode(Double?.self) }.map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Appends events to their tasks' logs, in one transaction.
    public func appendEvents(_ events: [NewTaskEvent]) async throws {
        guard !events.isEmpty else { return }
        let groups = events.groupedByTask
        try await write { transaction in
            for (task, events) in groups { try await transaction.appendEvents(task: task, events) }
        }
    }
}
