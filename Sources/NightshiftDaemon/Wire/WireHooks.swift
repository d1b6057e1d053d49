import Foundation
import Nightshift

/// A hook consumer as the API answers it.
public struct WireHookConsumer: WireValue, Hashable {
    /// Its name.
    public var name: String
    /// The seq it has acked up to.
    public var ack: Int64
    /// How many of its workspace's events come after its ack.
    public var lag: Int64
    /// When it was first used.
    public var createdAt: Date
    /// When its ack last moved.
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case name, ack, lag
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// The wire form of `consumer`.
    public init(_ consumer: HookConsumer) {
        name = consumer.name
        ack = consumer.ackSeq
        lag = consumer.lag
        createdAt = consumer.createdAt
        updatedAt = consumer.updatedAt
    }
}

/// The answer of `GET /v1/hooks/consumers`.
public struct WireHookConsumerList: WireValue, Hashable {
    /// The workspace's consumers, by name.
    public var consumers: [WireHookConsumer]

    /// A list of `consumers`.
    public init(consumers: [WireHookConsumer]) {
        self.consumers = consumers
    }
}

/// A signal derived at poll time: like a hook event, with seq 0 (never acked).
public struct WireDerivedSignal: WireValue, Hashable {
    /// Always 0: a derived signal is not in the stream.
    public var seq: Int64
    /// `blocked_stale`, `budget_nearly_spent`, `parked` or `stuck_queued`.
    public var type: String
    /// When it was computed.
    public var time: Date
    /// The task, if it is about one.
    public var taskID: String?
    /// The agent, if it is about one.
    public var agent: String?
    /// Its details.
    public var data: JSONValue

    enum CodingKeys: String, CodingKey {
        case seq, type, time, agent, data
        case taskID = "task_id"
    }

    /// The wire form of `signal`.
    public init(_ signal: DerivedSignal) {
        seq = 0
        type = signal.type
        time = signal.time
        taskID = signal.taskID?.rawValue
        agent = signal.agent
        data = signal.data
    }
}

/// The answer of `GET /v1/hooks/poll`.
public struct WireHookPoll: WireValue, Hashable {
    /// The consumer's events after its ack, in order.
    public var events: [WireHookEvent]
    /// The signals derived at poll time.
    public var derived: [WireDerivedSignal]
    /// The consumer, as the poll found it.
    public var consumer: WireHookConsumer

    /// The wire form of `poll`.
    public init(_ poll: HookPoll) {
        events = poll.events.map(WireHookEvent.init)
        derived = poll.derived.map(WireDerivedSignal.init)
        consumer = WireHookConsumer(poll.consumer)
    }
}

/// The body of `POST /v1/hooks/ack`.
public struct WireHookAck: WireRequest, Hashable {
    /// The consumer.
    public var consumer: String
    /// The seq it has handled up to.
    public var seq: Int64

    enum CodingKeys: String, CodingKey, CaseIterable {
        case consumer, seq
    }

    /// An ack of `consumer` up to `seq`.
    public init(consumer: String, seq: Int64) {
        self.consumer = consumer
        self.seq = seq
    }
}

/// The body of `POST /v1/events`: an application's event on a task.
public struct WireNewHookEvent: WireRequest, Hashable {
    /// The task it is about.
    public var taskID: String
    /// Its type (see ``NewHookEvent/typeRule``).
    public var type: String
    /// Its details: a JSON object (default `{}`).
    public var data: JSONValue?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, data
        case taskID = "task_id"
    }

    /// An event of `type` on task `taskID`.
    public init(taskID: String, type: String, data: JSONValue? = nil) {
        self.taskID = taskID
        self.type = type
        self.data = data
    }

    /// The event, checked: a bad task id names `task_id`, a bad type `type`, bad data `data`.
    func event() throws -> NewHookEvent {
        guard let id = TaskID(taskID) else { throw NightshiftError.invalid("task_id", "expected a task id, got '\(taskID)'") }
        let event = NewHookEvent(taskID: id, type: type, data: data ?? .object([:]))
        try event.validate()
        return event
    }
}

/// The answer of `POST /v1/events`: the event as accepted (its seq is given when the stream numbers it).
public struct WireAcceptedHookEvent: WireValue, Hashable {
    /// The task.
    public var taskID: String
    /// Its type.
    public var type: String
    /// Its details.
    public var data: JSONValue

    enum CodingKeys: String, CodingKey {
        case type, data
        case taskID = "task_id"
    }

    /// The wire form of `event`.
    public init(_ event: NewHookEvent) {
        taskID = event.taskID.rawValue
        type = event.type
        data = event.data
    }
}
