import Foundation
import GRDB
import Nightshift

// Every write reads and writes inside one `BEGIN IMMEDIATE` transaction of the write queue, which
// holds SQLite's write lock from the start: a read-modify-write cannot interleave with another
// writer, in this process or any other on the same file.
extension SQLiteTaskStore {
    /// Writes the summary under the key; with `expectedVersion`, only over that version.
    public func setMemory(
        workspace: String, agent: String, key: String, summary: String, expectedVersion: Int?, now: Date
    ) async throws -> Memory {
        try Memory.validate(workspace: workspace, agent: agent, key: key)
        try Memory.validate(summary: summary)
        return try await writer.write { transaction in
            let current = try Self.memory(workspace: workspace, agent: agent, key: key, in: transaction.db)
            if let expectedVersion, expectedVersion != (current?.version ?? 0) {
                let found = current.map { "version \($0.version)" } ?? "no memory"
                throw NightshiftError(
                    .conflict, "expected version \(expectedVersion) of memory '\(key)', found \(found)",
                    field: "expected_version")
            }
            return try Self.write(summary, over: current, workspace: workspace, agent: agent, key: key, now: now, in: transaction.db)
        }
    }

    /// The memory under the key, if any.
    public func memory(workspace: String, agent: String, key: String) async throws -> Memory? {
        try await read { db in try Self.memory(workspace: workspace, agent: agent, key: key, in: db) }
    }

    /// The agent's memories in the workspace whose key starts with `prefix`, by key.
    public func memories(workspace: String, agent: String, prefix: String?) async throws -> [Memory] {
        try await read { db in
            var sql = "SELECT \(Self.columns) FROM memories WHERE workspace_id = ? AND agent = ?"
            var arguments: StatementArguments = [workspace, agent]
            if let prefix, !prefix.isEmpty {
                // substr and length count characters (code points), so any prefix text matches exactly;
                // LIKE would need its wildcards escaped and ignores case.
                sql += " AND substr(key, 1, length(?)) = ?"
                arguments += [prefix, prefix]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY key", arguments: arguments).map(Self.memory)
        }
    }

    /// Removes the memory; answers whether it existed.
    public func deleteMemory(workspace: String, agent: String, key: String) async throws -> Bool {
        try await writer.write { transaction in
            try transaction.db.execute(
                sql: "DELETE FROM memories WHERE workspace_id = ? AND agent = ? AND key = ?",
                arguments: [workspace, agent, key])
            return transaction.db.changesCount > 0
        }
    }

    /// Read-modify-write in one write transaction; `nil` from `transform` deletes.
    public func updateMemory(
        workspace: String, agent: String, key: String, now: Date,
        _ transform: @escaping @Sendable (Memory?) throws -> String?
    ) async throws -> Memory? {
        try Memory.validate(workspace: workspace, agent: agent, key: key)
        return try await writer.write { transaction in
            let current = try Self.memory(workspace: workspace, agent: agent, key: key, in: transaction.db)
            guard let summary = try transform(current) else {
                try transaction.db.execute(
                    sql: "DELETE FROM memories WHERE workspace_id = ? AND agent = ? AND key = ?",
                    arguments: [workspace, agent, key])
                return nil
            }
            try Memory.validate(summary: summary)
            return try Self.write(summary, over: current, workspace: workspace, agent: agent, key: key, now: now, in: transaction.db)
        }
    }

    // MARK: Rows

    private static let columns = "workspace_id, agent, key, summary, version, created_at, updated_at"

    private static func memory(workspace: String, agent: String, key: String, in db: Database) throws -> Memory? {
        try Row.fetchOne(
            db, sql: "SELECT \(columns) FROM memories WHERE workspace_id = ? AND agent = ? AND key = ?",
            arguments: [workspace, agent, key]
        ).map(memory)
    }

    private static func memory(_ row: Row) -> Memory {
        Memory(
            workspaceID: row[0], agent: row[1], key: row[2], summary: row[3], version: row[4],
            createdAt: Date(timeIntervalSince1970: row[5]), updatedAt: Date(timeIntervalSince1970: row[6]))
    }

    private static func write(
        _ summary: String, over current: Memory?, workspace: String, agent: String, key: String, now: Date, in db: Database
    ) throws -> Memory {
        var memory = current ?? Memory(workspaceID: workspace, agent: agent, key: key, summary: summary, version: 0, createdAt: now)
        memory.summary = summary
        memory.version += 1
        memory.updatedAt = now
        try db.execute(
            sql: """
                INSERT INTO memories (workspace_id, agent, key, summary, version, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (workspace_id, agent, key) DO UPDATE SET summary = excluded.summary,
                    version = excluded.version, updated_at = excluded.updated_at
                """,
            arguments: [
                workspace, agent, key, summary, memory.version, memory.createdAt.timeIntervalSince1970,
                now.timeIntervalSince1970,
            ])
        return memory
    }
}
