import Nightshift

extension NightshiftClient {
    /// The body of `POST /v1/tasks`: what to run and how. Nil fields are left out (server defaults).
    public struct NewTaskRequest: Sendable, Hashable {
        /// The agent that runs the task.
        public var agent: String
        /// The prompt.
        public var prompt: String
        /// Extra input for the agent.
        public var payload: JSONValue?
        /// Lower runs first (≥ 0; the default is 10).
        public var priority: Int?
        /// The lane (a concurrency group).
        public var lane: String?
        /// Labels to filter by.
        public var labels: [String]
        /// A key that makes a repeated submit answer the original task (sent as the
        /// `Idempotency-Key` header).
        public var idempotencyKey: String?
        /// While a task with this key is live, a submit with the same key answers it instead.
        public var dedupKey: String?
        /// Seconds a run may take.
        public var timeout: Double?
        /// Attempts in all, the first included.
        public var maxAttempts: Int?
        /// The spending limit in US dollars.
        public var budgetUSD: Double?
        /// Seconds to wait before the task may run.
        public var delay: Double?

        /// A request for `agent` to run `prompt`; the other fields are optional.
        public init(
            agent: String, prompt: String, payload: JSONValue? = nil, priority: Int? = nil, lane: String? = nil,
            labels: [String] = [], idempotencyKey: String? = nil, dedupKey: String? = nil, timeout: Double? = nil,
            maxAttempts: Int? = nil, budgetUSD: Double? = nil, delay: Double? = nil
        ) {
            self.agent = agent
            self.prompt = prompt
            self.payload = payload
            self.priority = priority
            self.lane = lane
            self.labels = labels
            self.idempotencyKey = idempotencyKey
            self.dedupKey = dedupKey
            self.timeout = timeout
            self.maxAttempts = maxAttempts
            self.budgetUSD = budgetUSD
            self.delay = delay
        }

        /// The JSON body.
        public var json: JSONValue {
            var body: [String: JSONValue] = ["agent": .string(agent), "prompt": .string(prompt)]
            if let payload { body["payload"] = payload }
            if let priority { body["priority"] = .int(Int64(priority)) }
            if let lane { body["lane"] = .string(lane) }
            if !labels.isEmpty { body["labels"] = .array(labels.map(JSONValue.string)) }
            if let idempotencyKey { body["idempotency_key"] = .string(idempotencyKey) }
            if let dedupKey { body["dedup_key"] = .string(dedupKey) }
            if let timeout { body["timeout"] = .double(timeout) }
            if let maxAttempts { body["max_attempts"] = .int(Int64(maxAttempts)) }
            if let budgetUSD { body["budget_usd"] = .double(budgetUSD) }
            if let delay { body["delay"] = .double(delay) }
            return .object(body)
        }
    }

    /// The answer to a submit: the task, and whether it is new (201) or an earlier one (200).
    public struct Submitted: Sendable, Hashable {
        /// The task object.
        public var task: JSONValue
        /// True for a new task; false when an idempotency or live dedup key matched an earlier one.
        public var created: Bool

        /// A submit answer.
        public init(task: JSONValue, created: Bool) {
            self.task = task
            self.created = created
        }

        /// The task's id.
        public var id: String { task["id"]?.stringValue ?? "" }
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
            if let createdAfter { items.append(("created_after", createdAfter)) }
            if let createdBefore { items.append(("created_before", createdBefore)) }
            if let archived { items.append(("archived", archived ? "true" : "false")) }
            if let cursor { items.append(("cursor", cursor)) }
            if let limit { items.append(("limit", String(limit))) }
            return items
        }
    }

    /// One page of `GET /v1/tasks`.
    public struct TaskPage: Sendable, Hashable {
        /// The tasks, newest first.
        public var tasks: [JSONValue]
        /// The cursor of the next page; nil on the last one.
        public var nextCursor: String?

        /// A page of `tasks` followed by the page at `nextCursor`.
        public init(tasks: [JSONValue], nextCursor: String?) {
            self.tasks = tasks
            self.nextCursor = nextCursor
        }

        /// The page as the API's JSON object.
        public var json: JSONValue {
            ["tasks": .array(tasks), "next_cursor": nextCursor.map(JSONValue.string) ?? .null]
        }
    }

    /// One page of `GET /v1/tasks/{id}/events`.
    public struct EventPage: Sendable, Hashable {
        /// The events in `seq` order.
        public var events: [JSONValue]
        /// The `after` of the next page.
        public var nextAfter: Int64

        /// A page of `events`, continued after `nextAfter`.
        public init(events: [JSONValue], nextAfter: Int64) {
            self.events = events
            self.nextAfter = nextAfter
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
    public static let terminalStates: Set<String> = ["done", "error", "cancelled", "dropped"]
}
