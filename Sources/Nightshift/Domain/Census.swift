import Foundation

/// The key of a census count: a workspace's tasks of one agent in one state.
public struct CensusKey: Sendable, Hashable {
    /// The tasks' workspace.
    public var workspace: String
    /// Their agent.
    public var agent: String
    /// Their state.
    public var state: TaskState

    /// Creates the key.
    public init(workspace: String, agent: String, state: TaskState) {
        self.workspace = workspace
        self.agent = agent
        self.state = state
    }
}

/// Tasks counted by ``CensusKey`` as of hook seq ``seq`` (``TaskQueries/censusSnapshot()``).
public struct CensusSnapshot: Sendable, Hashable {
    /// The counts; a key without tasks may be left out.
    public var counts: [CensusKey: Int]
    /// The seq of the last hook event the counts reflect.
    public var seq: Int64

    /// Creates the value.
    public init(counts: [CensusKey: Int], seq: Int64) {
        self.counts = counts
        self.seq = seq
    }
}

extension CensusSnapshot {
    /// `counts` with one hook event's move added (`sign` 1) or taken back (-1): a move takes one
    /// task from its `from` state's count (none for a submit) and adds it to its `to` state's.
    /// Events that are no move (custom events, inputs) change nothing.
    package static func move(_ counts: inout [CensusKey: Int], type: String, workspace: String, data: JSONValue, sign: Int = 1) {
        guard type.hasPrefix("task."), let agent = data["agent"]?.stringValue,
            let to = data["to"]?.stringValue.flatMap(TaskState.init(rawValue:))
        else { return }
        if let from = data["from"]?.stringValue.flatMap(TaskState.init(rawValue:)) {
            counts[CensusKey(workspace: workspace, agent: agent, state: from), default: 0] -= sign
        }
        counts[CensusKey(workspace: workspace, agent: agent, state: to), default: 0] += sign
    }
}

/// The queued tasks of one workspace, agent and lane (``TaskQueries/queueStats()``).
public struct QueueStat: Sendable, Hashable {
    /// The tasks' workspace.
    public var workspace: String
    /// Their agent.
    public var agent: String
    /// Their lane; `""` for none.
    public var lane: String
    /// How many are queued.
    public var depth: Int
    /// When the oldest of them became available to claim.
    public var oldestAvailableAt: Date

    /// Creates the value.
    public init(workspace: String, agent: String, lane: String, depth: Int, oldestAvailableAt: Date) {
        self.workspace = workspace
        self.agent = agent
        self.lane = lane
        self.depth = depth
        self.oldestAvailableAt = oldestAvailableAt
    }
}
