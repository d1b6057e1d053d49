import Nightshift

/// The access routes of the OpenAPI document: tokens and workspaces.
extension OpenAPIDocument {
    private static let tokenID = parameter("id", in: "path", "string", "Token id (from GET /v1/tokens)")

    /// What a route answers to a token whose role does not allow it.
    static let forbiddenFailure: Failures = ["403": "The token's role does not allow this (`forbidden`)"]

    /// The paths of the access routes.
    static let accessPaths: [String: [String: JSONValue]] = [
        "/v1/tokens": [
            "post": operation(
                "Create a token (admins; for another workspace, admins of default). Its text is answered this once",
                ["201": answer("Created: the record, with the token's text", "NewTokenAnswer")],
                failures: [v1Failures], body: "NewToken"),
            "get": operation(
                "Tokens, without their text (an admin of default sees every workspace's), oldest first",
                ["200": answer("Tokens", "TokenList")], failures: [v1Failures]),
        ],
        "/v1/tokens/{id}": [
            "delete": operation(
                "Revoke a token: it is answered 401 from its next request on, on every node", ["204": answer("Revoked", nil)],
                failures: [v1Failures, pathFailures("token")], parameters: [tokenID]),
        ],
        "/v1/workspaces": [
            "post": operation(
                "Create a workspace (admins of default)", ["201": answer("Created", "Workspace")],
                failures: [v1Failures, ["409": "The workspace exists (`conflict`)"]], body: "NewWorkspace"),
            "get": operation("Workspaces, by id (admins of default)", ["200": answer("Workspaces", "WorkspaceList")], failures: [v1Failures]),
        ],
    ]

    private static let tokenMembers: [String: String] = [
        "id": "string", "workspace": "string", "role": "string", "name": "string", "created_at": "time", "revoked_at": "time?",
    ]

    /// The schemas of the access routes.
    static let accessSchemas: [String: JSONValue] = [
        "Token": shape(tokenMembers),
        "NewTokenAnswer": shape(tokenMembers.merging(["token": "string"]) { current, _ in current }),
        "TokenList": list("tokens", of: "Token"),
        "NewToken": input([
            "role": ["type": "string", "enum": .array(AccessRole.all.map { .string($0.rawValue) })],
            "workspace": ["type": ["string", "null"], "description": "An existing workspace (default: the token's own)"],
            "name": ["type": ["string", "null"], "description": "Who or what holds the token"],
        ], required: ["role"]),
        "Workspace": shape(["id": "string", "created_at": "time"]),
        "WorkspaceList": list("workspaces", of: "Workspace"),
        "NewWorkspace": input([
            "id": ["type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", "description": .string(TextRules.agentNameRule)],
        ], required: ["id"]),
    ]
}
