import Nightshift

extension NightshiftClient {
    /// The answer to a submit: the task, and whether it is new (201) or an earlier one (200).
    public struct Submitted: Sendable, Hashable {
        /// The task.
        public var task: WireTask
        /// True for a new task; false when an idempotency or live dedup key matched an earlier one.
        public var created: Bool

        /// A submit answer.
        public init(task: WireTask, created: Bool) {
            self.task = task
            self.created = created
        }

        /// The task's id.
        public var id: String { task.id }
    }

    /// The filters of `GET /v1/tasks`; nil fields are not sent.
    public struct TaskQuery: Sendable, Hashable {
        /// Only tasks in this state.
        public var state: String?
        /// Only tasks of this agent.
        public var agent: String?
        /// Only tasks with this label.
        public var label: String?
        /// Only tasks in this lane.
        public var lane: String?
        /// Only tasks fired by this schedule (its id).
        public var scheduleID: String?
        /// Only tasks created after this RFC 3339 time.
        public var createdAfter: String?
        /// Only tasks created before this RFC 3339 time.
        public var createdBefore: String?
        /// Archived tasks (true), live ones (false), or the server's default (nil).
        public var archived: Bool?
        /// The `next_cursor` of the previous page.
        public var cursor: String?
        /// At most this many (the server allows 500 and defaults to 50).
        public var limit: Int?

        /// A query with the given filters.
        public init(
            state: String? = nil, agent: String? = nil, label: String? = nil, lane: String? = nil,
            createdAfter: String? = nil, createdBefore: String? = nil, archived: Bool? = nil,
            cursor: String? = nil, limit: Int? = nil
        ) {
            self.state = state
            self.agent = agent
            self.label = label
            self.lane = lane
            self.createdAfter = createdAfter
            self.createdBefore = createdBefore
            self.archived = archived
            self.cursor = cursor
            self.limit = limit
        }

        /// The query parameters.
        var items: [(String, String)] {
            var items: [(String, String)] = []
            if let state { items.append(("state", state)) }
            if let agent { items.append(("agent", agent)) }
            if let label { items.append(("label", label)) }
            if let lane { items.append(("lane", lane)) }
            if let scheduleID { items.append(("schedule_id", scheduleID)) }
            if let createdAfter { items.append(("created_after", createdAfter)) }
            if let createdBefore { items.append(("created_before", createdBefore)) }
            if let archived { items.append(("archived", archived ? "true" : "false")) }
            if let cursor { items.append(("cursor", cursor)) }
            if let limit { items.append(("limit", String(limit))) }
            return items
        }
    }

    /// A `POST /v1/tasks/{id}/<action>` route.
    public enum TaskAction: String, Sendable, Hashable, CaseIterable {
        /// Stop the task.
        case cancel
        /// Run a finished task again.
        case retry
        /// Hold the task back.
        case pause
        /// Let a paused task run again.
        case resume
        /// Hide a finished task from default listings.
        case archive
    }

    /// The task states after which a task never changes on its own.
    public static let terminalStates: Set<String> = Set(TaskState.allCases.filter(\.isTerminal).map(\.rawValue))
}
