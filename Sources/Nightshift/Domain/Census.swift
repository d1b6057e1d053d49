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
