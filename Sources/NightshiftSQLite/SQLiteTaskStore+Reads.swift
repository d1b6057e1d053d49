import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// The task with this id.
    public func task(_ id: TaskID) async throws -> AgentTask? {
        try await read { db in try SQLiteRows.task(id, in: db) }
    }

    /// The state and finish time of each of these tasks that exists, read 500 ids at a time.
    public func states(of ids: [TaskID]) async throws -> [TaskID: TaskStateRecord] {
        guard !ids.isEmpty else { return [:] }
        return try await read { db in
            var states: [TaskID: TaskStateRecord] = [:]
            for chunk in ids.chunks(of: 500) {
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT id, state, finished_at FROM tasks WHERE id IN (\(databaseQuestionMarks(count: chunk.count)))",
                    arguments: StatementArguments(chunk.map(\.rawValue)))
                while let row = try rows.next() {
                    states[TaskID(trusted: row[0])] = TaskStateRecord(state: try SQLiteRows.state(row[1]), finishedAt: SQLiteRows.date(row[2]))
                }
            }
            return states
        }
    }

    /// A task's events after `seq`, at most `limit`.
    public func events(task: TaskID, after seq: Int64, limit: Int) async throws -> [TaskEvent] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM task_events WHERE task_id = ? AND seq > ? ORDER BY seq LIMIT ?"),
                arguments: [task.rawValue, seq, max(0, limit)]
            ).map(SQLiteRows.event)
        }
    }

    /// The hook stream after `seq`, at most `limit`.
    public func hookEvents(after seq: Int64, limit: Int) async throws -> [HookEvent] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM hook_events WHERE seq > ? ORDER BY seq LIMIT ?"),
                arguments: [seq, max(0, limit)]
            ).map(SQLiteRows.hookEvent)
        }
    }

    /// A task's runs, oldest first.
    public func runs(task: TaskID) async throws -> [Run] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE task_id = ? ORDER BY attempt", arguments: [task.rawValue])
                .map(SQLiteRows.run)
        }
    }

    /// How many tasks are in each state.
    public func countsByState() async throws -> [TaskState: Int] {
        try await read { db in
            var counts: [TaskState: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, n FROM state_counts") {
                counts[try SQLiteRows.state(row["state"])] = row["n"]
            }
            return counts
        }
    }

    /// The earliest `available_at` after `now` among queued tasks.
    ///
    /// There is no index on `available_at` alone: keeping one costs every claim a write to a
    /// tree as large as the queue. Instead this skips through `tasks_ready` one priority at a
    /// time, so its cost grows with the number of distinct priorities in the queue, not its length.
    public func nextAvailableAt(after now: Date) async throws -> Date? {
        try await read { db in
            try Double.fetchOne(
                db.cachedStatement(sql: """
                    WITH RECURSIVE levels(priority) AS (
                        SELECT MIN(priority) FROM tasks INDEXED BY tasks_ready WHERE state = 'queued'
                        UNION ALL
                        SELECT (SELECT MIN(priority) FROM tasks INDEXED BY tasks_ready
                                WHERE state = 'queued' AND priority > levels.priority)
                        FROM levels WHERE levels.priority IS NOT NULL
                    )
                    SELECT MIN((SELECT MIN(available_at) FROM tasks INDEXED BY tasks_ready
                                WHERE state = 'queued' AND priority = levels.priority AND available_at > ?1))
                    FROM levels WHERE levels.priority IS NOT NULL
                    """),
                arguments: [now.timeIntervalSince1970]
            ).map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// Appends events to their tasks' logs.
    public func appendEvents(_ events: [NewTaskEvent]) async throws {
        guard !events.isEmpty else { return }
        let groups = events.groupedByTask
        try await writer.write(.shared) { transaction in
            for (task, events) in groups { try transaction.appendEvents(task: task, events) }
        }
    }
}
