import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Creates a workspace; `conflict` when it exists.
    public func createWorkspace(_ id: String, now: Date) async throws -> Workspace {
        try Workspace.validate(id: id, field: "id")
        return try await write { transaction in
            var sql = SQL("INSERT INTO workspaces (id, created_at) VALUES (")
            sql.append(list: [.text(id), .double(now.timeIntervalSince1970)])
            sql.append(") ON CONFLICT (id) DO NOTHING RETURNING id")
            guard try await !transaction.rows(sql).isEmpty else {
                throw NightshiftError(.conflict, "workspace '\(id)' exists", field: "id")
            }
            return Workspace(id: id, createdAt: now)
        }
    }

    /// Every workspace, by id.
    public func workspaces() async throws -> [Workspace] {
        try await autocommit { transaction in
            try await transaction.rows("SELECT id, created_at FROM workspaces ORDER BY id").map(Self.workspace)
        }
    }

    /// The workspace with this id, if any.
    public func workspace(_ id: String) async throws -> Workspace? {
        try await autocommit { transaction in
            try await transaction.rows(SQL("SELECT id, created_at FROM workspaces WHERE id = ").appending(.text(id)))
                .first.map(Self.workspace)
        }
    }

    /// Stores a token; `invalid_input` (field `workspace`) when its workspace does not exist.
    public func saveToken(_ token: AccessToken) async throws {
        try await write { transaction in
            var sql = SQL("INSERT INTO api_tokens (id, workspace_id, role, name, digest, created_at, revoked_at) SELECT ")
            sql.append(list: [
                .text(token.id), .text(token.workspaceID), .text(token.role.rawValue), .text(token.name),
                .text(AccessToken.hex(token.digest)), .double(token.createdAt.timeIntervalSince1970),
                .double(token.revokedAt?.timeIntervalSince1970),
            ])
            sql.append(" WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = ")
            sql.append(.text(token.workspaceID))
            sql.append(") RETURNING id")
            guard try await !transaction.rows(sql).isEmpty else {
                throw NightshiftError.invalid("workspace", "expected an existing workspace, got '\(token.workspaceID)'")
            }
        }
    }

    /// The token with this digest, revoked or not (one read of the unique digest index).
    public func token(digest: [UInt8]) async throws -> AccessToken? {
        try await autocommit { transaction in
            try await transaction.rows(
                SQL("SELECT \(Self.tokenColumns) FROM api_tokens WHERE digest = ").appending(.text(AccessToken.hex(digest)))
            ).first.map(Self.token)
        }
    }

    /// The tokens of `workspace` (every workspace's with `nil`), oldest first.
    public func tokens(workspace: String?) async throws -> [AccessToken] {
        try await autocommit { transaction in
            var sql = SQL("SELECT \(Self.tokenColumns) FROM api_tokens WHERE true")
            sql.append(workspace: workspace)
            sql.append(" ORDER BY created_at, id")
            return try await transaction.rows(sql).map(Self.token)
        }
    }

    /// Revokes a token (of `workspace`, when given); the first revocation's time stays.
    public func revokeToken(id: String, workspace: String?, now: Date) async throws -> AccessToken? {
        try await write { transaction in
            var sql = SQL("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(") WHERE id = ")
            sql.append(.text(id))
            sql.append(workspace: workspace)
            sql.append(" RETURNING \(Self.tokenColumns)")
            return try await transaction.rows(sql).first.map(Self.token)
        }
    }

    private static let tokenColumns = "id, workspace_id, role, name, digest, created_at, revoked_at"

    private static func token(_ row: PostgresRandomAccessRow) throws -> AccessToken {
        let id = try row["id"].decode(String.self)
        let role = try row["role"].decode(String.self)
        guard let known = AccessRole(rawValue: role), let digest = AccessToken.bytes(hex: try row["digest"].decode(String.self)) else {
            throw NightshiftError(.storeUnavailable, "token \(id) has an unknown role '\(role)' or a bad digest")
        }
        return AccessToken(
            id: id, workspaceID: try row["workspace_id"].decode(String.self), role: known, name: try row["name"].decode(String.self),
            digest: digest, createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            revokedAt: PostgresRows.date(try row["revoked_at"].decode(Double?.self)))
    }

    private static func workspace(_ row: PostgresRandomAccessRow) throws -> Workspace {
        Workspace(id: try row["id"].decode(String.self), createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)))
    }
}
