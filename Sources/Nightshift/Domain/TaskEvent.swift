import Foundation

/// One entry of a task's append-only event log. `seq` runs 1, 2, 3 … per task.
public struct TaskEvent: Sendable, Hashable, Codable {
    /// The task.
    public var taskID: TaskID
    /// Position in the task's log; the cursor for reads.
    public var seq: Int64
    /// When it happened.
    public var time: Date
    /// `state`, `stdout`, `stderr`, `log`, `checkpoint`, `result`, …
    public var type: String
    /// Details; for `state`: `from`, `to`, `action`.
    public var data: JSONValue

    /// Creates an event value.
    public init(taskID: TaskID, seq: Int64, time: Date, type: String, data: JSONValue) {
        self.taskID = taskID
        self.seq = seq
        self.time = time
        self.type = type
        self.data = data
    }
}

/// An event to append to a task's log; the store gives it its `seq`.
public struct NewTaskEvent: Sendable, Hashable {
    /// The task.
    public var taskID: TaskID
    /// When it happened.
    public var time: Date
    /// The event type.
    public var type: String
    /// Details.
    public var data: JSONValue

    /// Creates an event to append.
    public init(taskID: TaskID, type: String, data: JSONValue, time: Date = Date()) {
        self.taskID = taskID
        self.time = time
        self.type = type
        self.data = data
    }
}

/// One entry of the global hook stream: a gap-free, ordered sequence of lifecycle signals
/// (`task.queued`, `task.started`, `task.done`, …) for consumers and webhooks.
public struct HookEvent: Sendable, Hashable, Codable {
    /// Position in the global stream.
    public var seq: Int64
    /// When it happened.
    public var time: Date
    /// The task.
    public var taskID: TaskID
    /// `task.<new state>` (`task.running` is named `task.started`).
    public var type: String
    /// Details: `from`, `to`, `agent`, `action`.
    public var data: JSONValue
    /// The task's workspace: a reader sees only its own workspace's events.
    public var workspaceID: String

    /// Creates a hook event value.
    public init(seq: Int64, time: Date, taskID: TaskID, type: String, data: JSONValue, workspaceID: String = Workspace.defaultID) {
        self.seq = seq
        self.time = time
        self.taskID = taskID
        self.type = type
        self.data = data
        self.workspaceID = workspaceID
    }

    /// The hook type of an input added to a task's inbox: `task.input` (data: the input's id,
    /// place, kind and sender). A node whose run takes live input follows these.
    public static let inputType = "task.input"

    /// The hook type for a move into `state`.
    public static func type(for state: TaskState) -> String {
        state == .running ? "task.started" : "task.\(state.rawValue)"
    }
}

extension Collection where Element == NewTaskEvent {
    /// The events grouped by task, tasks in order of first appearance, each task's events in
    /// order: what the stores append per task.
    package var groupedByTask: [(TaskID, [NewTaskEvent])] {
        var byTask: [TaskID: [NewTaskEvent]] = [:]
        var order: [TaskID] = []
        for event in self {
            if byTask[event.taskID] == nil { order.append(event.taskID) }
            byTask[event.taskID, default: []].append(event)
        }
        return order.map { ($0, byTask[$0]!) }
    }
}
