import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Creates a workspace; `conflict` when it exists.
    public func createWorkspace(_ id: String, now: Date) async throws -> Workspace {
        try Workspace.validate(id: id, field: "id")
        return try await writer.write { transaction in
            try transaction.db.execute(
                sql: "INSERT INTO workspaces (id, created_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
                arguments: [id, now.timeIntervalSince1970])
            guard transaction.db.changesCount == 1 else { throw NightshiftError(.conflict, "workspace '\(id)' exists", field: "id") }
            return Workspace(id: id, createdAt: now)
        }
    }

    /// Every workspace, by id.
    public func workspaces() async throws -> [Workspace] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT id, created_at FROM workspaces ORDER BY id").map(Self.workspace)
        }
    }

    /// The workspace with this id, if any.
    public func workspace(_ id: String) async throws -> Workspace? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT id, created_at FROM workspaces WHERE id = ?", arguments: [id]).map(Self.workspace)
        }
    }

    /// Stores a token; `invalid_input` (field `workspace`) when its workspace does not exist.
    public func saveToken(_ token: AccessToken) async throws {
        try await writer.write { transaction in
            guard try Bool.fetchOne(
                transaction.db, sql: "SELECT EXISTS (SELECT 1 FROM workspaces WHERE id = ?)", arguments: [token.workspaceID]) == true
            else { throw Self.noWorkspace(token.workspaceID) }
            try transaction.db.execute(
                sql: """
                    INSERT INTO api_tokens (id, workspace_id, role, name, digest, created_at, revoked_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    token.id, token.workspaceID, token.role.rawValue, token.name, AccessToken.hex(token.digest),
                    token.createdAt.timeIntervalSince1970, token.revokedAt?.timeIntervalSince1970,
                ])
        }
    }

    /// The token with this digest, revoked or not (one read of the unique digest index).
    public func token(digest: [UInt8]) async throws -> AccessToken? {
        try await read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.tokenColumns) FROM api_tokens WHERE digest = ?"),
                arguments: [AccessToken.hex(digest)]
            ).map(Self.token)
        }
    }

    /// The tokens of `workspace` (every workspace's with `nil`), oldest first.
    public func tokens(workspace: String?) async throws -> [AccessToken] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.tokenColumns) FROM api_tokens WHERE ?1 IS NULL OR workspace_id = ?1 ORDER BY created_at, id",
                arguments: [workspace]
            ).map(Self.token)
        }
    }

    /// Revokes a token (of `workspace`, when given); the first revocation's time stays.
    public func revokeToken(id: String, workspace: String?, now: Date) async throws -> AccessToken? {
        try await writer.write { transaction in
            try Row.fetchOne(
                transaction.db,
                sql: """
                    UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?3) WHERE id = ?1 AND (?2 IS NULL OR workspace_id = ?2)
                    RETURNING \(Self.tokenColumns)
                    """,
                arguments: [id, workspace, now.timeIntervalSince1970]
            ).map(Self.token)
        }
    }

    private static let tokenColumns = "id, workspace_id, role, name, digest, created_at, revoked_at"

    private static func token(_ row: Row) throws -> AccessToken {
        let role: String = row[2]
        guard let known = AccessRole(rawValue: role), let digest = AccessToken.bytes(hex: row[4]) else {
            throw NightshiftError(.storeUnavailable, "token \(row[0] as String) has an unknown role '\(role)' or a bad digest")
        }
        return AccessToken(
            id: row[0], workspaceID: row[1], role: known, name: row[3], digest: digest,
            createdAt: Date(timeIntervalSince1970: row[5]), revokedAt: SQLiteRows.date(row[6]))
    }

    private static func workspace(_ row: Row) -> Workspace {
        Workspace(id: row[0], createdAt: Date(timeIntervalSince1970: row[1]))
    }

    /// The error for a token of a workspace that does not exist.
    static func noWorkspace(_ id: String) -> NightshiftError {
        NightshiftError.invalid("workspace", "expected an existing workspace, got '\(id)'")
    }
}
