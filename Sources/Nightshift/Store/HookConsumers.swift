import Foundation

/// The readers of the hook stream that keep a durable position: each named consumer of a
/// workspace has an ack (the seq it has handled up to), which only moves forward, and reads the
/// workspace's events after it. Applications append their own event types to the same stream.
public protocol HookConsumerStore: Sendable {
    /// The consumer `name` of `workspace`, created at ack 0 on first use (it then reads every
    /// event the stream still holds).
    func hookConsumer(_ name: String, workspace: String, now: Date) async throws -> HookConsumer
    /// Moves the consumer's ack to `seq`. The same seq again is fine; a lower one is refused
    /// (`conflict`, naming the current ack), one beyond the stream's last seq is `invalid_input`,
    /// an unknown consumer `not_found`.
    func ackHookConsumer(_ name: String, seq: Int64, workspace: String, now: Date) async throws -> HookConsumer
    /// The workspace's consumers by name, each with its lag.
    func hookConsumers(workspace: String) async throws -> [HookConsumer]
    /// Forgets a consumer (it no longer holds events back from pruning); answers whether it existed.
    func deleteHookConsumer(_ name: String, workspace: String) async throws -> Bool
    /// The workspace's hook events after `seq`, at most `limit`, in order.
    func hookEvents(after seq: Int64, limit: Int, workspace: String) async throws -> [HookEvent]
    /// Appends application events (``NewHookEvent``, validated) to the stream, in order, each on a
    /// task of `workspace`; a task that is not the workspace's is `not_found`, and then nothing is
    /// written.
    func appendHookEvents(_ events: [NewHookEvent], workspace: String, now: Date) async throws
    /// Deletes the hook events older than `cutoff` that every consumer and webhook of their
    /// workspace is done with; never an unacked one, and never the stream's last (it keeps the
    /// numbering going); and webhook delivery records older than `cutoff`. Answers how many
    /// events it deleted.
    func pruneHookEvents(before cutoff: Date) async throws -> Int
}

/// A named reader of a workspace's hook stream and how far it has got.
public struct HookConsumer: Sendable, Hashable, Codable {
    /// Its name, unique in its workspace (see ``TextRules/agentNameRule``).
    public var name: String
    /// Its workspace: it reads only that workspace's events.
    public var workspaceID: String
    /// The seq it has handled up to (0: none).
    public var ackSeq: Int64
    /// How many of its workspace's events come after its ack.
    public var lag: Int64
    /// When it was first used.
    public var createdAt: Date
    /// When its ack last moved.
    public var updatedAt: Date

    /// Creates a consumer value.
    public init(name: String, workspaceID: String, ackSeq: Int64, lag: Int64, createdAt: Date, updatedAt: Date) {
        self.name = name
        self.workspaceID = workspaceID
        self.ackSeq = ackSeq
        self.lag = lag
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Refuses a consumer name that is not in the agent-name alphabet, naming `field`.
    public static func validate(name: String, field: String = "consumer") throws(NightshiftError) {
        guard TextRules.isAgentName(name) else {
            throw .invalid(field, "expected a consumer name (\(TextRules.agentNameRule)), got '\(name)'")
        }
    }
}

/// An event an application appends to the hook stream (the API's `POST /v1/events`, the library's
/// ``WorkspaceScope/emitEvent(_:)``, a run's `emit` line): sequenced with the lifecycle events.
public struct NewHookEvent: Sendable, Hashable {
    /// The task it is about.
    public var taskID: TaskID
    /// Its type: see ``validate()``.
    public var type: String
    /// Its details: a JSON object.
    public var data: JSONValue

    /// The most bytes an event's data may take as JSON text: 64 KiB.
    public static let maxDataBytes = 64 << 10

    /// What an application's event type looks like.
    public static let typeRule = "1 to 64 characters: a lowercase letter, then lowercase letters, digits, '_', '-', '.' or ':'; not starting with 'task.'"

    /// Creates an event value.
    public init(taskID: TaskID, type: String, data: JSONValue = .object([:])) {
        self.taskID = taskID
        self.type = type
        self.data = data
    }

    /// The event of a run's `emit` event data (`{"event": TYPE, "data": {…}}`, as the command
    /// line protocol reads it), on `task`; `nil` unless it is valid.
    public init?(emitted data: JSONValue, task: TaskID) {
        guard let type = data["event"]?.stringValue else { return nil }
        self.init(taskID: task, type: type, data: data["data"] ?? .object([:]))
        guard (try? validate()) != nil else { return nil }
    }

    /// Refuses a type outside ``typeRule`` (the `task.` prefix is the lifecycle's), naming
    /// `type`, and data that is not a JSON object of at most ``maxDataBytes``, naming `data`.
    public func validate() throws(NightshiftError) {
        try Self.validate(type: type, data: data)
    }

    /// Refuses a type outside ``typeRule``, naming `type`, and data that is not a JSON object of
    /// at most ``maxDataBytes``, naming `data`.
    public static func validate(type: String, data: JSONValue) throws(NightshiftError) {
        let bytes = Array(type.utf8)
        let lower = UInt8(ascii: "a")...UInt8(ascii: "z")
        let valid = (1...64).contains(bytes.count) && bytes.first.map(lower.contains) == true
            && bytes.allSatisfy { lower.contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || Array("_-.:".utf8).contains($0) }
        guard valid, !type.hasPrefix("task.") else {
            throw .invalid("type", "expected an event type (\(typeRule)), got '\(type)'")
        }
        guard case .object = data else { throw .invalid("data", "expected a JSON object") }
        let size = data.jsonText.utf8.count
        guard size <= Self.maxDataBytes else {
            throw .invalid("data", "expected at most \(maxDataBytes) bytes of JSON, got \(size)")
        }
        try TextRules.checkText(data.jsonText, field: "data")
    }
}

/// A signal computed when a consumer polls, from the state of things then: never stored, never
/// acked (its seq is 0 on the wire).
public struct DerivedSignal: Sendable, Hashable {
    /// `blocked_stale`, `budget_nearly_spent`, `parked` or `stuck_queued`.
    public var type: String
    /// The task it is about, if one.
    public var taskID: TaskID?
    /// The agent it is about.
    public var agent: String?
    /// When it was computed.
    public var time: Date
    /// Its details.
    public var data: JSONValue

    /// Creates a signal value.
    public init(type: String, taskID: TaskID? = nil, agent: String? = nil, time: Date, data: JSONValue) {
        self.type = type
        self.taskID = taskID
        self.agent = agent
        self.time = time
        self.data = data
    }

    /// A task waiting longer than the engine's ``EngineConfiguration/blockedStaleAfter``.
    public static let blockedStale = "blocked_stale"
    /// An agent that has spent 80 % or more of its budget.
    public static let budgetNearlySpent = "budget_nearly_spent"
    /// An agent whose quota group is parked.
    public static let parked = "parked"
    /// A task available for longer than ``EngineConfiguration/stuckQueuedAfter`` that no node claimed.
    public static let stuckQueued = "stuck_queued"
    /// The share of its budget at which an agent is `budget_nearly_spent`.
    public static let budgetShare = 0.8
}

extension NightshiftError {
    /// No consumer of this name in the workspace.
    public static func consumerNotFound(_ name: String) -> NightshiftError {
        NightshiftError(.notFound, "no hook consumer '\(name)'", field: "consumer")
    }

    /// An ack below the consumer's current one.
    public static func ackBehind(_ seq: Int64, current: Int64) -> NightshiftError {
        NightshiftError(.conflict, "the consumer's ack is at \(current); an ack never moves back (got \(seq))", field: "seq")
    }

    /// An ack beyond the stream's last event.
    public static func ackBeyond(_ seq: Int64, last: Int64) -> NightshiftError {
        .invalid("seq", "expected a seq of the stream, at most its last (\(last)), got \(seq)")
    }
}
