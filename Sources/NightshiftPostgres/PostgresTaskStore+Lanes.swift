import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The lanes of `workspace` that have a limit or running tasks, by name, each with its limit
    /// and how many of its tasks run (counted from the running tasks, which an index keeps apart).
    public func lanes(workspace: String) async throws -> [Lane] {
        try await autocommit { transaction in
            var sql = SQL("""
                SELECT name, MAX(concurrency) AS concurrency, SUM(running)::BIGINT AS running FROM (
                    SELECT name, concurrency, 0::BIGINT AS running FROM lanes WHERE workspace_id =
                """)
            sql.append(.text(workspace))
            sql.append("""
                     UNION ALL
                    SELECT lane, NULL, COUNT(*) FROM tasks WHERE state = 'running' AND lane IS NOT NULL AND workspace_id =
                """)
            sql.append(.text(workspace))
            sql.append(" GROUP BY lane) AS lane_rows GROUP BY name")
            return try await transaction.rows(sql).map { row in
                Lane(
                    name: try row["name"].decode(String.self), concurrency: try row["concurrency"].decode(Int?.self),
                    running: try row["running"].decode(Int.self))
            }
        }.sorted { $0.name < $1.name }
    }
}
