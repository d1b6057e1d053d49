import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// The tasks waiting since before `cutoff` (see ``TaskQueries/waiting(since:workspace:limit:)``).
    public func waiting(since cutoff: Date, workspace: String?, limit: Int) async throws -> [AgentTask] {
        try await tasks(in: .waiting, before: cutoff, by: "updated_at", workspace: workspace, limit: limit)
    }

    /// The tasks in `state` whose `column` (a time) is before `cutoff`, oldest first: waiting and
    /// stuck queued tasks, which hook consumers are told about.
    func tasks(in state: TaskState, before cutoff: Date, by column: String, workspace: String?, limit: Int) async throws -> [AgentTask] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT \(SQLiteRows.taskColumns) FROM tasks
                    WHERE state = ?4 AND \(column) < ?1 AND (?2 IS NULL OR workspace_id = ?2)
                    ORDER BY \(column), id LIMIT ?3
                    """),
                arguments: [cutoff.timeIntervalSince1970, workspace, limit, state.rawValue]
            ).map(SQLiteRows.task)
        }
    }

    /// The subtasks of a task, oldest first (see ``TaskQueries/children(of:workspace:)``).
    public func children(of id: TaskID, workspace: String?) async throws -> [AgentTask] {
        try await read { db in try WriteTransaction.children(of: id, workspace: workspace, in: db) }
    }
}

extension WriteTransaction {
    /// The subtasks of `id`, oldest first.
    static func children(of id: TaskID, workspace: String? = nil, in db: Database) throws -> [AgentTask] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT \(SQLiteRows.taskColumns) FROM tasks INDEXED BY tasks_parent
                WHERE parent_id = ?1 AND (?2 IS NULL OR workspace_id = ?2) ORDER BY id
                """),
            arguments: [id.rawValue, workspace]
        ).map(SQLiteRows.task)
    }

    /// Wakes the tasks that wait for their subtasks once none of those is live any more, each with
    /// a summary of them in its inbox (sender `nightshift`); answers their ids.
    func wakeParents(now: Date) throws -> [TaskID] {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT \(TaskFacts.columns) FROM tasks AS p
                WHERE p.state = 'waiting' AND json_extract(p.waiting_for, '$.kind') = 'children'
                AND NOT EXISTS (
                    SELECT 1 FROM tasks AS c WHERE c.parent_id = p.id AND c.state IN ('queued', 'running', 'waiting', 'paused'))
                LIMIT 100
                """))
        var woken: [TaskID] = []
        for row in rows {
            let facts = try Self.facts(row)
            let summary = SubtaskSummary.text(try Self.children(of: facts.id, in: db))
            try apply(.wake, to: facts, now: now, maxQueueDepth: nil)
            _ = try insertInput(NewInput(kind: .message, text: summary, sender: "nightshift"), task: facts.id, workspace: facts.workspace, now: now)
            woken.append(facts.id)
        }
        return woken
    }

    /// Cancels the live subtasks of `id`, and theirs, in this transaction.
    func cancelDescendants(of id: TaskID, now: Date) throws {
        let ids = try String.fetchAll(
            db.cachedStatement(sql: """
                WITH RECURSIVE tree(id) AS (
                    SELECT id FROM tasks WHERE parent_id = ?
                    UNION ALL SELECT tasks.id FROM tasks JOIN tree ON tasks.parent_id = tree.id)
                SELECT tree.id FROM tree JOIN tasks ON tasks.id = tree.id
                WHERE tasks.state IN ('queued', 'running', 'waiting', 'paused') ORDER BY tree.id
                """),
            arguments: [id.rawValue]
        ).map(TaskID.init(trusted:))
        guard !ids.isEmpty else { return }
        let facts = try self.facts(ids)
        for child in ids {
            guard let fact = facts[child] else { continue }
            try apply(.cancel, to: fact, now: now, maxQueueDepth: nil, reason: "its parent task \(id) was cancelled")
        }
    }
}
