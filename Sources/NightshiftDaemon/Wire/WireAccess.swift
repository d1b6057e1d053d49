import Foundation
import Nightshift

/// An API token as the API answers it: never its text (but once, on creation: ``WireIssuedToken``).
public struct WireToken: WireValue, Hashable {
    /// The token's id (what `DELETE /v1/tokens/{id}` takes).
    public var id: String
    /// The workspace it acts in.
    public var workspace: String
    /// `admin`, `member` or `read_only`.
    public var role: String
    /// A name to tell tokens apart.
    public var name: String
    /// When it was created.
    public var createdAt: Date
    /// When it was revoked, if it was.
    public var revokedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, workspace, role, name
        case createdAt = "created_at", revokedAt = "revoked_at"
    }

    /// The wire form of `token`.
    public init(_ token: AccessToken) {
        id = token.id
        workspace = token.workspaceID
        role = token.role.rawValue
        name = token.name
        createdAt = token.createdAt
        revokedAt = token.revokedAt
    }
}

/// The answer of `POST /v1/tokens`: the token's record (``WireToken``'s members) and, this once,
/// its text as `token`.
public struct WireIssuedToken: WireValue, Hashable {
    /// The token's record, as `GET /v1/tokens` lists it.
    public var record: WireToken
    /// The token itself: shown once, stored nowhere (the store keeps its SHA-256).
    public var token: String

    enum CodingKeys: String, CodingKey {
        case token
    }

    /// The wire form of a token just issued, with its text.
    public init(_ record: AccessToken, token: String) {
        self.record = WireToken(record)
        self.token = token
    }

    /// Reads the record's members and `token` from one object.
    public init(from decoder: any Decoder) throws {
        record = try WireToken(from: decoder)
        token = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .token)
    }

    /// Writes the record's members and `token` into one object.
    public func encode(to encoder: any Encoder) throws {
        try record.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(token, forKey: .token)
    }
}

/// The answer of `GET /v1/tokens`.
public struct WireTokenList: WireValue, Hashable {
    /// The tokens, oldest first.
    public var tokens: [WireToken]

    /// A list of `tokens`.
    public init(tokens: [WireToken]) {
        self.tokens = tokens
    }
}

/// A workspace as the API answers it.
public struct WireWorkspace: WireValue, Hashable {
    /// Its id.
    public var id: String
    /// When it was created.
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id
        case createdAt = "created_at"
    }

    /// The wire form of `workspace`.
    public init(_ workspace: Workspace) {
        id = workspace.id
        createdAt = workspace.createdAt
    }
}

/// The answer of `GET /v1/workspaces`.
public struct WireWorkspaceList: WireValue, Hashable {
    /// The workspaces, by id.
    public var workspaces: [WireWorkspace]

    /// A list of `workspaces`.
    public init(workspaces: [WireWorkspace]) {
        self.workspaces = workspaces
    }
}

/// The body of `POST /v1/tokens`.
public struct WireTokenCreate: WireRequest, Hashable {
    /// `admin`, `member` or `read_only`.
    public var role: String
    /// The workspace (the caller's when absent; another only for an admin of `default`).
    public var workspace: String?
    /// A name to tell tokens apart.
    public var name: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case role, workspace, name
    }

    /// A request for a token of `role`.
    public init(role: String, workspace: String? = nil, name: String? = nil) {
        self.role = role
        self.workspace = workspace
        self.name = name
    }
}

/// The body of `POST /v1/workspaces`.
public struct WireWorkspaceCreate: WireRequest, Hashable {
    /// The new workspace's id.
    public var id: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id
    }

    /// A request for the workspace `id`.
    public init(id: String) {
        self.id = id
    }
}
