import Foundation

/// Which tasks a listing returns, newest first, one page at a time.
public struct TaskQuery: Sendable, Hashable {
    /// Only tasks of this workspace (every workspace when `nil`: the engine's view; a
    /// ``WorkspaceScope`` always sets it).
    public var workspace: String?
    /// Only tasks in one of these states (all states when empty).
    public var states: [TaskState] = []
    /// Only tasks of this agent.
    public var agent: String?
    /// Only tasks carrying this label.
    public var label: String?
    /// Only tasks in this lane.
    public var lane: String?
    /// Only tasks fired by this schedule (its id).
    public var scheduleID: String?
    /// Only tasks created at or after this time.
    public var createdAfter: Date?
    /// Only tasks created before this time.
    public var createdBefore: Date?
    /// Archived tasks only (`true`), unarchived only (`false`, the default), or both (`nil`).
    public var archived: Bool? = false
    /// Where the previous page ended (its ``TaskPage/nextCursor``).
    public var cursor: TaskCursor?
    /// Page size, 1 to ``maxLimit``.
    public var limit: Int = 50

    /// The largest page.
    public static let maxLimit = 500

    /// A query with every filter off.
    public init() {}
}

/// A position in a listing: the last task of a page (the store compares with that task's own
/// stored creation time, so no time is rounded through a client). Opaque to clients.
public struct TaskCursor: Sendable, Hashable {
    /// The last task's id.
    public var id: TaskID

    /// A cursor after this task.
    public init(after id: TaskID) {
        self.id = id
    }

    /// The text form clients pass back.
    public var text: String { "t_\(id.rawValue)" }

    /// Parses ``text``; the error names the `cursor` field.
    public init(text: String) throws(NightshiftError) {
        guard text.hasPrefix("t_"), let id = TaskID(String(text.dropFirst(2))) else {
            throw .invalid("cursor", "expected a cursor returned by a previous page (next_cursor)")
        }
        self.init(after: id)
    }
}

/// One page of a listing.
public struct TaskPage: Sendable, Hashable {
    /// The tasks, newest first.
    public var tasks: [AgentTask]
    /// Where the next page starts; `nil` on the last page.
    public var nextCursor: TaskCursor?

    /// A page.
    public init(tasks: [AgentTask], nextCursor: TaskCursor?) {
        self.tasks = tasks
        self.nextCursor = nextCursor
    }
}

/// Counts of runs since the store was created.
public struct RunTotals: Sendable, Hashable {
    /// Runs started.
    public var invocations: Int
    /// Runs that succeeded.
    public var succeeded: Int
    /// Runs that failed (including timed out and lost).
    public var failed: Int

    /// Totals.
    public init(invocations: Int, succeeded: Int, failed: Int) {
        self.invocations = invocations
        self.succeeded = succeeded
        self.failed = failed
    }
}
