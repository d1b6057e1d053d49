import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// A page of the tasks that match `query`, newest first (by creation time, then id).
    public func listTasks(_ query: TaskQuery) async throws -> TaskPage {
        let limit = min(max(query.limit, 1), TaskQuery.maxLimit)
        var conditions: [String] = []
        var arguments: [DatabaseValue] = []
        if let workspace = query.workspace {
            conditions.append("workspace_id = ?")
            arguments.append(workspace.databaseValue)
        }
        if !query.states.isEmpty {
            conditions.append("state IN (\(databaseQuestionMarks(count: query.states.count)))")
            arguments += query.states.map(\.rawValue.databaseValue)
        }
        if let agent = query.agent {
            conditions.append("agent = ?")
            arguments.append(agent.databaseValue)
        }
        if let lane = query.lane {
            conditions.append("lane = ?")
            arguments.append(lane.databaseValue)
        }
        if let schedule = query.scheduleID {
            conditions.append("schedule_id = ?")
            arguments.append(schedule.databaseValue)
        }
        if let label = query.label {
            conditions.append("EXISTS (SELECT 1 FROM json_each(tasks.labels) WHERE json_each.value = ?)")
            arguments.append(label.databaseValue)
        }
        if let after = query.createdAfter {
            conditions.append("created_at >= ?")
            arguments.append(after.timeIntervalSince1970.databaseValue)
        }
        if let before = query.createdBefore {
            conditions.append("created_at < ?")
            arguments.append(before.timeIntervalSince1970.databaseValue)
        }
        switch query.archived {
        case true?: conditions.append("archived_at IS NOT NULL")
        case false?: conditions.append("archived_at IS NULL")
        case nil: break
        }
        if let cursor = query.cursor {
            conditions.append("(created_at, id) < ((SELECT created_at FROM tasks WHERE id = ?), ?)")
            arguments += [cursor.id.rawValue.databaseValue, cursor.id.rawValue.databaseValue]
        }
        let sql = "SELECT \(SQLiteRows.taskColumns) FROM tasks"
            + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY created_at DESC, id DESC LIMIT \(limit + 1)"
        let finalArguments = arguments
        let rows = try await read { db in
            try Row.fetchAll(db, sql: sql, arguments: StatementArguments(finalArguments)).map(SQLiteRows.task)
        }
        let page = Array(rows.prefix(limit))
        let next = rows.count > limit ? page.last.map { TaskCursor(after: $0.id) } : nil
        return TaskPage(tasks: page, nextCursor: next)
    }

    /// Runs started, succeeded and failed since the store was created.
    public func runTotals() async throws -> RunTotals {
        try await read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, n FROM run_counts") { counts[row[0]] = row[1] }
            return RunTotals(
                invocations: counts["started"] ?? 0, succeeded: counts["succeeded"] ?? 0, failed: counts["failed"] ?? 0)
        }
    }

    /// Each agent's tasks, cost and totals (over `workspace`'s tasks), by agent name.
    public func agentStats(workspace: String?) async throws -> [AgentStats] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT agent, count(*), total(cost_usd), \(TaskTotals.columns.map { "total(\($0))" }.joined(separator: ", "))
                FROM tasks WHERE ?1 IS NULL OR workspace_id = ?1 GROUP BY agent ORDER BY agent
                """, arguments: [workspace]).map { row in
                AgentStats(
                    agent: row[0], tasks: row[1], costUSD: row[2],
                    totals: TaskTotals(
                        tokensIn: Int(row[3] as Double), tokensOut: Int(row[4] as Double), cacheReadTokens: Int(row[5] as Double),
                        cacheWriteTokens: Int(row[6] as Double), turns: Int(row[7] as Double), runSeconds: row[8]))
            }
        }
    }

    /// The latest run of each of the tasks that moved most recently (from the tail of the hook
    /// stream, so no scan of the runs), newest first.
    public func recentRuns(limit: Int, workspace: String?) async throws -> [Run] {
        try await read { db in
            let ids = try String.fetchAll(db, sql: """
                SELECT task_id FROM (SELECT task_id, MAX(seq) AS last FROM
                    (SELECT task_id, seq FROM hook_events WHERE ?2 IS NULL OR workspace_id = ?2 ORDER BY seq DESC LIMIT 2000)
                    GROUP BY task_id)
                ORDER BY last DESC LIMIT ?1
                """, arguments: [max(0, limit), workspace])
            return try ids.compactMap { id in
                try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE task_id = ? ORDER BY attempt DESC LIMIT 1", arguments: [id])
                    .map(SQLiteRows.run)
            }
        }
    }

    /// Archives a finished task.
    public func archive(_ id: TaskID, now: Date, workspace: String?) async throws -> AgentTask {
        try await writer.write { transaction in
            guard let task = try transaction.task(id, workspace: workspace) else { throw NightshiftError.taskNotFound(id) }
            guard task.state.isTerminal else {
                throw NightshiftError(.illegalTransition, "cannot archive task \(id): it is \(task.state); only finished tasks (done, error, cancelled, dropped) can be archived", field: "state")
            }
            guard task.archivedAt == nil else { return task }
            try transaction.db.execute(
                sql: "UPDATE tasks SET archived_at = ?, updated_at = ? WHERE id = ?",
                arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, id.rawValue])
            try transaction.appendEvents(task: id, [NewTaskEvent(taskID: id, type: "archived", data: [:], time: now)])
            return try transaction.task(id)!
        }
    }

    /// Changes the priority of a task that has not finished.
    public func setPriority(_ id: TaskID, to priority: Int, now: Date, workspace: String?) async throws -> AgentTask {
        guard priority >= 0 else { throw NightshiftError.invalid("priority", "expected an integer ≥ 0, got \(priority)") }
        return try await writer.write { transaction in
            guard let task = try transaction.task(id, workspace: workspace) else { throw NightshiftError.taskNotFound(id) }
            guard !task.state.isTerminal else {
                throw NightshiftError(.illegalTransition, "cannot change the priority of task \(id): it is \(task.state)", field: "state")
            }
            guard task.priority != priority else { return task }
            try transaction.db.execute(
                sql: "UPDATE tasks SET priority = ?, updated_at = ? WHERE id = ?",
                arguments: [priority, now.timeIntervalSince1970, id.rawValue])
            try transaction.appendEvents(task: id, [NewTaskEvent(
                taskID: id, type: "priority", data: ["from": .int(Int64(task.priority)), "to": .int(Int64(priority))], time: now)])
            return try transaction.task(id)!
        }
    }
}

extension WriteTransaction {
    /// The task with this id (if it is `workspace`'s, when one is given), read inside the transaction.
    func task(_ id: TaskID, workspace: String? = nil) throws -> AgentTask? {
        try SQLiteRows.task(id, workspace: workspace, in: db)
    }
}
