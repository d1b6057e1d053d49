import Foundation
import Nightshift

/// The body of `POST /v1/tasks`: what to run and how. Nil members take the server's defaults.
public struct WireNewTask: WireRequest, Hashable {
    /// The agent that runs the task; required unless `parentID` is given (a subtask without one
    /// runs on its parent's).
    public var agent: String?
    /// The prompt.
    public var prompt: String
    /// Extra input for the agent.
    public var payload: JSONValue?
    /// Lower runs first (≥ 0; the default is 10).
    public var priority: Int?
    /// The lane (a concurrency group).
    public var lane: String?
    /// Labels to filter by.
    public var labels: [String]?
    /// A key that makes a repeated submit answer the original task (the client also sends it as
    /// the `Idempotency-Key` header).
    public var idempotencyKey: String?
    /// While a task with this key is live, a submit with the same key answers it instead.
    public var dedupKey: String?
    /// Seconds a run may take.
    public var timeout: Double?
    /// Attempts in all, the first included.
    public var maxAttempts: Int?
    /// The spending limit in US dollars.
    public var budgetUSD: Double?
    /// Seconds to wait before the task may run (up to a year).
    public var delay: Double?
    /// The workspace the task belongs to.
    public var workspaceID: String?
    /// The task this one is a subtask of (its id): the subtask takes its workspace and, unless
    /// given, its agent, origin and what is left of its budget.
    public var parentID: String?
    /// When the task asks a person before acting: `off`, `always` (it waits for an approve before
    /// its first run) or `on-miss` (a tool call outside the agent's allowlist waits for an
    /// approval; `claude_code` agents only); nil takes its agent's policy.
    public var ask: String?
    /// Where the task came from (`channel`, `session`, `thread`): a channel binding of that name
    /// is told when it starts, ends, waits for a person or is parked.
    public var origin: WireOriginWrite?
    /// `false`: the origin's channel is not told about this task.
    public var notify: Bool?
    /// The task's own execution policy over its agent's (``ExecutionPolicy``'s keys); wider than
    /// the agent's only with an admin token.
    public var policy: JSONValue?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case agent, prompt, payload, priority, lane, labels, timeout, delay, ask, origin, notify, policy
        case idempotencyKey = "idempotency_key", dedupKey = "dedup_key", maxAttempts = "max_attempts"
        case budgetUSD = "budget_usd", workspaceID = "workspace_id", parentID = "parent_id"
    }

    /// A request for `agent` (nil: the parent's, for a subtask) to run `prompt`; the other members are optional.
    public init(
        agent: String?, prompt: String, payload: JSONValue? = nil, priority: Int? = nil, lane: String? = nil,
        labels: [String]? = nil, idempotencyKey: String? = nil, dedupKey: String? = nil, timeout: Double? = nil,
        maxAttempts: Int? = nil, budgetUSD: Double? = nil, delay: Double? = nil, workspaceID: String? = nil,
        parentID: String? = nil, ask: String? = nil, origin: WireOriginWrite? = nil, notify: Bool? = nil
    ) {
        self.origin = origin
        self.notify = notify
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
        self.workspaceID = workspaceID
        self.parentID = parentID
        self.ask = ask
    }

    /// The task to submit; `idempotencyHeader` is the `Idempotency-Key` header, if sent.
    func newTask(idempotencyHeader: String?, now: Date) throws -> NewTask {
        let parent = try parentID.map { text in
            guard let id = TaskID(text) else { throw NightshiftError.invalid("parent_id", "expected a task id (a UUID), got '\(text)'") }
            return id
        }
        // The core reads an empty agent of a subtask as its parent's: on the wire that is an absent one.
        guard agent != nil || parent != nil else {
            throw NightshiftError(.invalidInput, "is required (a string) unless parent_id is given", field: "agent")
        }
        if agent == "" { throw NightshiftError.invalid("agent", "expected a non-empty string") }
        var task = NewTask(agent: agent ?? "", prompt: prompt)
        task.parentID = parent
        task.ask = try ask.map { try AskPolicy(wire: $0, field: "ask") }
        if let policy, policy != .null {
            let parsed = try ExecutionPolicy(json: policy, field: "policy")
            task.policy = parsed.isEmpty ? nil : parsed
        }
        if let workspaceID { task.workspaceID = workspaceID }
        if let payload { task.payload = payload }
        if let priority { task.priority = priority }
        task.lane = lane
        task.labels = labels ?? []
        if let origin {
            for (field, value) in [("origin.channel", origin.channel), ("origin.session", origin.session), ("origin.thread", origin.thread)] {
                guard let value else { continue }
                guard !value.isEmpty, value.utf8.count <= 255 else { throw NightshiftError.invalid(field, "expected 1 to 255 bytes") }
                try TextRules.checkIdentifier(value, field: field)
            }
            task.origin = Origin(channel: origin.channel, session: origin.session, thread: origin.thread, notify: notify ?? true)
        } else if notify != nil {
            throw NightshiftError.invalid("notify", "applies to a task with an origin: give origin.channel too")
        }
        if let idempotencyKey, let idempotencyHeader, idempotencyKey != idempotencyHeader {
            throw NightshiftError(.invalidInput, "differs from the Idempotency-Key header; send one or make them equal", field: "idempotency_key")
        }
        task.idempotencyKey = idempotencyKey ?? idempotencyHeader
        task.dedupKey = dedupKey
        task.timeout = timeout
        task.budgetUSD = budgetUSD
        if let maxAttempts {
            guard maxAttempts >= 1 else { throw NightshiftError(.invalidInput, "expected an integer ≥ 1, got \(maxAttempts)", field: "max_attempts") }
            task.retry = RetryPolicy(maxAttempts: maxAttempts)
        }
        if let delay {
            guard delay >= 0, delay <= NewTask.maxDelay else {
                throw NightshiftError(.invalidInput, "expected seconds from 0 to \(Int(NewTask.maxDelay)) (a year), got \(delay)", field: "delay")
            }
            task.availableAt = now.addingTimeInterval(delay)
        }
        return task
    }
}

/// Where a submitted task came from.
public struct WireOriginWrite: Codable, Hashable, Sendable {
    /// The channel (a channel binding's name).
    public var channel: String
    /// The conversation or session within it.
    public var session: String?
    /// The thread to reply in.
    public var thread: String?

    /// An origin in `channel`.
    public init(channel: String, session: String? = nil, thread: String? = nil) {
        self.channel = channel
        self.session = session
        self.thread = thread
    }
}

extension AskPolicy {
    /// The policy named `text` on the wire; `invalid_input` naming `field` for another text.
    /// Whether the agent's runner can enforce it is checked where the agent is known.
    init(wire text: String, field: String) throws {
        guard let policy = AskPolicy(rawValue: text) else {
            let names = AskPolicy.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw NightshiftError.invalid(field, "expected one of \(names), got '\(text)'")
        }
        self = policy
    }
}

/// The body of `PATCH /v1/tasks/{id}`: the task's new priority.
public struct WireTaskPatch: WireRequest, Hashable {
    /// Lower runs first (≥ 0).
    public var priority: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case priority
    }

    /// A patch setting `priority`.
    public init(priority: Int) {
        self.priority = priority
    }
}

/// The body of `PUT /v1/agents/{name}/memories/{key}`.
public struct WireMemoryWrite: WireRequest, Hashable {
    /// The text to remember.
    public var summary: String
    /// Write only over this version (0: only if there is none yet).
    public var expectedVersion: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case summary
        case expectedVersion = "expected_version"
    }

    /// A memory write (in the token's workspace).
    public init(summary: String, expectedVersion: Int? = nil) {
        self.summary = summary
        self.expectedVersion = expectedVersion
    }
}

/// The body of `POST /v1/checkpoints/cleanup`.
public struct WireCleanup: WireRequest, Hashable {
    /// Archive what has not been updated for this many days (≥ 1).
    public var olderThanDays: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case olderThanDays = "older_than_days"
    }

    /// A cleanup of what is older than `days` days.
    public init(olderThanDays days: Int) {
        self.olderThanDays = days
    }
}
