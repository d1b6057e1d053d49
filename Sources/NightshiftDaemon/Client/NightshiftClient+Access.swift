import Foundation
import Nightshift

extension NightshiftClient {
    // MARK: Tokens

    /// `POST /v1/tokens`: a new token of `role` in `workspace` (the caller's own with `nil`; another
    /// only for an admin of `default`). The answer's `token` is the token's text, shown this once.
    public func createToken(role: String, workspace: String? = nil, name: String? = nil) async throws -> WireIssuedToken {
        try await fetch(.POST, "/v1/tokens", body: WireTokenCreate(role: role, workspace: workspace, name: name).json)
    }

    /// `GET /v1/tokens`: the tokens an admin may see (without their text), oldest first.
    public func tokens() async throws -> [WireToken] {
        try await fetch(.GET, "/v1/tokens", as: WireTokenList.self).tokens
    }

    /// `DELETE /v1/tokens/{id}`: revokes the token; it gets 401 from its next request on.
    public func revokeToken(_ id: String) async throws {
        _ = try await send(.DELETE, "/v1/tokens/\(Self.escapePath(id))")
    }

    // MARK: Workspaces

    /// `POST /v1/workspaces`: creates a workspace (admin of `default` only).
    public func createWorkspace(_ id: String) async throws -> WireWorkspace {
        try await fetch(.POST, "/v1/workspaces", body: WireWorkspaceCreate(id: id).json)
    }

    /// `GET /v1/workspaces`: every workspace, by id (admin of `default` only).
    public func workspaces() async throws -> [WireWorkspace] {
        try await fetch(.GET, "/v1/workspaces", as: WireWorkspaceList.self).workspaces
    }
}
