import Foundation

/// Who may use the API: the workspaces, and the tokens that act in them (kept as SHA-256 digests).
public protocol TokenStore: Sendable {
    /// Creates a workspace. Throws `conflict` (field `id`) when it exists, `invalid_input` for a bad id.
    func createWorkspace(_ id: String, now: Date) async throws -> Workspace
    /// Every workspace, by id.
    func workspaces() async throws -> [Workspace]
    /// The workspace with this id, if any.
    func workspace(_ id: String) async throws -> Workspace?
    /// Stores a token. Throws `invalid_input` (field `workspace`) when its workspace does not exist.
    func saveToken(_ token: AccessToken) async throws
    /// The token whose digest is `digest`, revoked or not (one indexed read: the API asks on
    /// every request, so a revocation holds at once on every node).
    func token(digest: [UInt8]) async throws -> AccessToken?
    /// The tokens of `workspace` (of every workspace with `nil`), oldest first, revoked ones included.
    func tokens(workspace: String?) async throws -> [AccessToken]
    /// Revokes the token with this id (only if it acts in `workspace`, when one is given). Answers
    /// the token, or `nil` when there is no such token; revoking twice keeps the first time.
    func revokeToken(id: String, workspace: String?, now: Date) async throws -> AccessToken?
}
