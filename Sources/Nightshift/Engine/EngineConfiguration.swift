import Foundation

/// How an ``Engine`` runs: its identity, slots and timings. Every argument has a default.
public struct EngineConfiguration: Sendable {
    /// This node's id, recorded on its runs. Keep it stable across restarts (the daemon stores it in
    /// its data directory) so a restarted node reclaims its previous incarnation's runs at once.
    public var nodeID: String
    /// Runs in progress at once on this node.
    public var slots: Int
    /// How long a lease lasts without a heartbeat, in seconds.
    public var leaseDuration: Double
    /// Seconds between heartbeats (extends every lease held in one batch).
    public var heartbeatInterval: Double
    /// Seconds between sweeps for expired leases and due wake times.
    public var rescueInterval: Double
    /// A task waiting longer than this (seconds) for a person is reported as `blocked_stale`.
    public var blockedStaleAfter: Double = 3600
    /// A task available for longer than this (seconds) that no node claimed is reported as
    /// `stuck_queued` to hook consumers.
    public var stuckQueuedAfter: Double = 600
    /// How long hook events are kept once every consumer of their workspace has acked them, in
    /// seconds (an unacked event is kept however old).
    public var hookRetention: Double = 7 * 86_400
    /// How long a node's lease on a webhook lasts without renewal, in seconds (renewed at a third
    /// of it, and by each delivery): a node that dies mid-delivery leaves the webhook to another
    /// after this.
    public var webhookLeaseDuration: Double = 30
    /// How long a node holds a detector's scan lease, in seconds: a scan longer than this may be
    /// taken over by another node (its items are deduplicated).
    public var detectorLeaseDuration: Double = 300
    /// The daemon's address as people reach it (`https://nightshift.example.com`): notifications
    /// link to `<publicURL>/tasks/<id>`. `nil`: no link.
    public var publicURL: String?
    /// A schedule's fire time passed by more than this many seconds counts as missed (no node ran
    /// then): its missed-run policy decides; a later one fires late but fires.
    public var scheduleMissedGrace: Double = 60
    /// How long a schedule whose task was refused (an unknown agent, a spent budget) waits before
    /// this node tries its fire time again, in seconds.
    public var scheduleRetryDelay: Double = 30
    /// The safety-net poll: the dispatcher looks for work at least this often, in seconds, even
    /// without a wake-up.
    public var pollInterval: Double
    /// On shutdown, how long running tasks may finish before they are stopped and released, in seconds.
    public var shutdownGrace: Double
    /// Where per-task working directories are made (`<workRoot>/<task id>`, checkpoint directories
    /// in `<workRoot>/.checkpoints/<task id>`). A task's are removed when it ends.
    public var workRoot: URL
    /// How long the working directory of a task that ended in error is kept, for a look at what its
    /// agent left, in seconds; 0 removes it as it ends, like those of tasks that end otherwise.
    public var failedWorkdirRetention: Double
    /// Seconds between sweeps of the work root for the directories of tasks that ended elsewhere or
    /// earlier (see ``Engine/removeLeftoverDirectories(now:)``); the first sweep runs at start.
    public var workdirSweepInterval: Double
    /// How long a provider's usage limit parks an agent's quota group: the margin after a known
    /// reset, and the default park (doubling, capped) when the provider names none.
    public var parking: ParkPolicy
    /// Paths an agent's sandbox hides besides the work root (the daemon's data directory, with its
    /// database and token); the run's own workspace and checkpoint directory are mounted back.
    public var privatePaths: [URL] = []
    /// Where the files runs keep as artifacts go (`<artifactRoot>/<task id>/<name>`); `nil`:
    /// `<workRoot>/.artifacts`. They stay after their task ends.
    public var artifactRoot: URL?
    /// Where the engine's measurements go (``EngineMetrics``); by default swift-metrics' global
    /// factory, which does nothing unless the program bootstrapped one.
    public var metrics = EngineMetrics()
    /// Where the engine's spans go (``EngineTracing``); by default swift-distributed-tracing's
    /// global tracer, a no-op unless the program bootstrapped one.
    public var tracing = EngineTracing()

    /// Creates a configuration.
    public init(
        nodeID: String = "node-" + UUIDv7.generate().suffix(12),
        slots: Int = 8,
        leaseDuration: Double = 30,
        heartbeatInterval: Double = 10,
        rescueInterval: Double = 5,
        pollInterval: Double = 5,
        shutdownGrace: Double = 30,
        workRoot: URL = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-work"),
        failedWorkdirRetention: Double = 24 * 3600,
        workdirSweepInterval: Double = 600,
        parking: ParkPolicy = ParkPolicy()
    ) {
        self.parking = parking
        self.nodeID = nodeID
        self.slots = slots
        self.leaseDuration = leaseDuration
        self.heartbeatInterval = heartbeatInterval
        self.rescueInterval = rescueInterval
        self.pollInterval = pollInterval
        self.shutdownGrace = shutdownGrace
        self.workRoot = workRoot
        self.failedWorkdirRetention = failedWorkdirRetention
        self.workdirSweepInterval = workdirSweepInterval
    }
}

/// A run in progress on this node, for status displays.
public struct ActiveRun: Sendable, Hashable {
    /// The task.
    public var taskID: TaskID
    /// The task's workspace.
    public var workspaceID: String
    /// The run.
    public var runID: String
    /// The agent.
    public var agent: String
    /// The attempt number.
    public var attempt: Int
    /// When the run started.
    public var startedAt: Date
    /// The agent process's pid, while there is one.
    public var pid: Int32?
}

/// A provider's quota status as an agent's run last reported it (Claude Code's `rate_limit_event`:
/// status, utilization, window, reset).
public struct AgentQuota: Sendable, Hashable {
    /// The status as the agent CLI printed it.
    public var status: JSONValue
    /// When it was seen.
    public var observedAt: Date

    /// Creates a quota observation.
    public init(status: JSONValue, observedAt: Date) {
        self.status = status
        self.observedAt = observedAt
    }
}
