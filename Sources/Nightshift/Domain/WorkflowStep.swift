import Foundation

/// One step of a workflow task as the store keeps it: what a later run of the task replays
/// instead of running the step again.
///
/// A step is recorded once it has ended (``State``), in the fenced write that appends its
/// `step_completed` (or `step_failed`) event: a run that lost its lease records nothing.
public struct WorkflowStep: Sendable, Hashable, Codable {
    /// How a recorded step ended.
    public enum State: String, Sendable, Hashable, Codable, CaseIterable {
        /// It returned; its output is recorded and replayed.
        case completed
        /// It failed after its last attempt; a replay fails with the same error.
        case failed
        /// The workflow was cancelled before it ran.
        case skipped
    }

    /// The task.
    public var taskID: TaskID
    /// Its place in the workflow, from 0, in the order the workflow first ran its steps.
    public var position: Int
    /// Its name (unique within the workflow's run of steps only by position: a loop may repeat one).
    public var name: String
    /// How it ended.
    public var state: State
    /// What it returned, as JSON (completed steps).
    public var output: JSONValue?
    /// Why it failed.
    public var error: String?
    /// Attempts made (1 for a step that ran once).
    public var attempts: Int
    /// The run of the task that ran it.
    public var runID: String
    /// When its first attempt started.
    public var startedAt: Date
    /// When it ended.
    public var finishedAt: Date

    /// Creates a step record.
    public init(
        taskID: TaskID, position: Int, name: String, state: State, output: JSONValue? = nil, error: String? = nil, attempts: Int = 1,
        runID: String, startedAt: Date, finishedAt: Date
    ) {
        self.taskID = taskID
        self.position = position
        self.name = name
        self.state = state
        self.output = output
        self.error = error
        self.attempts = attempts
        self.runID = runID
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    /// How long it took, in seconds.
    public var duration: Double { max(0, finishedAt.timeIntervalSince(startedAt)) }

    /// The event that records it in the task's log (`step_completed`, `step_failed`,
    /// `step_skipped`), written with it.
    public var event: NewTaskEvent {
        let type: String = switch state {
        case .completed: "step_completed"
        case .failed: "step_failed"
        case .skipped: "step_skipped"
        }
        var data: [String: JSONValue] = [
            "step": .string(name), "position": .int(Int64(position)), "attempts": .int(Int64(attempts)),
            "duration_s": .double(duration),
        ]
        if let error { data["error"] = .string(error) }
        return NewTaskEvent(taskID: taskID, type: type, data: .object(data), time: finishedAt)
    }
}

/// A workflow task's steps as the store keeps them: those that ended (completed, failed or
/// skipped), by position, and the names the workflow declares, for its progress.
public struct TaskSteps: Sendable, Hashable {
    /// The steps that ended, by position.
    public var recorded: [WorkflowStep]
    /// The step names the workflow declares, in order (``WorkflowRegistry/register(_:steps:file:line:_:)``,
    /// a TOML workflow's list, ``WorkflowContext/declare(_:)``); empty when it declares none.
    public var declared: [String]

    /// Creates the value.
    public init(recorded: [WorkflowStep] = [], declared: [String] = []) {
        self.recorded = recorded
        self.declared = declared
    }

    /// Steps completed.
    public var completed: Int { recorded.count { $0.state == .completed } }

    /// Completed steps over declared ones (0…1), or `nil` when the workflow declares none.
    public var progress: Double? { Self.progress(completed: completed, declared: declared.count) }

    /// The declared steps not recorded yet (positions past the last recorded one), in order.
    public var pending: [(position: Int, name: String)] { Self.pending(declared, after: recorded.map(\.position)) }

    /// `completed` over `declared` steps (0…1), or `nil` when none are declared.
    public static func progress(completed: Int, declared: Int) -> Double? {
        declared == 0 ? nil : min(1, Double(completed) / Double(declared))
    }

    /// The `declared` steps past the last of the `recorded` positions, with their positions.
    public static func pending(_ declared: [String], after recorded: [Int]) -> [(position: Int, name: String)] {
        let next = (recorded.max() ?? -1) + 1
        return declared.enumerated().filter { $0.offset >= next }.map { ($0.offset, $0.element) }
    }

    /// Names as a JSON array (how both stores keep them, as its text, and how the
    /// `steps_declared` event carries them).
    public static func json(names: [String]) -> JSONValue {
        .array(names.map(JSONValue.string))
    }

    /// Names read back from ``json(names:)``; none for `nil` or another value.
    public static func names(in value: JSONValue?) -> [String] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap(\.stringValue)
    }

    /// Names read back from ``json(names:)``'s text; none for `nil` or other text.
    public static func names(fromJSON text: String?) -> [String] {
        names(in: text.flatMap { try? JSONValue(jsonText: $0) })
    }
}
