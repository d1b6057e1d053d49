/// A lane of a workspace: a name its tasks share (``NewTask/lane``) whatever their agent, with the
/// most of them that may run at once, and how many run now.
public struct Lane: Sendable, Hashable {
    /// The lane's name, as tasks give it.
    public var name: String
    /// At most this many of the workspace's tasks in the lane run at once, on all nodes together;
    /// `nil` for no limit.
    public var concurrency: Int?
    /// How many of the workspace's tasks in the lane are running.
    public var running: Int

    /// Creates the value.
    public init(name: String, concurrency: Int?, running: Int = 0) {
        self.name = name
        self.concurrency = concurrency
        self.running = running
    }

    /// The rule a lane's name follows, for messages.
    public static let nameRule = "a non-empty string of at most 128 bytes without control characters"

    /// Refuses a lane name that breaks ``nameRule``, naming `field`.
    public static func validate(name: String, field: String) throws(NightshiftError) {
        if name.isEmpty { throw .invalid(field, "expected a non-empty string") }
        guard name.utf8.count <= 128 else { throw .invalid(field, "expected at most 128 bytes") }
        try TextRules.checkIdentifier(name, field: field)
    }

    /// Refuses a concurrency limit below 1.
    public static func validate(concurrency: Int) throws(NightshiftError) {
        if concurrency < 1 { throw .invalid("concurrency", "expected an integer ≥ 1, got \(concurrency)") }
    }
}
