import Foundation
import Nightshift

extension NightshiftClient {
    // MARK: Tokens

    /// `POST /v1/tokens`: a new token of `role` in `workspace` (the caller's own with `nil`; another
    /// only for an admin of `default`). The answer's `token` is the token's text, shown this once.
    public func createToken(role: String, workspace: String? = nil, name: String? = nil) async throws -> JSONValue {
        var body: [String: JSONValue] = ["role": .string(role)]
        if let workspace { body["workspace"] = .string(workspace) }
        if let name { body["name"] = .string(name) }
        return try await request(.POST, "/v1/tokens", body: .object(body))
    }

    /// `GET /v1/tokens`: the tokens an admin may see (without their text), oldest first.
    public func tokens() async throws -> [JSONValue] {
        guard case .array(let tokens)? = try await request(.GET, "/v1/tokens")["tokens"] else {
            throw APIError.invalidResponse("no \"tokens\" array in the token list")
        }
        return tokens
    }

    /// `DELETE /v1/tokens/{id}`: revokes the token; it gets 401 from its next request on.
    public func revokeToken(_ id: String) async throws {
        _ = try await send(.DELETE, "/v1/tokens/\(Self.escapePath(id))")
    }

    // MARK: Workspaces

    /// `POST /v1/workspaces`: creates a workspace (admin of `default` only).
    public func createWorkspace(_ id: String) async throws -> JSONValue {
        try await request(.POST, "/v1/workspaces", body: ["id": .string(id)])
    }

    /// `GET /v1/workspaces`: every workspace, by id (admin of `default` only).
    public func workspaces() async throws -> [JSONValue] {
        guard case .array(let workspaces)? = try await request(.GET, "/v1/workspaces")["workspaces"] else {
            throw APIError.invalidResponse("no \"workspaces\" array in the workspace list")
        }
        return workspaces
    }
}
