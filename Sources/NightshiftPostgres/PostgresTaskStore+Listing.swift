import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// A page of the tasks that match `query`, newest first (by creation time, then id).
    public func listTasks(_ query: TaskQuery) async throws -> TaskPage {
        let limit = min(max(query.limit, 1), TaskQuery.maxLimit)
        var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE true")
        sql.append(workspace: query.workspace)
        if !query.states.isEmpty {
            sql.append(" AND state = ANY(")
            sql.append(.texts(query.states.map(\.rawValue)))
            sql.append(")")
        }
        if let agent = query.agent {
            sql.append(" AND agent = ")
            sql.append(.text(agent))
        }
        if let lane = query.lane {
            sql.append(" AND lane = ")
            sql.append(.text(lane))
        }
        if let schedule = query.scheduleID {
            sql.append(" AND schedule_id = ")
            sql.append(.text(schedule))
        }
        if let label = query.label {
            sql.append(" AND jsonb_exists(labels::jsonb, ")
            sql.append(.text(label))
            sql.append(")")
        }
        if let after = query.createdAfter {
            sql.append(" AND created_at >= ")
            sql.append(.double(after.timeIntervalSince1970))
        }
        if let before = query.createdBefore {
            sql.append(" AND created_at < ")
            sql.append(.double(before.timeIntervalSince1970))
        }
        switch query.archived {
        case true?: sql.append(" AND archived_at IS NOT NULL")
        case false?: sql.append(" AND archived_at IS NULL")
        case nil: break
        }
        if let cursor = query.cursor {
            let id = sql.bind(.text(cursor.id.rawValue))
            sql.append(" AND (created_at, id) < ((SELECT created_at FROM tasks WHERE id = \(id)), \(id))")
        }
        sql.append(" ORDER BY created_at DESC, id DESC LIMIT ")
        sql.append(.int(limit + 1))
        let finalSQL = sql
        let tasks = try await autocommit { transaction in try await transaction.rows(finalSQL).map(PostgresRows.task) }
        let page = Array(tasks.prefix(limit))
        let next = tasks.count > limit ? page.last.map { TaskCursor(after: $0.id) } : nil
        return TaskPage(tasks: page, nextCursor: next)
    }

    /// Runs started, succeeded and failed since the store was created.
    public func runTotals() async throws -> RunTotals {
        try await autocommit { transaction in
            let sums = "SELECT coalesce(sum(started), 0)::bigint AS started, coalesce(sum(succeeded), 0)::bigint AS succeeded, coalesce(sum(failed), 0)::bigint AS failed FROM run_totals"
            guard let row = try await transaction.rows(SQL(sums)).first else { return RunTotals(invocations: 0, succeeded: 0, failed: 0) }
            return RunTotals(
                invocations: try row["started"].decode(Int.self), succeeded: try row["succeeded"].decode(Int.self),
                failed: try row["failed"].decode(Int.self))
        }
    }

    /// Each agent's tasks, cost and totals (over `workspace`'s tasks), by agent name.
    public func agentStats(workspace: String?) async throws -> [AgentStats] {
        try await autocommit { transaction in
            let sums = TaskTotals.columns.map { "sum(\($0))::float8 AS \($0)" }.joined(separator: ", ")
            var sql = SQL("""
                SELECT agent, count(*)::bigint AS tasks, sum(cost_usd)::float8 AS cost_usd, \(sums)
                FROM tasks WHERE true
                """)
            sql.append(workspace: workspace)
            sql.append(" GROUP BY agent ORDER BY agent")
            return try await transaction.rows(sql).map { row in
                let figure = { (name: String) throws -> Double in try row[name].decode(Double.self) }
                return AgentStats(
                    agent: try row["agent"].decode(String.self), tasks: try row["tasks"].decode(Int.self),
                    costUSD: try figure("cost_usd"),
                    totals: TaskTotals(
                        tokensIn: Int(try figure("tokens_in")), tokensOut: Int(try figure("tokens_out")),
                        cacheReadTokens: Int(try figure("cache_read_tokens")), cacheWriteTokens: Int(try figure("cache_write_tokens")),
                        turns: Int(try figure("turns")), runSeconds: try figure("run_seconds")))
            }
        }
    }

    /// The latest run of each of the tasks that moved most recently (from the tail of the hook
    /// stream), newest first.
    public func recentRuns(limit: Int, workspace: String?) async throws -> [Run] {
        try await sequenceHooks()
        return try await autocommit { transaction in
            var sql = SQL("SELECT DISTINCT ON (r.task_id) r.*, moved.last FROM (SELECT task_id, max(seq) AS last FROM (SELECT task_id, seq FROM hook_events WHERE true")
            sql.append(workspace: workspace)
            sql.append(" ORDER BY seq DESC LIMIT 2000) AS tail GROUP BY task_id ORDER BY last DESC LIMIT ")
            sql.append(.int(max(0, limit)))
            sql.append(") AS moved JOIN runs r ON r.task_id = moved.task_id ORDER BY r.task_id, r.attempt DESC")
            let rows = try await transaction.rows(sql)
            return try rows
                .map { (last: try $0["last"].decode(Int.self), run: try PostgresRows.run($0)) }
                .sorted { $0.last > $1.last }
                .map(\.run)
        }
    }

    /// Archives a finished task.
    public func archive(_ id: TaskID, now: Date, workspace: String?) async throws -> AgentTask {
        try await write { transaction in
            guard let task = try await transaction.lockedTask(id), workspace == nil || task.workspaceID == workspace else { throw NightshiftError.taskNotFound(id) }
            guard task.state.isTerminal else {
                throw NightshiftError(.illegalTransition, "cannot archive task \(id): it is \(task.state); only finished tasks (done, error, cancelled, dropped) can be archived", field: "state")
            }
            guard task.archivedAt == nil else { return task }
            var sql = SQL("UPDATE tasks SET archived_at = ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(", updated_at = ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(" WHERE id = ")
            sql.append(.text(id.rawValue))
            try await transaction.rows(sql)
            try await transaction.appendEvents(task: id, [NewTaskEvent(taskID: id, type: "archived", data: [:], time: now)])
            return try await transaction.task(id)!
        }
    }

    /// Changes the priority of a task that has not finished.
    public func setPriority(_ id: TaskID, to priority: Int, now: Date, workspace: String?) async throws -> AgentTask {
        guard priority >= 0 else { throw NightshiftError.invalid("priority", "expected an integer ≥ 0, got \(priority)") }
        return try await write { transaction in
            guard let task = try await transaction.lockedTask(id), workspace == nil || task.workspaceID == workspace else { throw NightshiftError.taskNotFound(id) }
            guard !task.state.isTerminal else {
                throw NightshiftError(.illegalTransition, "cannot change the priority of task \(id): it is \(task.state)", field: "state")
            }
            guard task.priority != priority else { return task }
            var sql = SQL("UPDATE tasks SET priority = ")
            sql.append(.int(priority))
            sql.append(", updated_at = ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(" WHERE id = ")
            sql.append(.text(id.rawValue))
            try await transaction.rows(sql)
            try await transaction.appendEvents(task: id, [NewTaskEvent(
                taskID: id, type: "priority", data: ["from": .int(Int64(task.priority)), "to": .int(Int64(priority))], time: now)])
            return try await transaction.task(id)!
        }
    }
}

extension Transaction {
    /// The task with this id, its row locked until the transaction ends.
    func lockedTask(_ id: TaskID) async throws -> AgentTask? {
        try await rows(SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE id = ").appending(.text(id.rawValue), " FOR UPDATE"))
            .first.map(PostgresRows.task)
    }
}
