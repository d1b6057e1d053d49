import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The tasks waiting since before `cutoff` (see ``TaskQueries/waiting(since:workspace:limit:)``).
    public func waiting(since cutoff: Date, workspace: String?, limit: Int) async throws -> [AgentTask] {
        try await tasks(in: .waiting, before: cutoff, by: "updated_at", workspace: workspace, limit: limit)
    }

    /// The tasks in `state` whose `column` (a time) is before `cutoff`, oldest first: waiting and
    /// stuck queued tasks, which hook consumers are told about.
    func tasks(in state: TaskState, before cutoff: Date, by column: String, workspace: String?, limit: Int) async throws -> [AgentTask] {
        try await autocommit { transaction in
            var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE state = ")
            sql.append(.text(state.rawValue))
            sql.append(" AND \(column) < ")
            sql.append(.double(cutoff.timeIntervalSince1970))
            sql.append(workspace: workspace)
            sql.append(" ORDER BY \(column), id LIMIT ")
            sql.append(.int(limit))
            return try await transaction.rows(sql).map(PostgresRows.task)
        }
    }

    /// The subtasks of a task, oldest first (see ``TaskQueries/children(of:workspace:)``).
    public func children(of id: TaskID, workspace: String?) async throws -> [AgentTask] {
        try await autocommit { transaction in try await transaction.children(of: id, workspace: workspace) }
    }
}

extension Transaction {
    /// The subtasks of `id`, oldest first.
    func children(of id: TaskID, workspace: String? = nil) async throws -> [AgentTask] {
        var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE parent_id = ").appending(.text(id.rawValue))
        sql.append(workspace: workspace)
        sql.append(" ORDER BY id")
        return try await rows(sql).map(PostgresRows.task)
    }

    /// Wakes the tasks that wait for their subtasks once none of those is live any more, each with
    /// a summary of them in its inbox (sender `nightshift`); answers their ids.
    func wakeParents(now: Date) async throws -> [TaskID] {
        let candidates = try await rows(SQL("""
            SELECT p.id FROM tasks AS p
            WHERE p.state = 'waiting' AND (p.waiting_for::jsonb ->> 'kind') = 'children'
            AND NOT EXISTS (
                SELECT 1 FROM tasks AS c WHERE c.parent_id = p.id AND c.state IN ('queued', 'running', 'waiting', 'paused'))
            ORDER BY p.id LIMIT 100
            """)).map { TaskID(trusted: try $0["id"].decode(String.self)) }
        guard !candidates.isEmpty else { return [] }
        var woken: [TaskID] = []
        for (id, facts) in try await lockedFacts(candidates).sorted(by: { $0.key < $1.key }) {
            // Locked now: still waiting for its children, and none of them live?
            guard facts.state == .waiting, facts.waitingFor?.kind == .children else { continue }
            let children = try await self.children(of: id)
            guard children.allSatisfy(\.state.isTerminal) else { continue }
            try await apply(.wake, to: facts, now: now, maxQueueDepth: nil)
            _ = try await insertInput(
                NewInput(kind: .message, text: SubtaskSummary.text(children), sender: "nightshift"), task: id, workspace: facts.workspace, now: now)
            woken.append(id)
        }
        return woken
    }

    /// Cancels the live subtasks of `id`, and theirs, in this transaction.
    func cancelDescendants(of id: TaskID, now: Date) async throws {
        var sql = SQL("""
            WITH RECURSIVE tree(id) AS (
                SELECT id FROM tasks WHERE parent_id =
            """)
        sql.append(.text(id.rawValue))
        sql.append("""
             UNION ALL SELECT tasks.id FROM tasks JOIN tree ON tasks.parent_id = tree.id)
            SELECT tree.id FROM tree JOIN tasks ON tasks.id = tree.id
            WHERE tasks.state IN ('queued', 'running', 'waiting', 'paused') ORDER BY tree.id
            """)
        let ids = try await rows(sql).map { TaskID(trusted: try $0["id"].decode(String.self)) }
        guard !ids.isEmpty else { return }
        for facts in try await lockedFacts(ids).values.sorted(by: { $0.id < $1.id }) where !facts.state.isTerminal {
            try await apply(.cancel, to: facts, now: now, maxQueueDepth: nil, reason: "its parent task \(id) was cancelled")
        }
    }
}
