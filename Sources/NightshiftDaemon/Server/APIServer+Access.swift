import Foundation
import Hummingbird
import Nightshift

/// The access routes: tokens (`/v1/tokens…`), for admins, and workspaces (`/v1/workspaces`), for
/// admins of `default`. A token's text is answered once, when it is created; the store keeps its
/// SHA-256 only.
extension APIServer {
    /// `POST /v1/tokens`: answers the token's record with its text, shown this once.
    func createToken(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = try Self.principal(context)
        let body = try WireTokenCreate(body: try await Self.body(request))
        guard let role = AccessRole.all.first(where: { $0.rawValue == body.role }) else {
            throw NightshiftError.invalid("role", "expected one of \(AccessRole.all.map(\.rawValue).joined(separator: ", ")), got '\(body.role)'")
        }
        let workspace = body.workspace ?? principal.workspace
        let name = body.name ?? ""
        try TextRules.checkIdentifier(name, field: "name")
        guard workspace == principal.workspace || principal.isSystemAdmin else {
            throw APIFailure(
                .forbidden, code: "forbidden", message: "only an admin of workspace default may create tokens for another workspace",
                field: "workspace")
        }
        guard try await engine.store.workspace(workspace) != nil else {
            throw NightshiftError.invalid("workspace", "expected an existing workspace, got '\(workspace)'")
        }
        let now = Date()
        let issued = TokenAuthority.issue()
        let token = AccessToken(
            id: UUIDv7.generate(at: now), workspaceID: workspace, role: role, name: name, digest: issued.digest, createdAt: now)
        try await engine.workspace(workspace).saveToken(token)
        return Self.reply(WireIssuedToken(token, token: issued.token), status: .created)
    }

    /// `GET /v1/tokens`: an admin of `default` sees every workspace's tokens; another admin, its own.
    func listTokens(_ context: APIRequestContext) async throws -> Response {
        let tokens = try Self.principal(context).isSystemAdmin
            ? try await engine.store.tokens(workspace: nil) : try await scope(context).tokens()
        return Self.reply(WireTokenList(tokens: tokens.map(WireToken.init)))
    }

    /// `DELETE /v1/tokens/{id}`: revokes at once, on every node (each request looks its token up).
    func revokeToken(_ context: APIRequestContext) async throws -> Response {
        let id = try Self.parameter(context, "id")
        let revoked = try Self.principal(context).isSystemAdmin
            ? try await engine.store.revokeToken(id: id, workspace: nil, now: Date())
            : try await scope(context).revokeToken(id: id, now: Date())
        guard revoked != nil else { throw NightshiftError(.notFound, "no token with id \(id)", field: "id") }
        return Response(status: .noContent)
    }

    /// `POST /v1/workspaces`, for an admin of `default`.
    func createWorkspace(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        try Self.requireSystemAdmin(context)
        let body = try WireWorkspaceCreate(body: try await Self.body(request))
        return Self.reply(WireWorkspace(try await engine.store.createWorkspace(body.id, now: Date())), status: .created)
    }

    /// `GET /v1/workspaces`, for an admin of `default`.
    func listWorkspaces(_ context: APIRequestContext) async throws -> Response {
        try Self.requireSystemAdmin(context)
        return Self.reply(WireWorkspaceList(workspaces: try await engine.store.workspaces().map(WireWorkspace.init)))
    }

    private static func requireSystemAdmin(_ context: APIRequestContext) throws {
        guard try principal(context).isSystemAdmin else {
            throw APIFailure(.forbidden, code: "forbidden", message: "only an admin of workspace default may manage workspaces", field: "Authorization")
        }
    }
}
