import Foundation
import Tracing
import Logging
import ServiceLifecycle
import Synchronization

/// The engine: a `Service` that claims queued tasks, runs them through their agents' runners in
/// worker slots, keeps their leases alive, rescues the runs of dead workers, retries failures and
/// settles every run in the store.
///
/// ```swift
/// let engine = Engine(store: store, runners: RunnerRegistry([BuiltinRunner(handlers: …)]))
/// let group = ServiceGroup(services: [engine], logger: logger)
/// try await group.run()
/// ```
public final class Engine: Service, Sendable {
    /// The store the engine works on.
    public let store: any TaskStore
    /// The engine's configuration.
    public let configuration: EngineConfiguration
    /// Where the engine's time comes from: the times it writes and the deadlines it waits for.
    public let clock: any EngineClock
    let runners: RunnerRegistry
    /// Sends webhook deliveries; `nil`: this engine delivers none.
    let webhookSender: (any WebhookSender)?
    /// The work detectors this node scans (``detectorLoop()``).
    public let detectors: DetectorRegistry?
    let logger: Logger
    let doorbell: Doorbell
    /// Rung for each write this engine makes to a task's event log that the hook stream does not
    /// carry (run output, priority, archive; actions too), and for every follower at shutdown:
    /// with the store's ``ChangeFeed``, what a reader that follows one task's log (SSE) waits on.
    public let taskChanges = TaskChangeSignals()
    /// The hook stream read once for every follower in this process (the API's SSE clients).
    public let hookFanout: HookFanout
    /// The hook stream digested into each half second's changed tasks, for live lists.
    public let changeDigest: TaskChangeDigest
    /// Rung when a run that takes live input starts or ends here (see ``liveInputLoop()``).
    let liveRunsChanged = ChangeSignal()
    /// Rung when a schedule changes here: the scheduler looks at the fire times again.
    let schedulesChanged: Doorbell
    /// Rung when a webhook is made or changed here: the webhook loop takes its lease at once.
    let webhooksChanged: Doorbell
    /// Rung when a run here leaves its task waiting for a time sooner than the waker's next look.
    let wakesChanged: Doorbell
    let state = Mutex(EngineState())

    struct EngineState {
        var active: [TaskID: ActiveEntry] = [:]
        var agents: [ScopedName: (agent: Agent, fetched: ContinuousClock.Instant)] = [:]
        /// The last availability report of each workspace's agents (`""` for every workspace's).
        var availability: [String: (reports: [AgentAvailability], at: ContinuousClock.Instant)] = [:]
        var quotas: [String: AgentQuota] = [:]
        /// Schedules whose task was refused, and when this node tries them again.
        var scheduleRetries: [String: Date] = [:]
        var stopping = false
        /// The earliest wake time a run here left its task waiting for, until the waker passes it.
        var nextWake: Date?
        /// Set when graceful shutdown begins: until then, running tasks may finish.
        var drainDeadline: ContinuousClock.Instant?
    }

    struct ActiveEntry {
        var info: ActiveRun
        var lease: Lease
        var stop: StopSignal
        /// Where inputs go while the run takes them live (its runner does, for its agent).
        var live: LiveInbox?
        /// Whether the run stops at a pause request (its runner replays steps): the heartbeat
        /// looks for requests made on other nodes.
        var pausable = false
    }

    /// Creates an engine; it does nothing until ``run()``. Its time comes from `clock` (a test
    /// gives it one it moves by hand). With a `webhookSender`, it delivers the webhooks it holds
    /// the lease of; with `detectors`, it scans them.
    public init(
        store: any TaskStore,
        runners: RunnerRegistry,
        configuration: EngineConfiguration = EngineConfiguration(),
        clock: any EngineClock = SystemClock(),
        webhookSender: (any WebhookSender)? = nil,
        detectors: DetectorRegistry? = nil,
        logger: Logger = Logger(label: "nightshift.engine")
    ) {
        self.detectors = detectors
        self.store = store
        self.runners = runners
        self.webhookSender = webhookSender
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        doorbell = Doorbell(clock: clock)
        hookFanout = HookFanout(store: store)
        changeDigest = TaskChangeDigest(store: store)
        schedulesChanged = Doorbell(clock: clock)
        webhooksChanged = Doorbell(clock: clock)
        wakesChanged = Doorbell(clock: clock)
    }

    /// Queues a task and wakes the dispatcher.
    public func submit(_ new: NewTask) async throws -> SubmitResult {
        let tracing = configuration.tracing
        let span = tracing.tracer.startSpan("nightshift.submit", context: InstrumentationContext.current ?? .topLevel, ofKind: .producer)
        defer { span.end() }
        span.attributes["nightshift.agent"] = new.agent
        var new = new
        new.traceParent = new.traceParent ?? tracing.traceParent(of: span.context)
        let result: SubmitResult
        do {
            result = try await configuration.metrics.transaction("submit") { [new] in try await store.submit(new, now: clock.now) }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
        span.attributes["nightshift.task_id"] = result.task.id.rawValue
        if result.inserted { doorbell.ring() }
        return result
    }

    /// A handle on one workspace: every read and write through it is scoped to `id` (the API
    /// serves each request through its token's workspace).
    public func workspace(_ id: String) -> WorkspaceScope {
        WorkspaceScope(engine: self, workspace: id)
    }

    /// Applies a person's action to a task (of `workspace`, when one is given: another's is not
    /// found). Cancelling a task that runs here stops its agent at once (elsewhere, its worker
    /// learns at its next heartbeat). A task that ends this way loses its directories on this node
    /// (a running one's once its run has stopped). A `reason` for a cancel or drop becomes the
    /// task's `error`.
    @discardableResult
    public func transition(
        _ id: TaskID, _ action: LifecycleAction, workspace: String? = nil, reason: String? = nil
    ) async throws -> AgentTask {
        let task = try await store.transition(id, action, now: clock.now, workspace: workspace, reason: reason)
        taskChanges.ring(id)
        if task.state.isTerminal { removeDirectories(of: id, endedIn: task.state) }
        if task.state.isTerminal, task.parentID != nil { await wakeDue() }
        switch action {
        case .cancel:
            state.withLock { $0.active[id]?.stop }?.stop(.cancelled)
            await stopCancelledRuns()
        case .pause where task.state == .running, .resume where task.state == .running:
            // A request to a running task: its run here sees it at its next step.
            state.withLock { $0.active[id]?.stop }?.requestPause(action == .pause)
        case .resume, .retry, .wake:
            doorbell.ring()
        default:
            break
        }
        return task
    }

    /// Stops the runs here whose tasks were cancelled meanwhile (a cancel reaches a task's
    /// subtasks in its transaction): at once, rather than at the next heartbeat.
    func stopCancelledRuns() async {
        let running = state.withLock { Array($0.active.keys) }
        guard !running.isEmpty, let states = try? await store.states(of: running) else { return }
        for (id, record) in states where record.state == .cancelled {
            state.withLock { $0.active[id]?.stop }?.stop(.cancelled)
        }
    }

    /// Creates or replaces an agent in the store; the engine's cache reads it again when next needed.
    public func saveAgent(_ agent: Agent) async throws {
        try validate(agent)
        try await store.saveAgentAndRepoLane(agent)
        // Read again when next needed: the stored agent keeps what it has spent, which `agent` lacks.
        state.withLock { _ = $0.agents.removeValue(forKey: ScopedName(workspace: agent.workspaceID, name: agent.name)) }
    }

    /// Removes an agent of `workspace` (its tasks stay); answers whether it existed. The engine
    /// forgets its cached copy at once, so no new run starts on the deleted profile.
    public func deleteAgent(named name: String, workspace: String = Workspace.defaultID) async throws -> Bool {
        let existed = try await store.deleteAgent(named: name, workspace: workspace)
        state.withLock { _ = $0.agents.removeValue(forKey: ScopedName(workspace: workspace, name: name)) }
        return existed
    }

    /// The pacing of the agents of `workspace` (of every workspace with `nil`): rate tokens left,
    /// the next refill, and their quota group's park.
    public func agentPacing(workspace: String? = nil) async throws -> [AgentPacing] {
        try await store.agentPacing(workspace: workspace, now: clock.now)
    }

    /// Ends the park of the quota group of agent `name` at once; answers whether it was parked.
    /// Throws `not_found` for an agent that does not exist. Dispatchers look for work again (on
    /// other nodes by the store's wake-up).
    @discardableResult
    public func unpark(agent name: String, workspace: String = Workspace.defaultID) async throws -> Bool {
        guard let agent = try await store.agent(named: name, workspace: workspace) else {
            throw NightshiftError(.notFound, "agent '\(name)' not found", field: "name")
        }
        let ended = try await store.unpark(group: agent.effectiveQuotaGroup, workspace: workspace, now: clock.now)
        doorbell.ring()
        return ended
    }

    /// Archives a finished task, ringing the change feed for its `archived` event.
    public func archive(_ id: TaskID, workspace: String? = nil) async throws -> AgentTask {
        let task = try await store.archive(id, now: clock.now, workspace: workspace)
        taskChanges.ring(id)
        return task
    }

    /// Changes the priority of a task that has not ended, ringing the change feed for its
    /// `priority` event (and the dispatcher: the order of the queue changed).
    public func setPriority(_ id: TaskID, to priority: Int, workspace: String? = nil) async throws -> AgentTask {
        let task = try await store.setPriority(id, to: priority, now: clock.now, workspace: workspace)
        taskChanges.ring(id)
        doorbell.ring()
        return task
    }

    /// Checks an agent against its runner: a runner kind this engine has, and a runner config
    /// its runner accepts. The error names the key at fault.
    public func validate(_ agent: Agent) throws(NightshiftError) {
        try agent.validate()
        guard let runner = runners.runner(for: agent.runner) else {
            throw .invalid("runner", "one of \(runners.kinds.map(\.rawValue).sorted().joined(separator: ", ")), got '\(agent.runner)'")
        }
        try runner.validate(agent)
        try GitWorktrees.verify(agent)
    }

    /// Whether each agent's program (of `workspace`, of every workspace with `nil`) can be started
    /// on this node: its path and version. Answers the last report if it is younger than `maxAge`
    /// (asking every CLI its version takes time).
    public func availability(maxAge: Duration = .seconds(30), workspace: String? = nil) async throws -> [AgentAvailability] {
        let key = workspace ?? ""
        if let cached = state.withLock({ $0.availability[key] }), ContinuousClock.now - cached.at < maxAge {
            return cached.reports
        }
        var reports: [AgentAvailability] = []
        for agent in try await store.agents(workspace: workspace) {
            if let runner = runners.runner(for: agent.runner) {
                reports.append(await runner.availability(of: agent))
            } else {
                reports.append(AgentAvailability(
                    agent: agent.name, runner: agent.runner, available: false, problem: "no runner of kind \(agent.runner) here"))
            }
        }
        state.withLock { $0.availability[key] = (reports, .now) }
        return reports
    }

    /// The runs in progress on this node.
    public func activeRuns() -> [ActiveRun] {
        state.withLock { $0.active.values.map(\.info) }.sorted { $0.startedAt < $1.startedAt }
    }

    /// The latest quota status each agent's runs on this node reported, by agent.
    public func quotas() -> [String: AgentQuota] {
        state.withLock { $0.quotas }
    }

    /// Keeps `status` as the agent's latest quota status.
    func recordQuota(_ status: JSONValue, agent: String) {
        state.withLock { $0.quotas[agent] = AgentQuota(status: status, observedAt: clock.now) }
    }

    /// Runs until graceful shutdown (or cancellation): reclaims this node's runs from before a
    /// restart, then dispatches, heartbeats, rescues and sweeps the work directories of ended tasks
    /// (see ``removeLeftoverDirectories(now:)``). On graceful shutdown it stops claiming,
    /// lets running tasks finish within the grace period, then stops the rest and releases them.
    public func run() async throws {
        var reclaimed = 0
        while true {
            let runs = try await store.reclaimRuns(ofWorker: configuration.nodeID, now: clock.now)
            killLeftovers(of: runs)
            reclaimed += runs.count
            if runs.isEmpty { break }
        }
        if reclaimed > 0 {
            logger.info("reclaimed runs of this node's previous incarnation", metadata: ["nightshift.count": "\(reclaimed)"])
        }
        await withGracefulShutdownHandler {
            // One child task per duty, each in its own file: the heartbeater, the lease rescuer,
            // the waker, the listener and the work-directory sweeper; the dispatcher is this task,
            // and each run is a child of the same group.
            await withDiscardingTaskGroup { group in
                group.addTask { await self.heartbeatLoop() }
                group.addTask { await self.rescueLoop() }
                group.addTask { await self.wakeLoop() }
                group.addTask { await self.scheduleLoop() }
                group.addTask { await self.listenLoop() }
                group.addTask { await self.workDirectoryLoop() }
                group.addTask { await self.hookRetentionLoop() }
                group.addTask { await self.webhookLoop() }
                group.addTask { await self.liveInputLoop() }
                group.addTask { await self.detectorLoop() }
                group.addTask { await self.wakeRegisteredWorkflows() }
                await self.dispatchLoop(group: &group)
                await self.drain()
                self.state.withLock { $0.stopping = true }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            let running = self.state.withLock { state in
                state.stopping = true
                state.drainDeadline = .now + .seconds(self.configuration.shutdownGrace)
                return state.active.count
            }
            self.logger.info("shutting down: claiming no more work; running tasks get the grace period, then are released", metadata: [
                "nightshift.running": "\(running)", "nightshift.grace_s": "\(Self.format(self.configuration.shutdownGrace))",
            ])
            self.doorbell.ring()
            // Followers of event streams end theirs now rather than hold the shutdown up.
            self.taskChanges.ringAll()
        }
    }

    /// When graceful shutdown began, the time by which running tasks are released; `nil` while
    /// the engine serves normally.
    public var drainDeadline: ContinuousClock.Instant? {
        state.withLock { $0.drainDeadline }
    }

    /// Kills what is left of the agent processes of runs ended as lost (the leader's session, see
    /// ``AgentProcessRecord/killLeftovers()``): only processes on this machine can be reached;
    /// elsewhere the lease and the fencing of every write keep a dead node's late writes out.
    func killLeftovers(of runs: [RescuedRun]) {
        for run in runs {
            guard let process = run.process else { continue }
            let killed = process.killLeftovers()
            if !killed.isEmpty {
                logger.warning(
                    "killed agent processes left by a lost run",
                    metadata: ["nightshift.task_id": "\(run.taskID)", "nightshift.pids": "\(killed)"])
            }
        }
    }

    var isStopping: Bool {
        state.withLock { $0.stopping } || Task.isCancelled
    }
}
