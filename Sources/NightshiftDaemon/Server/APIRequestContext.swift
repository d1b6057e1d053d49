import Hummingbird
import Nightshift

/// Who a request acts as: the workspace and role of its bearer token, and the token's id.
public struct Principal: Sendable, Hashable {
    /// The token id the bootstrap token (`<home>/token`) has: it is no row of the token store.
    public static let bootstrapTokenID = "bootstrap"

    /// The workspace every read and write of the request is scoped to.
    public var workspace: String
    /// What the token may do there.
    public var role: AccessRole
    /// The token's id (``bootstrapTokenID`` for the bootstrap token).
    public var tokenID: String

    /// Creates the value.
    public init(workspace: String, role: AccessRole, tokenID: String) {
        self.workspace = workspace
        self.role = role
        self.tokenID = tokenID
    }

    /// Whether the token is an admin of `default`, who may also create workspaces and manage the
    /// tokens of any workspace.
    public var isSystemAdmin: Bool { role == .admin && workspace == Workspace.defaultID }

    /// Whether the role allows what `needed` allows (admin ⊃ member ⊃ read-only).
    public func has(_ needed: AccessRole) -> Bool {
        Self.rank(role) >= Self.rank(needed)
    }

    private static func rank(_ role: AccessRole) -> Int {
        switch role {
        case .admin: 2
        case .member: 1
        default: 0
        }
    }
}

/// The request context of the API: Hummingbird's core context, and the principal that the bearer
/// authentication found (set on every `/v1` request before its handler runs).
public struct APIRequestContext: RequestContext {
    /// Hummingbird's storage.
    public var coreContext: CoreRequestContextStorage
    /// Who the request acts as; `nil` only on the routes outside `/v1` (health, OpenAPI).
    public var principal: Principal?

    /// A context for a new request, with no principal yet.
    public init(source: Source) {
        coreContext = .init(source: source)
        principal = nil
    }
}
