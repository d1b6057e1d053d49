import Foundation

extension ClaimedRun {
    /// A new run of the queued `task` for `worker`: the next attempt, a fresh run id and lease
    /// token, and the `dispatch` event's details. The task's state is left for the store's move.
    package static func opening(
        _ task: AgentTask, worker: String, leaseDuration: Double, now: Date
    ) -> (claimed: ClaimedRun, details: [String: JSONValue]) {
        var task = task
        let runID = UUIDv7.generate(at: now)
        let token = UUIDv7.generate(at: now)
        task.attempt += 1
        task.updatedAt = now
        let run = Run(
            id: runID, taskID: task.id, attempt: task.attempt, workerID: worker, leaseToken: token,
            leaseExpiresAt: now.addingTimeInterval(leaseDuration), heartbeatAt: now, startedAt: now)
        return (
            ClaimedRun(task: task, run: run),
            ["attempt": .int(Int64(task.attempt)), "run_id": .string(runID), "worker": .string(worker)]
        )
    }
}

/// A move to record: the `state` task event (at `seq`) and the hook event that both stores
/// append in the transaction that moves the task.
package struct TransitionRecord: Sendable {
    package var task: TaskID
    /// The task's workspace, which its events and hook event carry.
    package var workspace: String
    package var agent: String
    package var from: TaskState?
    package var to: TaskState
    package var action: LifecycleAction
    package var seq: Int64
    /// Members of the `state` event's data beyond from, to and action.
    package var details: [String: JSONValue]

    package init(
        task: TaskID, workspace: String, agent: String, from: TaskState?, to: TaskState, action: LifecycleAction, seq: Int64,
        details: [String: JSONValue] = [:]
    ) {
        self.task = task
        self.workspace = workspace
        self.agent = agent
        self.from = from
        self.to = to
        self.action = action
        self.seq = seq
        self.details = details
    }

    /// The `state` task event's data, as JSON text: the details with from, to and action.
    package var eventData: String {
        var members: [(key: String, value: JSONValue)] = [
            ("from", from.map { .string($0.rawValue) } ?? .null), ("to", .string(to.rawValue)), ("action", .string(action.name)),
        ]
        for member in details where !Self.stateKeys.contains(member.key) { members.append(member) }
        return JSONValue.objectText(members)
    }

    private static let stateKeys: Set<String> = ["from", "to", "action"]

    /// The hook event's type (`task.done`, …).
    package var hookType: String { HookEvent.type(for: to) }

    /// The hook event's data, as JSON text; a settle's says how the run ended (`resolution`:
    /// `parked` for a usage limit, …).
    package var hookData: String {
        var members: [(key: String, value: JSONValue)] = [
            ("action", .string(action.name)), ("agent", .string(agent)),
            ("from", from.map { .string($0.rawValue) } ?? .null), ("to", .string(to.rawValue)),
        ]
        if case .settle(let resolution) = action { members.append(("resolution", .string(resolution.description))) }
        return JSONValue.objectText(members)
    }
}

/// A run that a rescue or a reclaim ended as lost, and the agent process recorded with it.
public struct RescuedRun: Sendable, Hashable {
    /// The run's task, now queued again (or in error past its interruption limit).
    public var taskID: TaskID
    /// The agent process the run started, if it recorded one.
    public var process: AgentProcessRecord?

    /// Creates the value.
    public init(taskID: TaskID, process: AgentProcessRecord?) {
        self.taskID = taskID
        self.process = process
    }
}

extension Array where Element == RescuedRun {
    /// The tasks of the runs.
    public var taskIDs: [TaskID] { map(\.taskID) }
}

/// A task's state and, once it ended, when (``TaskStore/states(of:)``).
public struct TaskStateRecord: Sendable, Hashable {
    /// The task's state.
    public var state: TaskState
    /// When it finished (done, error, cancelled or dropped); `nil` while it has not.
    public var finishedAt: Date?
    /// Whether a person asked it to pause while it runs (``Lifecycle``): its run sees it here.
    public var pauseRequested: Bool

    /// Creates the value.
    public init(state: TaskState, finishedAt: Date?, pauseRequested: Bool = false) {
        self.state = state
        self.finishedAt = finishedAt
        self.pauseRequested = pauseRequested
    }
}

/// What a run writes while it runs, as one fenced write: its events, and the facts it learned
/// (the agent's session id, its process). Written only while `lease` is current.
public struct RunWrite: Sendable, Hashable {
    /// The run's lease.
    public var lease: Lease
    /// Events for the task's log, in order.
    public var events: [NewTaskEvent]
    /// The agent CLI's session id, once it reports one.
    public var sessionID: String?
    /// The agent process the run started.
    public var process: AgentProcessRecord?
    /// Subtasks the run creates (their `parentID` is the run's task): each is submitted with the
    /// write, or, refused (a limit, an unknown agent), leaves a `log` warning saying why.
    public var spawns: [NewTask] = []
    /// Application events the run emits (`emit` lines), validated, appended to the hook stream.
    public var hookEvents: [NewHookEvent] = []
    /// Workflow steps that ended (``WorkflowStep``), each recorded (replacing one at its
    /// position) with its event among ``events``.
    public var steps: [WorkflowStep] = []
    /// The step names the run's workflow declares (``TaskSteps/declared``), when it declares them
    /// anew: they replace the task's.
    public var declaredSteps: [String]?

    /// Creates the write.
    public init(
        lease: Lease, events: [NewTaskEvent] = [], sessionID: String? = nil, process: AgentProcessRecord? = nil, spawns: [NewTask] = []
    ) {
        self.spawns = spawns
        self.lease = lease
        self.events = events
        self.sessionID = sessionID
        self.process = process
    }

    /// Whether there is nothing to write.
    public var isEmpty: Bool {
        events.isEmpty && sessionID == nil && process == nil && spawns.isEmpty && hookEvents.isEmpty && steps.isEmpty && declaredSteps == nil
    }

    /// The `log` warning a spawn the submit refused (bad input, a spent budget, a full queue)
    /// leaves in its parent's log; `nil` for any other error, which fails the write.
    public static func spawnRefusal(_ error: any Error, task: TaskID, now: Date) -> NewTaskEvent? {
        guard let error = error as? NightshiftError, [.invalidInput, .budgetExceeded, .queueFull].contains(error.code) else { return nil }
        let reason = error.field.map { "\($0): \(error.message)" } ?? error.message
        return NewTaskEvent(taskID: task, type: "log", data: ["level": "warning", "message": .string("subtask refused: \(reason)")], time: now)
    }
}
