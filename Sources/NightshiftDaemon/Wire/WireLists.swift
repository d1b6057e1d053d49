import Foundation
import Nightshift

/// One page of `GET /v1/tasks`.
public struct WireTaskPage: WireValue, Hashable {
    /// The tasks, newest first.
    public var tasks: [WireTask]
    /// The cursor of the next page; nil on the last one.
    public var nextCursor: String?

    /// A page of `tasks` followed by the page at `nextCursor`.
    public init(tasks: [WireTask], nextCursor: String?) {
        self.tasks = tasks
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case tasks
        case nextCursor = "next_cursor"
    }
}

/// The answer of `GET /v1/tasks/{id}/children`: a task's subtasks.
public struct WireSubtaskList: WireValue, Hashable {
    /// The subtasks, oldest first.
    public var tasks: [WireTask]

    /// A list of `tasks`.
    public init(tasks: [WireTask]) {
        self.tasks = tasks
    }
}

/// One page of `GET /v1/tasks/{id}/events`.
public struct WireEventPage: WireValue, Hashable {
    /// The events in `seq` order.
    public var events: [WireEvent]
    /// The `after` of the next page.
    public var nextAfter: Int64

    enum CodingKeys: String, CodingKey {
        case events
        case nextAfter = "next_after"
    }
}

/// The answer of `GET /v1/tasks/{id}/runs`.
public struct WireRunList: WireValue, Hashable {
    /// The task's runs, one per attempt.
    public var runs: [WireRun]
}

/// The answer of `GET /v1/tasks/{id}/steps`.
public struct WireStepList: WireValue, Hashable {
    /// The workflow task's recorded steps, by position.
    public var steps: [WireStep]
    /// The step names its workflow declares, in order (empty when it declares none).
    public var declared: [String]
    /// Steps completed.
    public var completed: Int
    /// Completed over declared steps (0…1); `null` when none are declared.
    public var progress: Double?
}

extension WireStepList {
    /// The wire form of `steps`.
    public init(_ steps: TaskSteps) {
        self.init(steps: steps.recorded.map(WireStep.init), declared: steps.declared, completed: steps.completed, progress: steps.progress)
    }
}

/// The answer of `GET /v1/agents`.
public struct WireAgentList: WireValue, Hashable {
    /// Every agent.
    public var agents: [WireAgent]

    /// A list of `agents`.
    public init(agents: [WireAgent]) {
        self.agents = agents
    }
}

/// The answer of `GET /v1/checkpoints`.
public struct WireCheckpointList: WireValue, Hashable {
    /// The checkpoints, most recently updated first.
    public var checkpoints: [SessionCheckpoint]

    /// A list of `checkpoints`.
    public init(checkpoints: [SessionCheckpoint]) {
        self.checkpoints = checkpoints
    }
}

/// The answer of `GET /v1/agents/{name}/memories`.
public struct WireMemoryList: WireValue, Hashable {
    /// The memories, by key.
    public var memories: [Memory]

    /// A list of `memories`.
    public init(memories: [Memory]) {
        self.memories = memories
    }
}

/// A checkpoint file that could not be read, moved aside with the reason.
public struct WireQuarantined: WireValue, Hashable {
    /// The file's name in the checkpoint directory.
    public var fileName: String
    /// Where the file is now.
    public var quarantinedPath: String
    /// Why it was refused.
    public var error: String
    /// The agent whose session wrote it.
    public var agent: String
    /// The task the session ran for, if any.
    public var taskID: String?
    /// When it was quarantined.
    public var time: Date

    enum CodingKeys: String, CodingKey {
        case error, agent, time
        case fileName = "file_name", quarantinedPath = "quarantined_path", taskID = "task_id"
    }
}

extension WireQuarantined {
    /// The wire form of `file`.
    public init(_ file: QuarantinedCheckpoint) {
        self.init(
            fileName: file.fileName, quarantinedPath: file.quarantinedPath, error: file.error, agent: file.agent,
            taskID: file.taskID?.rawValue, time: file.time)
    }
}

/// The answer of `GET /v1/checkpoints/quarantine`.
public struct WireQuarantineList: WireValue, Hashable {
    /// The quarantined files, most recent first.
    public var quarantined: [WireQuarantined]

    /// A list of `quarantined` files.
    public init(quarantined: [WireQuarantined]) {
        self.quarantined = quarantined
    }
}

/// The answer of `POST /v1/checkpoints/cleanup`.
public struct WireCleanupResult: WireValue, Hashable {
    /// How many checkpoints were archived.
    public var archived: Int

    /// A cleanup that archived `archived` checkpoints.
    public init(archived: Int) {
        self.archived = archived
    }
}

/// The answer of `GET /healthz` and `GET /readyz`.
public struct WireHealth: WireValue, Hashable {
    /// `ok`.
    public var status: String
}

/// An error answer: `{"error":{"code","message","field"}}`.
public struct WireErrorBody: WireValue, Hashable {
    /// What went wrong.
    public struct Detail: WireValue, Hashable {
        /// The stable error code (`invalid_input`, `not_found`, …).
        public var code: String
        /// A sentence for a person.
        public var message: String
        /// The request field at fault, if any.
        public var field: String?
    }

    /// What went wrong.
    public var error: Detail
}

/// A hook event (one entry of the global stream of lifecycle changes) as the API answers it.
public struct WireHookEvent: WireValue, Hashable {
    /// Its position in the global stream (what `Last-Event-ID` resumes after).
    public var seq: Int64
    /// When it happened.
    public var time: Date
    /// The task.
    public var taskID: String
    /// `task.<new state>` (`task.running` is `task.started`).
    public var type: String
    /// `from`, `to`, `agent`, `action`.
    public var data: JSONValue

    enum CodingKeys: String, CodingKey {
        case seq, time, type, data
        case taskID = "task_id"
    }

    /// The wire form of `event`.
    public init(_ event: HookEvent) {
        seq = event.seq
        time = event.time
        taskID = event.taskID.rawValue
        type = event.type
        data = event.data
    }
}

/// The answer of `GET /v1/events` (as JSON): a page of hook events.
public struct WireHookEventPage: WireValue, Hashable {
    /// The events the filters kept, in order.
    public var events: [WireHookEvent]
    /// Where the read stopped, whether or not the filters kept its last event: the next page's `after`.
    public var nextAfter: Int64

    enum CodingKeys: String, CodingKey {
        case events
        case nextAfter = "next_after"
    }

    /// A page of `events` that read up to `nextAfter`.
    public init(events: [WireHookEvent], nextAfter: Int64) {
        self.events = events
        self.nextAfter = nextAfter
    }
}
