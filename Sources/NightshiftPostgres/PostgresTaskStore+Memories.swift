import Foundation
import Nightshift
import PostgresNIO

// Every write first takes an advisory transaction lock on its key, so a read-modify-write cannot
// interleave with another writer of that key on any node, even when the row does not exist yet.
extension PostgresTaskStore {
    /// Writes the summary under the key; with `expectedVersion`, only over that version.
    public func setMemory(
        workspace: String, agent: String, key: String, summary: String, expectedVersion: Int?, now: Date
    ) async throws -> Memory {
        try Memory.validate(workspace: workspace, agent: agent, key: key)
        try Memory.validate(summary: summary)
        return try await write { transaction in
            let current = try await transaction.lockedMemory(workspace: workspace, agent: agent, key: key)
            if let expectedVersion, expectedVersion != (current?.version ?? 0) {
                let found = current.map { "version \($0.version)" } ?? "no memory"
                throw NightshiftError(
                    .conflict, "expected version \(expectedVersion) of memory '\(key)', found \(found)",
                    field: "expected_version")
            }
            return try await transaction.writeMemory(summary, over: current, workspace: workspace, agent: agent, key: key, now: now)
        }
    }

    /// The memory under the key, if any.
    public func memory(workspace: String, agent: String, key: String) async throws -> Memory? {
        try await autocommit { transaction in
            try await transaction.rows(Transaction.memoryQuery(workspace: workspace, agent: agent, key: key))
                .first.map(Transaction.memory)
        }
    }

    /// The agent's memories in the workspace whose key starts with `prefix`, by key.
    public func memories(workspace: String, agent: String, prefix: String?) async throws -> [Memory] {
        try await autocommit { transaction in
            var sql = SQL("SELECT \(Transaction.memoryColumns) FROM memories WHERE workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" AND agent = ")
            sql.append(.text(agent))
            if let prefix, !prefix.isEmpty {
                // left() counts characters, so any prefix text matches exactly; LIKE would need its
                // wildcards escaped.
                let placeholder = sql.bind(.text(prefix))
                sql.append(" AND left(key, char_length(\(placeholder))) = \(placeholder)")
            }
            sql.append(" ORDER BY key COLLATE \"C\"")
            return try await transaction.rows(sql).map(Transaction.memory)
        }
    }

    /// Removes the memory; answers whether it existed.
    public func deleteMemory(workspace: String, agent: String, key: String) async throws -> Bool {
        try await write { transaction in
            try await transaction.deleteMemory(workspace: workspace, agent: agent, key: key)
        }
    }

    /// Read-modify-write in one transaction, under the key's lock; `nil` from `transform` deletes.
    public func updateMemory(
        workspace: String, agent: String, key: String, now: Date,
        _ transform: @escaping @Sendable (Memory?) throws -> String?
    ) async throws -> Memory? {
        try Memory.validate(workspace: workspace, agent: agent, key: key)
        return try await write { transaction in
            let current = try await transaction.lockedMemory(workspace: workspace, agent: agent, key: key)
            guard let summary = try transform(current) else {
                try await transaction.deleteMemory(workspace: workspace, agent: agent, key: key)
                return nil
            }
            try Memory.validate(summary: summary)
            return try await transaction.writeMemory(summary, over: current, workspace: workspace, agent: agent, key: key, now: now)
        }
    }
}

extension Transaction {
    static let memoryColumns = "workspace_id, agent, key, summary, version, created_at, updated_at"

    static func memoryQuery(workspace: String, agent: String, key: String) -> SQL {
        var sql = SQL("SELECT \(memoryColumns) FROM memories")
        appendKey(to: &sql, workspace: workspace, agent: agent, key: key)
        return sql
    }

    /// Appends ` WHERE` the memory's key columns equal these values.
    static func appendKey(to sql: inout SQL, workspace: String, agent: String, key: String) {
        sql.append(" WHERE workspace_id = ")
        sql.append(.text(workspace))
        sql.append(" AND agent = ")
        sql.append(.text(agent))
        sql.append(" AND key = ")
        sql.append(.text(key))
    }

    static func memory(_ row: PostgresRandomAccessRow) throws -> Memory {
        Memory(
            workspaceID: try row["workspace_id"].decode(String.self), agent: try row["agent"].decode(String.self),
            key: try row["key"].decode(String.self), summary: try row["summary"].decode(String.self),
            version: try row["version"].decode(Int.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            updatedAt: Date(timeIntervalSince1970: try row["updated_at"].decode(Double.self)))
    }

    /// Deletes the memory; answers whether it existed.
    @discardableResult
    func deleteMemory(workspace: String, agent: String, key: String) async throws -> Bool {
        var sql = SQL("DELETE FROM memories")
        Self.appendKey(to: &sql, workspace: workspace, agent: agent, key: key)
        sql.append(" RETURNING key")
        return try await !rows(sql).isEmpty
    }

    /// Takes the key's lock for the rest of the transaction, then reads its memory.
    func lockedMemory(workspace: String, agent: String, key: String) async throws -> Memory? {
        var lock = SQL("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.nightshift.memory'), hashtext(")
        lock.append(.text("\(workspace)\u{1F}\(agent)\u{1F}\(key)"))
        lock.append("))")
        try await rows(lock)
        return try await rows(Self.memoryQuery(workspace: workspace, agent: agent, key: key)).first.map(Self.memory)
    }

    func writeMemory(
        _ summary: String, over current: Memory?, workspace: String, agent: String, key: String, now: Date
    ) async throws -> Memory {
        var memory = current ?? Memory(workspaceID: workspace, agent: agent, key: key, summary: summary, version: 0, createdAt: now)
        memory.summary = summary
        memory.version += 1
        memory.updatedAt = now
        var sql = SQL("INSERT INTO memories (workspace_id, agent, key, summary, version, created_at, updated_at) VALUES (")
        sql.append(list: [
            .text(workspace), .text(agent), .text(key), .text(summary), .int(memory.version),
            .double(memory.createdAt.timeIntervalSince1970), .double(now.timeIntervalSince1970),
        ])
        sql.append("""
            ) ON CONFLICT (workspace_id, agent, key) DO UPDATE SET summary = excluded.summary,
                version = excluded.version, updated_at = excluded.updated_at
            """)
        try await rows(sql)
        return memory
    }
}
