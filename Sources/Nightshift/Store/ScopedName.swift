/// A name in a workspace: an agent's or a lane's. Names are unique per workspace only, so limits,
/// budgets and caches key by both.
public struct ScopedName: Sendable, Hashable, CustomStringConvertible {
    /// The workspace.
    public var workspace: String
    /// The name in it.
    public var name: String

    /// Creates the value.
    public init(workspace: String, name: String) {
        self.workspace = workspace
        self.name = name
    }

    /// `workspace/name`.
    public var description: String { "\(workspace)/\(name)" }
}
