import Foundation
import HTTPTypes
import Hummingbird
import Nightshift

/// The access routes: tokens (`/v1/tokens…`), for admins, and workspaces (`/v1/workspaces`), for
/// admins of `default`. A token's text is answered once, when it is created; the store keeps its
/// SHA-256 only.
extension APIServer {
    /// The handler of an access route.
    func accessHandler(_ method: HTTPRequest.Method, _ path: String) -> Handler {
        switch (method, path) {
        case (.post, "/v1/tokens"): createToken
        case (.get, "/v1/tokens"): { _, context in
            let principal = try Self.principal(context)
            // An admin of default sees every workspace's tokens; another admin, its own.
            let tokens = principal.isSystemAdmin
                ? try await engine.store.tokens(workspace: nil) : try await scope(context).tokens()
            return Self.json(["tokens": .array(tokens.map(Self.tokenJSON))])
        }
        case (.delete, "/v1/tokens/{id}"): { _, context in
            let id = try Self.parameter(context, "id")
            let principal = try Self.principal(context)
            let revoked = principal.isSystemAdmin
                ? try await engine.store.revokeToken(id: id, workspace: nil, now: Date())
                : try await scope(context).revokeToken(id: id, now: Date())
            guard revoked != nil else { throw NightshiftError(.notFound, "no token with id \(id)", field: "id") }
            return Response(status: .noContent)
        }
        case (.post, "/v1/workspaces"): { request, context in
            try Self.requireSystemAdmin(context)
            let members = try APIJSON.object(try await Self.body(request))
            try APIJSON.rejectUnknown(members, allowed: ["id"])
            let id = try APIJSON.string(members, "id", required: true)!
            let workspace = try await engine.store.createWorkspace(id, now: Date())
            return Self.json(Self.workspaceJSON(workspace), status: .created)
        }
        case (.get, "/v1/workspaces"): { _, context in
            try Self.requireSystemAdmin(context)
            return Self.json(["workspaces": .array(try await engine.store.workspaces().map(Self.workspaceJSON))])
        }
        default: preconditionFailure("no handler for \(method) \(path)")
        }
    }

    /// `POST /v1/tokens`: `{"role", "workspace"?, "name"?}`; answers the token's record with its
    /// text, shown this once.
    private func createToken(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let principal = try Self.principal(context)
        let members = try APIJSON.object(try await Self.body(request))
        try APIJSON.rejectUnknown(members, allowed: ["role", "workspace", "name"])
        let roleText = try APIJSON.string(members, "role", required: true)!
        guard let role = AccessRole(rawValue: roleText) else {
            throw NightshiftError.invalid("role", "expected one of \(AccessRole.all.map(\.rawValue).joined(separator: ", ")), got '\(roleText)'")
        }
        let workspace = try APIJSON.string(members, "workspace") ?? principal.workspace
        let name = try APIJSON.string(members, "name") ?? ""
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
        var json = Self.tokenJSON(token).objectValue ?? [:]
        json["token"] = .string(issued.token)
        return Self.json(.object(json), status: .created)
    }

    private static func requireSystemAdmin(_ context: APIRequestContext) throws {
        guard try principal(context).isSystemAdmin else {
            throw APIFailure(.forbidden, code: "forbidden", message: "only an admin of workspace default may manage workspaces", field: "Authorization")
        }
    }

    /// A token's JSON form, without its text: `id`, `workspace`, `role`, `name`, `created_at`, `revoked_at`.
    static func tokenJSON(_ token: AccessToken) -> JSONValue {
        [
            "id": .string(token.id), "workspace": .string(token.workspaceID), "role": .string(token.role.rawValue),
            "name": .string(token.name), "created_at": APIJSON.time(token.createdAt), "revoked_at": JSONTime.json(token.revokedAt),
        ]
    }

    /// A workspace's JSON form: `id`, `created_at`.
    static func workspaceJSON(_ workspace: Workspace) -> JSONValue {
        ["id": .string(workspace.id), "created_at": APIJSON.time(workspace.createdAt)]
    }
}
