import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The task with this id, if it is `workspace`'s (any workspace's with `nil`).
    public func task(_ id: TaskID, workspace: String?) async throws -> AgentTask? {
        try await autocommit { transaction in try await transaction.task(id, workspace: workspace) }
    }

    /// The state and finish time of each of these tasks that exists, read 500 ids at a time.
    public func states(of ids: [TaskID]) async throws -> [TaskID: TaskStateRecord] {
        guard !ids.isEmpty else { return [:] }
        return try await autocommit { transaction in
            var states: [TaskID: TaskStateRecord] = [:]
            for chunk in ids.chunks(of: 500) {
                let sql = SQL("SELECT id, state, finished_at, pause_requested FROM tasks WHERE id = ANY(").appending(.texts(chunk.map(\.rawValue)), ")")
                for row in try await transaction.rows(sql) {
                    states[TaskID(trusted: try row["id"].decode(String.self))] = TaskStateRecord(
                        state: try PostgresRows.state(row["state"].decode(String.self)),
                        finishedAt: PostgresRows.date(try row["finished_at"].decode(Double?.self)),
                        pauseRequested: try row["pause_requested"].decode(Int.self) != 0)
                }
            }
            return states
        }
    }

    /// A task's events after `seq`, at most `limit`.
    public func events(task: TaskID, after seq: Int64, limit: Int, workspace: String?) async throws -> [TaskEvent] {
        try await autocommit { transaction in
            var sql = SQL("SELECT * FROM task_events WHERE task_id = ")
            sql.append(.text(task.rawValue))
            sql.append(workspace: workspace)
            sql.append(" AND seq > ")
            sql.append(.int(Int(seq)))
            sql.append(" ORDER BY seq LIMIT ")
            sql.append(.int(max(0, limit)))
            return try await transaction.rows(sql).map(PostgresRows.event)
        }
    }

    /// A task's events of `type`, newest first, at most `limit`.
    public func events(task: TaskID, type: String, limit: Int, workspace: String?) async throws -> [TaskEvent] {
        try await autocommit { transaction in
            var sql = SQL("SELECT * FROM task_events WHERE task_id = ")
            sql.append(.text(task.rawValue))
            sql.append(workspace: workspace)
            sql.append(" AND type = ")
            sql.append(.text(type))
            sql.append(" ORDER BY seq DESC LIMIT ")
            sql.append(.int(max(0, limit)))
            return try await transaction.rows(sql).map(PostgresRows.event)
        }
    }

    /// The hook stream after `seq`, at most `limit`. Hook events committed before the call are
    /// numbered first (see ``sequenceHooks()``), so a reader sees every move that returned.
    public func hookEvents(after seq: Int64, limit: Int) async throws -> [HookEvent] {
        try await stream(after: seq, limit: limit, workspace: nil)
    }

    /// A task's runs, oldest first (none when the task is not `workspace`'s).
    public func runs(task: TaskID, workspace: String?) async throws -> [Run] {
        try await autocommit { transaction in
            var sql = SQL("SELECT * FROM runs WHERE task_id = ").appending(.text(task.rawValue))
            sql.append(workspace: workspace)
            sql.append(" ORDER BY attempt")
            return try await transaction.rows(sql).map(PostgresRows.run)
        }
    }

    /// A workflow task's recorded steps, by position, and the names it declared.
    public func steps(task: TaskID, workspace: String?) async throws -> TaskSteps {
        try await autocommit { transaction in
            // One round trip: the task's declared steps on every row, a row of NULL steps when none is recorded.
            var sql = SQL("SELECT t.steps_declared, s.* FROM tasks t LEFT JOIN task_steps s ON s.task_id = t.id WHERE t.id = ")
                .appending(.text(task.rawValue))
            sql.append(workspace: workspace, column: "t.workspace_id")
            sql.append(" ORDER BY s.position")
            let rows = try await transaction.rows(sql)
            let recorded = try rows.filter { try $0["position"].decode(Int?.self) != nil }.map(PostgresRows.step)
            let names = try rows.first.flatMap { try $0["steps_declared"].decode(String?.self) }
            return TaskSteps(recorded: recorded, declared: TaskSteps.names(fromJSON: names))
        }
    }

    /// How many tasks (of `workspace`) are in each state (every state is present).
    public func countsByState(workspace: String?) async throws -> [TaskState: Int] {
        try await autocommit { transaction in
            var counts: [TaskState: Int] = [:]
            for state in TaskState.allCases { counts[state] = 0 }
            var sql = SQL("SELECT state, count(*) AS n FROM tasks WHERE true")
            sql.append(workspace: workspace)
            sql.append(" GROUP BY state")
            for row in try await transaction.rows(sql) {
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

    /// Writes a run's events and facts if its lease is current (see ``TaskStore/appendRunWrite(_:)``).
    public func appendRunWrite(_ write: RunWrite) async throws -> Bool {
        guard !write.isEmpty else { return true }
        // The common write (events, and a workflow's ended steps) is one statement: one round
        // trip and its commit, not a transaction of several.
        if !write.events.isEmpty, write.sessionID == nil, write.process == nil, write.spawns.isEmpty, write.hookEvents.isEmpty,
           write.declaredSteps == nil
        {
            // A step's run waits for its commit: concurrent runs' steps share one.
            if !write.steps.isEmpty { return try await stepWrites.submit(write) }
            return try await autocommit { transaction in
                try await transaction.appendEvents(task: write.lease.taskID, write.events, steps: write.steps, fencedBy: write.lease)
            }
        }
        return try await self.write { transaction in
            let lease = write.lease
            // The fence: appending events bumps the task row only while it runs this run under this
            // token (the row lock then holds off a settle until this commits).
            let current: Bool
            if write.events.isEmpty {
                current = try await transaction.holds(lease, lock: "FOR SHARE")
            } else {
                current = try await transaction.appendEvents(task: lease.taskID, write.events, steps: write.steps, fencedBy: lease)
            }
            guard current else { return false }
            if let declared = write.declaredSteps {
                try await transaction.rows(SQL("UPDATE tasks SET steps_declared = ").appending(.text(TaskSteps.json(names: declared).jsonText), " WHERE id = ")
                    .appending(.text(lease.taskID.rawValue)))
            }
            if write.sessionID != nil || write.process != nil {
                var sql = SQL("UPDATE runs SET agent_session_id = COALESCE(")
                sql.append(.text(write.sessionID))
                sql.append(", agent_session_id), agent_process = COALESCE(")
                sql.append(.text(write.process?.description))
                sql.append(", agent_process) WHERE task_id = ")
                sql.append(.text(lease.taskID.rawValue))
                sql.append(" AND id = ")
                sql.append(.text(lease.runID))
                try await transaction.rows(sql)
            }
            if !write.spawns.isEmpty || !write.hookEvents.isEmpty {
                let workspace = try await transaction.task(lease.taskID)?.workspaceID ?? Workspace.defaultID
                try await transaction.appendHookEvents(write.hookEvents, workspace: workspace, now: Date())
                for var spawn in write.spawns {
                    (spawn.parentID, spawn.workspaceID) = (lease.taskID, workspace)
                    do {
                        // Checked before the insert: a refused spawn writes nothing, so the
                        // transaction (and the run's events) carry on.
                        try spawn.validate()
                        _ = try await transaction.submit(
                            spawn, now: Date(), maxDepth: self.configuration.maxQueueDepth, subtasks: self.configuration.subtasks)
                    } catch {
                        guard let refusal = RunWrite.spawnRefusal(error, task: lease.taskID, now: Date()) else { throw error }
                        try await transaction.appendEvents(task: lease.taskID, [refusal])
                    }
                }
            }
            return true
        }
    }
}
