import Foundation

/// Where a task came from, so notifications can go back there.
public struct Origin: Sendable, Hashable, Codable {
    /// The channel (e.g. `slack:#ops`, `cli`, `api`): a channel binding of this name
    /// (`[channels.NAME]`) is told when the task starts, ends, waits for a person or is parked.
    public var channel: String
    /// The conversation or session within the channel.
    public var session: String?
    /// The thread to reply in (a Slack message's `ts`), if any.
    public var thread: String?
    /// Whether the channel is told about the task (a submit's `notify: false` opts out).
    public var notify: Bool

    /// Creates an origin.
    public init(channel: String, session: String? = nil, thread: String? = nil, notify: Bool = true) {
        self.channel = channel
        self.session = session
        self.thread = thread
        self.notify = notify
    }

    enum CodingKeys: String, CodingKey {
        case channel, session, thread, notify
    }

    /// Reads an origin; `thread` and `notify` may be absent (none, and true).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        channel = try container.decode(String.self, forKey: .channel)
        session = try container.decodeIfPresent(String.self, forKey: .session)
        thread = try container.decodeIfPresent(String.self, forKey: .thread)
        notify = try container.decodeIfPresent(Bool.self, forKey: .notify) ?? true
    }
}

/// A request to queue a task. Fields left `nil` take the agent's defaults.
public struct NewTask: Sendable, Hashable {
    /// The largest prompt accepted, in UTF-8 bytes: 1 MiB.
    public static let maxPromptBytes = 1 << 20

    /// The workspace that owns the task.
    public var workspaceID: String
    /// The agent that runs it.
    public var agent: String
    /// What the agent is asked to do.
    public var prompt: String
    /// Structured input for the agent: a JSON object.
    public var payload: JSONValue
    /// Lower runs first; ≥ 0.
    public var priority: Int
    /// A lane shares a concurrency limit between tasks of different agents.
    public var lane: String?
    /// Free-form labels for filtering.
    public var labels: [String]
    /// Where the task came from.
    public var origin: Origin?
    /// A repeated submit with the same key (in the workspace, for all time) returns the original task.
    public var idempotencyKey: String?
    /// Only one live task per key: a submit with a live key returns the live task.
    public var dedupKey: String?
    /// Spending cap in USD for all runs of the task.
    public var budgetUSD: Double?
    /// Per-run timeout in seconds.
    public var timeout: Double?
    /// Retry policy; `nil` takes the agent's.
    public var retry: RetryPolicy?
    /// Not claimed before this time.
    public var availableAt: Date?
    /// The task this one is a subtask of: it takes that task's workspace and, unless given, its
    /// agent, origin and what is left of its budget.
    public var parentID: TaskID?
    /// When the task asks a person before acting; `nil` takes its agent's policy.
    public var ask: AskPolicy?
    /// The schedule that fires it, if one does (set by the schedule's firing).
    public var scheduleID: String?
    /// The occurrence of the schedule it was fired for.
    public var scheduledFor: Date?
    /// Its own execution policy over its agent's; `nil`: the agent's. The API refuses one wider
    /// than the agent's unless the token is an admin's (``ExecutionPolicy/widening(_:)``).
    public var policy: ExecutionPolicy?
    /// The W3C `traceparent` of the submit's span (``AgentTask/traceParent``); set by the engine
    /// when it traces the submit.
    public var traceParent: String?

    /// Creates a request.
    public init(
        agent: String,
        prompt: String,
        workspaceID: String = "default",
        payload: JSONValue = .object([:]),
        priority: Int = 10,
        lane: String? = nil,
        labels: [String] = [],
        origin: Origin? = nil,
        idempotencyKey: String? = nil,
        dedupKey: String? = nil,
        budgetUSD: Double? = nil,
        timeout: Double? = nil,
        retry: RetryPolicy? = nil,
        availableAt: Date? = nil,
        parentID: TaskID? = nil,
        ask: AskPolicy? = nil,
        policy: ExecutionPolicy? = nil
    ) {
        self.policy = policy
        self.ask = ask
        self.parentID = parentID
        self.workspaceID = workspaceID
        self.agent = agent
        self.prompt = prompt
        self.payload = payload
        self.priority = priority
        self.lane = lane
        self.labels = labels
        self.origin = origin
        self.idempotencyKey = idempotencyKey
        self.dedupKey = dedupKey
        self.budgetUSD = budgetUSD
        self.timeout = timeout
        self.retry = retry
        self.availableAt = availableAt
    }

    /// The longest delay a submit may ask for: a year, in seconds.
    public static let maxDelay: Double = 365 * 86400

    /// Checks every field that can be checked without the store; the error names the first bad one.
    /// (Whether the agent exists is checked by the store, in the submit transaction.)
    public func validate() throws(NightshiftError) {
        try Self.checkKey(workspaceID, field: "workspace_id", required: true)
        // A subtask without an agent takes its parent's.
        if parentID == nil || !agent.isEmpty { try Self.checkKey(agent, field: "agent", required: true) }
        // Unicode's White_Space property: the same characters as CharacterSet.whitespacesAndNewlines.
        guard prompt.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
            throw .invalid("prompt", "expected a non-empty string")
        }
        try TextRules.checkText(prompt, field: "prompt")
        guard prompt.utf8.count <= Self.maxPromptBytes else {
            throw .invalid("prompt", "expected at most \(Self.maxPromptBytes) bytes (1 MiB), got \(prompt.utf8.count)")
        }
        guard payload.objectValue != nil else { throw .invalid("payload", "expected a JSON object") }
        guard priority >= 0 else { throw .invalid("priority", "expected an integer ≥ 0, got \(priority)") }
        if let lane { try Lane.validate(name: lane, field: "lane") }
        for label in labels { try Self.checkKey(label, field: "labels", required: true) }
        if let idempotencyKey { try Self.checkKey(idempotencyKey, field: "idempotency_key", required: true, max: 255) }
        if let dedupKey { try Self.checkKey(dedupKey, field: "dedup_key", required: true, max: 255) }
        if let budgetUSD, !(budgetUSD > 0 && budgetUSD.isFinite) {
            throw .invalid("budget_usd", "expected a number of USD > 0")
        }
        if let timeout, !(timeout > 0 && timeout.isFinite) {
            throw .invalid("timeout", "expected a number of seconds > 0, got \(timeout)")
        }
        try retry?.validate()
    }

    private static func checkKey(_ value: String, field: String, required: Bool, max: Int = 128) throws(NightshiftError) {
        if required, value.isEmpty { throw .invalid(field, "expected a non-empty string") }
        guard value.utf8.count <= max else { throw .invalid(field, "expected at most \(max) bytes") }
        try TextRules.checkIdentifier(value, field: field)
    }
}
