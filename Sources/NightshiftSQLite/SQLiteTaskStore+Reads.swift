import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// The task with this id, if it is `workspace`'s (any workspace's with `nil`).
    public func task(_ id: TaskID, workspace: String?) async throws -> AgentTask? {
        try await read { db in try SQLiteRows.task(id, workspace: workspace, in: db) }
    }

    /// The state and finish time of each of these tasks that exists, read 500 ids at a time.
    public func states(of ids: [TaskID]) async throws -> [TaskID: TaskStateRecord] {
        guard !ids.isEmpty else { return [:] }
        return try await read { db in
            var states: [TaskID: TaskStateRecord] = [:]
            for chunk in ids.chunks(of: 500) {
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT id, state, finished_at, pause_requested FROM tasks WHERE id IN (\(databaseQuestionMarks(count: chunk.count)))",
                    arguments: StatementArguments(chunk.map(\.rawValue)))
                while let row = try rows.next() {
                    states[TaskID(trusted: row[0])] = TaskStateRecord(
                        state: try SQLiteRows.state(row[1]), finishedAt: SQLiteRows.date(row[2]), pauseRequested: row[3])
                }
            }
            return states
        }
    }

    /// A task's events after `seq`, at most `limit` (none when the task is not `workspace`'s).
    public func events(task: TaskID, after seq: Int64, limit: Int, workspace: String?) async throws -> [TaskEvent] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT * FROM task_events WHERE task_id = ?1 AND seq > ?2 AND (?4 IS NULL OR workspace_id = ?4)
                    ORDER BY seq LIMIT ?3
                    """),
                arguments: [task.rawValue, seq, max(0, limit), workspace]
            ).map(SQLiteRows.event)
        }
    }

    /// A task's events of `type`, newest first, at most `limit`.
    public func events(task: TaskID, type: String, limit: Int, workspace: String?) async throws -> [TaskEvent] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT * FROM task_events WHERE task_id = ?1 AND type = ?2 AND (?4 IS NULL OR workspace_id = ?4)
                    ORDER BY seq DESC LIMIT ?3
                    """),
                arguments: [task.rawValue, type, max(0, limit), workspace]
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

    /// The hook stream after `seq` without the events' data (not read, not parsed).
    public func hookEventHeads(after seq: Int64, limit: Int) async throws -> [HookEvent] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT seq, time, task_id, type, workspace_id FROM hook_events WHERE seq > ? ORDER BY seq LIMIT ?"),
                arguments: [seq, max(0, limit)]
            ).map { row in
                HookEvent(
                    seq: row["seq"], time: Date(timeIntervalSince1970: row["time"]), taskID: TaskID(trusted: row["task_id"]), type: row["type"],
                    data: [:], workspaceID: row["workspace_id"])
            }
        }
    }

    /// A task's runs, oldest first (none when the task is not `workspace`'s).
    public func runs(task: TaskID, workspace: String?) async throws -> [Run] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM runs WHERE task_id = ?1 AND (?2 IS NULL OR workspace_id = ?2) ORDER BY attempt",
                arguments: [task.rawValue, workspace]
            ).map(SQLiteRows.run)
        }
    }

    /// A workflow task's recorded steps, by position, and the names it declared.
    public func steps(task: TaskID, workspace: String?) async throws -> TaskSteps {
        try await read { db in
            let recorded = try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT s.* FROM task_steps s JOIN tasks t ON t.id = s.task_id
                    WHERE s.task_id = ?1 AND (?2 IS NULL OR t.workspace_id = ?2) ORDER BY s.position
                    """),
                arguments: [task.rawValue, workspace]
            ).map(SQLiteRows.step)
            let declared = try String.fetchOne(
                db.cachedStatement(sql: "SELECT steps_declared FROM tasks WHERE id = ?1 AND (?2 IS NULL OR workspace_id = ?2)"),
                arguments: [task.rawValue, workspace])
            return TaskSteps(recorded: recorded, declared: TaskSteps.names(fromJSON: declared))
        }
    }

    /// How many tasks (of `workspace`) are in each state. Every workspace's: from the counters the
    /// moves keep; one workspace's: counted from its tasks (through `tasks_created`).
    public func countsByState(workspace: String?) async throws -> [TaskState: Int] {
        try await read { db in
            var counts: [TaskState: Int] = [:]
            let rows = if let workspace {
                try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM tasks WHERE workspace_id = ? GROUP BY state", arguments: [workspace])
            } else {
                try Row.fetchAll(db, sql: "SELECT state, n FROM state_counts")
            }
            for row in rows { counts[try SQLiteRows.state(row["state"])] = row["n"] }
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

    /// Writes a run's events and facts if its lease is current (see ``TaskStore/appendRunWrite(_:)``).
    public func appendRunWrite(_ write: RunWrite) async throws -> Bool {
        guard !write.isEmpty else { return true }
        return try await writer.write(.shared) { transaction in
            let lease = write.lease
            // The fence: the task still runs this run under this token. Appending events bumps the
            // same row, so the check and the append are one statement.
            let current: Bool
            if write.events.isEmpty {
                current = try Bool.fetchOne(
                    transaction.db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM tasks WHERE id = ? AND run_id = ? AND lease_token = ? AND state = 'running')"),
                    arguments: [lease.taskID.rawValue, lease.runID, lease.token]) ?? false
            } else {
                current = try transaction.appendEvents(task: lease.taskID, write.events, fencedBy: lease)
            }
            guard current else { return false }
            if write.sessionID != nil || write.process != nil {
                try transaction.db.cachedStatement(sql: """
                    UPDATE runs SET agent_session_id = COALESCE(?, agent_session_id), agent_process = COALESCE(?, agent_process)
                    WHERE task_id = ? AND id = ?
                    """).execute(arguments: [write.sessionID, write.process?.description, lease.taskID.rawValue, lease.runID])
            }
            if let declared = write.declaredSteps {
                try transaction.db.cachedStatement(sql: "UPDATE tasks SET steps_declared = ? WHERE id = ?")
                    .execute(arguments: [TaskSteps.json(names: declared).jsonText, lease.taskID.rawValue])
            }
            for step in write.steps {
                try transaction.db.cachedStatement(sql: """
                    INSERT OR REPLACE INTO task_steps (task_id, position, name, state, output, error, attempts, run_id, started_at, finished_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                        lease.taskID.rawValue, step.position, step.name, step.state.rawValue, step.output?.jsonText, step.error, step.attempts,
                        step.runID, step.startedAt.timeIntervalSince1970, step.finishedAt.timeIntervalSince1970,
                    ])
            }
            if !write.spawns.isEmpty || !write.hookEvents.isEmpty {
                let workspace = try transaction.taskWorkspace(lease.taskID) ?? Workspace.defaultID
                try transaction.appendHookEvents(write.hookEvents, workspace: workspace, now: Date())
                for var spawn in write.spawns {
                    (spawn.parentID, spawn.workspaceID) = (lease.taskID, workspace)
                    do {
                        try spawn.validate()
                        _ = try transaction.submit(spawn, now: Date(), maxDepth: self.configuration.maxQueueDepth, subtasks: self.configuration.subtasks)
                    } catch {
                        guard let refusal = RunWrite.spawnRefusal(error, task: lease.taskID, now: Date()) else { throw error }
                        try transaction.appendEvents(task: lease.taskID, [refusal])
                    }
                }
            }
            return true
        }
    }
}
