import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// The lanes of `workspace` that have a limit or running tasks, by name, each with its limit
    /// and how many of its tasks run (counted from the running tasks, which an index keeps apart).
    public func lanes(workspace: String) async throws -> [Lane] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT name, MAX(concurrency) AS concurrency, SUM(running) AS running FROM (
                        SELECT name, concurrency, 0 AS running FROM lanes WHERE workspace_id = ?1
                        UNION ALL
                        SELECT lane, NULL, COUNT(*) FROM tasks
                        WHERE state = 'running' AND workspace_id = ?1 AND lane IS NOT NULL GROUP BY lane
                    ) GROUP BY name
                    """,
                arguments: [workspace]
            ).map { Lane(name: $0["name"], concurrency: $0["concurrency"], running: $0["running"]) }
        }.sorted { $0.name < $1.name }
    }
}
