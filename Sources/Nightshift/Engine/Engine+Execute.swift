import Foundation
import Tracing
import Logging

extension Engine {
    private enum Ending: Sendable {
        /// The runner returned; `started` when an agent process ran (in-process runners keep no
        /// checkpoints), rather than the run failing before it.
        case finished(RunOutcome, started: Bool)
        case threw(any Error)
        case stopped(StopReason)
    }

    /// Runs one claimed task to its end and settles it.
    func execute(_ claimed: ClaimedRun, stop: StopSignal) async {
        let task = claimed.task
        var logger = self.logger
        logger[metadataKey: "nightshift.task_id"] = "\(task.id)"
        logger[metadataKey: "nightshift.run_id"] = "\(claimed.run.id)"
        let errorLogger = logger
        let events = RunEventBuffer(lease: claimed.lease) { [store, taskChanges] batch in
            do {
                let current = try await store.appendRunWrite(batch)
                if current, !batch.events.isEmpty { taskChanges.ring(task.id) }
                return current
            } catch {
                errorLogger.error("could not write run events", metadata: ["nightshift.error": "\(error)"])
                return true
            }
        } leaseLost: {
            // Someone else owns the task now: this run writes nothing more, and stops.
            errorLogger.warning("lease lost: the run's writes are refused; stopping it")
            stop.stop(.leaseLost)
        }
        let observed = RunObservations()
        // The run's span, a child of the task's submit span (wherever and whenever that was).
        let tracing = configuration.tracing
        let runSpan = tracing.span("nightshift.run", task: task, parent: tracing.context(traceParent: task.traceParent), kind: .consumer)
        runSpan.attributes["nightshift.run_id"] = claimed.run.id
        runSpan.attributes["nightshift.attempt"] = claimed.run.attempt
        let toolSpans = ToolCallSpans(tracing: tracing, task: task, parent: runSpan.context)
        defer { runSpan.end() }
        let ending = await supervise(
            claimed, stop: stop, events: events, observed: observed, trace: (runSpan.context, toolSpans), logger: logger)
        toolSpans.endAll()
        await events.flush()
        state.withLock { _ = $0.active.removeValue(forKey: task.id) }
        doorbell.ring()

        var outcome: RunOutcome
        switch ending {
        case .finished(let finished, _): outcome = finished
        case .threw(let error) where Self.isOutOfDescriptors(error):
            // The node could not give the agent its pipes: not the agent's failure.
            outcome = .interrupted("interrupted", reason: "\(error)")
        case .threw(let error): outcome = .failed("\(error)", retryable: true)
        case .stopped(.timeout(let seconds)):
            outcome = RunOutcome(resolution: .failed(retryable: true), label: "timed_out", error: "timed out after \(Self.format(seconds))")
        case .stopped(.stalled(let seconds)):
            outcome = Self.stalledOutcome(after: seconds)
        case .stopped(.shutdown):
            outcome = .interrupted("released", reason: nil)
        case .stopped(.cancelled):
            // Cancelled here by a person: the task has ended.
            if observed.usesDirectories { removeDirectories(of: task.id, endedIn: .cancelled) }
            return
        case .stopped(.leaseLost):
            // Whatever became of the task, the sweep removes its directories once it has ended.
            return
        }
        outcome.usage.durationSeconds = max(clock.now.timeIntervalSince(claimed.run.startedAt), 0)
        if outcome.label == RunOutcome.usageLimitLabel { outcome = await parking(outcome, task: task, logger: logger) }
        var checkpoints = CheckpointCollection()
        if case .finished(_, let started) = ending, started {
            checkpoints = await collectCheckpoints(claimed, agent: task.agent, outcome: outcome, observed: observed, events: events, logger: logger)
        }
        runSpan.attributes["nightshift.outcome"] = outcome.label
        if case .failed = outcome.resolution { runSpan.setStatus(SpanStatus(code: .error, message: outcome.error)) }
        let settleSpan = tracing.span("nightshift.settle", task: task, parent: runSpan.context)
        defer { settleSpan.end() }
        do {
            let result = try await settleRetrying(claimed.lease, outcome: outcome, checkpoints: checkpoints, logger: logger)
            if case .settled = result { configuration.metrics.runEnded(agent: task.agent, outcome: outcome.label, usage: outcome.usage) }
            // A task queued again (retry, release) or parked with a wake time changes when the
            // dispatcher must next look; it may have looked before this settle committed.
            if case .settled(let state) = result, state == .queued || state == .waiting { doorbell.ring() }
            // A wait for a time: the waker looks then, not at its next round.
            if case .settled(.waiting) = result, let wakeAt = outcome.wakeAt { wake(at: wakeAt) }
            // A run of a lane held its place until this settle committed: the dispatcher, rung as the
            // run ended, may have found the lane still full; another task of it may start now.
            if case .settled = result, task.lane != nil { doorbell.ring() }
            // A subtask that ended may be the last its parent waits for.
            if case .settled(let state) = result, state.isTerminal, task.parentID != nil { await wakeDue() }
            // A task that waits for subtasks which have all ended already wakes at once.
            if case .settled(.waiting) = result, outcome.waitingFor?.kind == .children { await wakeDue() }
            // In-process runners keep no directories: nothing to clean up.
            if case .settled(let state) = result, state.isTerminal, observed.usesDirectories {
                removeDirectories(of: task.id, endedIn: state)
            }
            if case .stale(let reason) = result {
                logger.warning("settle refused: lease is stale", metadata: ["nightshift.reason": "\(reason)"])
            } else {
                logger.debug("settled", metadata: ["nightshift.outcome": "\(outcome.label)"])
            }
        } catch {
            // The lease stays in the store; it expires and the rescuer retries the task.
            logger.error("settle failed", metadata: ["nightshift.error": "\(error)"])
        }
    }

    /// A usage-limit outcome as the agent wants it: parked (its quota group waits for the reset,
    /// no failure charged) unless it turned parking off, when it stays a retryable failure that is
    /// not retried before the reset.
    private func parking(_ outcome: RunOutcome, task: AgentTask, logger: Logger) async -> RunOutcome {
        guard let agent = try? await agent(ScopedName(workspace: task.workspaceID, name: task.agent)), agent.parkOnLimit else {
            return outcome
        }
        var parked = outcome
        parked.resolution = .parked
        parked.label = RunOutcome.parkedLabel
        parked.park = ParkRequest(group: agent.effectiveQuotaGroup, policy: configuration.parking)
        logger.info(
            "usage limit: parking the quota group",
            metadata: ["nightshift.quota_group": "\(agent.effectiveQuotaGroup)", "nightshift.resets_at": "\(outcome.resetsAt.map { "\($0)" } ?? "unknown")"])
        return parked
    }

    /// Settles, trying again with backoff while the store cannot be reached (a database that went
    /// away), for up to a lease duration: after that the lease has expired and the rescuer owns
    /// the task.
    private func settleRetrying(
        _ lease: Lease, outcome: RunOutcome, checkpoints: CheckpointCollection, logger: Logger
    ) async throws -> SettleResult {
        let deadline = clock.now.addingTimeInterval(configuration.leaseDuration)
        var delay = 0.05
        while true {
            do {
                return try await configuration.metrics.transaction("settle") {
                    try await store.settle(lease, outcome: outcome, checkpoints: checkpoints, now: clock.now)
                }
            } catch let error as NightshiftError where error.code == .storeUnavailable && clock.now.addingTimeInterval(delay) < deadline {
                logger.warning("settle failed; trying again", metadata: ["nightshift.error": "\(error)", "nightshift.retry_in": "\(delay)"])
                // Cancelled (the engine stops): give up; the lease expires and the rescuer retries the task.
                try await clock.sleep(for: .seconds(delay))
                delay = min(delay * 2, 2)
            }
        }
    }

    private func supervise(
        _ claimed: ClaimedRun, stop: StopSignal, events: RunEventBuffer, observed: RunObservations,
        trace: (context: InstrumentationContext, tools: ToolCallSpans), logger: Logger
    ) async -> Ending {
        let task = claimed.task
        let found: Agent?
        do {
            found = try await agent(ScopedName(workspace: task.workspaceID, name: task.agent))
        } catch {
            // The store went away between the claim and now: not the task's fault.
            return .finished(.interrupted("interrupted", reason: "could not read agent '\(task.agent)': \(error)"), started: false)
        }
        guard let agent = found else {
            return .finished(.failed("agent '\(task.agent)' is not defined", retryable: false), started: false)
        }
        guard let runner = runners.runner(for: agent.runner) else {
            return .finished(.failed("no runner of kind '\(agent.runner)' for agent '\(agent.name)'", retryable: false), started: false)
        }
        observed.usesDirectories = runner.needsWorkingDirectory
        if runner.replaysSteps { state.withLock { $0.active[task.id]?.pausable = true } }
        let workdir = workDirectory(task.id)
        if runner.needsWorkingDirectory {
            do {
                try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true, attributes: Self.privateDirectory)
            } catch {
                return .finished(.interrupted("interrupted", reason: "cannot create working directory \(workdir.path): \(error)"), started: false)
            }
        }
        // An agent with a repository works in the task's own worktree, made before its first run.
        var worktree: GitWorktrees.Prepared?
        if let git = agent.git, runner.needsWorkingDirectory {
            do {
                worktree = try await GitWorktrees.prepare(git, task: task.id, at: worktreeDirectory(task.id).path)
                // The next task of the repository takes a spare instead of a checkout.
                let root = worktreeRoot.path
                Task { await GitWorktrees.fillSpare(git, in: root) }
            } catch {
                return .finished(.failed("worktree of \(git.repo): \(error)", retryable: true), started: false)
            }
        }
        var request: RunRequest
        switch await self.request(
            for: claimed, agent: agent, runner: runner, workdir: worktree.map { URL(fileURLWithPath: $0.path) } ?? workdir, logger: logger)
        {
        case .success(let value): request = value
        case .failure(let failure): return .finished(failure.outcome, started: false)
        }
        request.traceParent = configuration.tracing.traceParent(of: trace.context)
        if let worktree {
            request.writablePaths.append(URL(fileURLWithPath: worktree.commonDirectory))
            events.emit("worktree", [
                "path": .string(worktree.path), "branch": .string(GitWorkspace.branch(for: task.id)), "base": .string(worktree.base),
                "created": .bool(worktree.created), "from_spare": .bool(worktree.fromSpare),
            ])
        }
        // A runner that takes live input gets the inputs sent while it runs; the stream ends with
        // the run, or when the runner says it takes no more (its agent stopped reading).
        let live: (inbox: LiveInbox, inputs: AsyncStream<TaskInput>)? = runner.takesLiveInput(agent) ? LiveInbox.make() : nil
        if let live {
            state.withLock { $0.active[task.id]?.live = live.inbox }
            liveRunsChanged.ring()
        }
        defer {
            if let live {
                endLiveInputs(task.id, live.inbox)
                live.inbox.finish()
            }
        }
        // Silence counts from the runner's launch; every event the runner reports resets it.
        let activity = agent.stallTimeout.map { _ in RunActivity(since: clock.now) }
        let declarations = ArtifactDeclarations()
        let context = RunContext(
            logger: logger,
            emit: { type, data in
                activity?.reported(at: self.clock.now)
                events.emit(type, data)
                trace.tools.observe(type, data)
                // Written with the run's next batch, fenced by its lease, so that a retry can
                // resume the session even when this worker dies before settling.
                if let session = observed.observe(type, data) { events.record(sessionID: session) }
                // A subtask the agent asked for is submitted with the same fenced write.
                if type == "spawn", case .success(let child) = NewTask.subtask(from: data) { events.record(spawn: child) }
                // An application event the agent emits joins the hook stream with the same fenced write.
                if type == "emit", let event = NewHookEvent(emitted: data, task: task.id) { events.record(hookEvent: event) }
                // A workflow's declared steps are kept on the task with the same fenced write.
                if type == WorkflowContext.declaredEvent, runner.replaysSteps { events.record(declaredSteps: WorkflowContext.declared(in: data)) }
                // A file the agent declares as an output is copied once the run has ended.
                if type == RunArtifacts.declaredEvent { declarations.note(data) }
            },
            process: { pid in
                self.state.withLock { $0.active[task.id]?.info.pid = pid }
                // Recorded with the run so that, should this node die, whoever takes the run over
                // on this machine kills what is left of the agent before it starts again.
                if let pid, let record = AgentProcessRecord.of(pid: pid) { events.record(process: record) }
            },
            quota: { status in self.recordQuota(status, agent: agent.name) },
            liveInputs: live?.inputs,
            endLiveInputs: { if let live { self.endLiveInputs(task.id, live.inbox) } },
            recordStep: { step in
                activity?.reported(at: self.clock.now)
                return await events.commit(step: step)
            },
            spawn: { child in events.record(spawn: child) },
            pauseRequested: { stop.pauseRequested })
        // The runner runs in a task of its own so that a stop (cancel, lease lost, timeout,
        // shutdown) can cancel it; cancelling it kills the agent, and the run waits for that.
        let running = Task { [request] () -> Ending? in
            do {
                let outcome = try await runner.run(request, context: context)
                // What the run left in its worktree: commits, stat and patch against the base.
                if let worktree {
                    do {
                        events.emit("diff", try await GitWorktrees.diff(worktree: worktree.path, base: worktree.base))
                    } catch {
                        events.emit("log", ["level": "warning", "message": .string("could not diff the worktree: \(error)")])
                    }
                }
                let declared = declarations.all
                if runner.needsWorkingDirectory, !declared.isEmpty || !agent.artifacts.isEmpty {
                    let kept = RunArtifacts.collect(
                        workspace: request.workingDirectory, globs: agent.artifacts, declared: declared, into: self.artifactDirectory(task.id))
                    for event in kept { events.emit(event.type, event.data) }
                }
                return .finished(outcome, started: runner.needsWorkingDirectory)
            } catch is CancellationError {
                return nil
            } catch {
                return .threw(error)
            }
        }
        stop.onStop { running.cancel() }
        // The timeout is a child of this run: it stops the run when it fires, and is cancelled
        // when the runner returns first. It counts on the engine's clock from the run's start.
        // The stall watchdog, another child, stops the run once it has reported nothing for the
        // agent's stall timeout.
        enum Waited: Sendable {
            case ran(Ending?)
            case timerEnded
        }
        let timeout = task.timeout ?? agent.timeout
        let ending = await withTaskGroup(of: Waited.self) { group -> Ending? in
            if let timeout {
                group.addTask {
                    let deadline = claimed.run.startedAt.addingTimeInterval(timeout)
                    if (try? await self.clock.sleep(until: deadline)) != nil { stop.stop(.timeout(timeout)) }
                    return .timerEnded
                }
            }
            if let stall = agent.stallTimeout, let activity {
                group.addTask {
                    await self.watchForStall(activity, seconds: stall, stop: stop)
                    return .timerEnded
                }
            }
            group.addTask {
                .ran(await withTaskCancellationHandler { await running.value } onCancel: { running.cancel() })
            }
            while let waited = await group.next() {
                if case .ran(let ending) = waited {
                    group.cancelAll()
                    return ending
                }
            }
            return nil
        }
        // A stop that came before the runner returned decides; after a stop, the runner's own
        // outcome no longer counts. A runner cancelled by the engine's own cancellation is released.
        if let reason = stop.finish() { return .stopped(reason) }
        return ending ?? .stopped(.shutdown)
    }

    /// The agent `name` (of a task's workspace), cached for five seconds; `nil` if it does not
    /// exist. When the store cannot be read, an older cached copy serves, else the store's error is thrown.
    func agent(_ name: ScopedName) async throws -> Agent? {
        let cached = state.withLock { $0.agents[name] }
        if let cached, ContinuousClock.now - cached.fetched < .seconds(5) { return cached.agent }
        do {
            // Bounded: a database that went away can leave a read waiting on a dead connection.
            guard let agent = try await answer(within: .seconds(10), { [store] in try await store.agent(named: name.name, workspace: name.workspace) }) else { return nil }
            state.withLock { $0.agents[name] = (agent, .now) }
            return agent
        } catch {
            if let cached { return cached.agent }
            throw error
        }
    }

    /// Whether a runner's error is the process running out of descriptors (EMFILE, ENFILE).
    static func isOutOfDescriptors(_ error: any Error) -> Bool {
        switch error {
        case let failure as AgentStartFailure: failure.isOutOfDescriptors
        case let posix as POSIXError: AgentStartFailure.isOutOfDescriptors(errno: posix.code.rawValue)
        default: false
        }
    }

    static func format(_ seconds: Double) -> String {
        seconds.rounded() == seconds ? "\(Int(seconds))s" : "\(seconds)s"
    }
}
