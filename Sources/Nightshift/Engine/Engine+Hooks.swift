import Foundation

/// What a consumer's poll answers: the events after its ack, and the signals derived then.
public struct HookPoll: Sendable, Hashable {
    /// The consumer, as it was when the poll read (its ack is not moved by a poll).
    public var consumer: HookConsumer
    /// The workspace's events after the consumer's ack, in order.
    public var events: [HookEvent]
    /// The signals computed at poll time (never stored, never acked).
    public var derived: [DerivedSignal]
}

extension Engine {
    /// Prunes the hook stream at start, then every hour: events older than
    /// ``EngineConfiguration/hookRetention`` that every consumer of their workspace has acked.
    func hookRetentionLoop() async {
        repeat {
            do {
                let pruned = try await store.pruneHookEvents(before: clock.now.addingTimeInterval(-configuration.hookRetention))
                if pruned > 0 { logger.info("pruned acked hook events", metadata: ["nightshift.count": "\(pruned)"]) }
            } catch {
                logger.error("pruning hook events failed", metadata: ["nightshift.error": "\(error)"])
            }
        } while (try? await clock.sleep(for: .seconds(3600))) != nil
    }
}

extension WorkspaceScope {
    /// The events of this workspace after the ack of consumer `name` (created on first use), at
    /// most `limit`, and the derived signals. With `wait`, a poll that finds no event waits up to
    /// that long for one (a long poll); the signals are computed when it answers.
    public func pollHooks(consumer name: String, limit: Int, wait: Duration = .zero) async throws -> HookPoll {
        try HookConsumer.validate(name: name)
        let store = engine.store
        let consumer = try await store.hookConsumer(name, workspace: workspace, now: engine.clock.now)
        let deadline = ContinuousClock.now + wait
        // Held while waiting: a store that hears other nodes' commits listens meanwhile.
        let interest = wait > .zero ? store.listeningInterest() : nil
        var events: [HookEvent]
        while true {
            let generation = store.hookChanges.generation
            events = try await store.hookEvents(after: consumer.ackSeq, limit: limit, workspace: workspace)
            let left = deadline - ContinuousClock.now
            guard events.isEmpty, left > .zero, !Task.isCancelled else { break }
            // At most a second between reads: what no ring announces (another process on the
            // same SQLite file) is seen within that.
            await store.hookChanges.wait(after: generation, timeout: min(left, HookStream.defaultPoll))
        }
        withExtendedLifetime(interest) {}
        return HookPoll(consumer: consumer, events: events, derived: try await derivedSignals())
    }

    /// Moves consumer `name`'s ack to `seq` (see ``HookConsumerStore/ackHookConsumer(_:seq:workspace:now:)``).
    public func ackHooks(consumer name: String, seq: Int64) async throws -> HookConsumer {
        try HookConsumer.validate(name: name)
        guard seq >= 0 else { throw NightshiftError.invalid("seq", "expected a seq of at least 0, got \(seq)") }
        return try await engine.store.ackHookConsumer(name, seq: seq, workspace: workspace, now: engine.clock.now)
    }

    /// This workspace's consumers by name, each with its lag.
    public func hookConsumers() async throws -> [HookConsumer] {
        try await engine.store.hookConsumers(workspace: workspace)
    }

    /// Forgets consumer `name`; answers whether it existed.
    public func deleteHookConsumer(_ name: String) async throws -> Bool {
        try HookConsumer.validate(name: name)
        return try await engine.store.deleteHookConsumer(name, workspace: workspace)
    }

    /// Appends an application's event to the hook stream, on a task of this workspace.
    public func emitEvent(_ event: NewHookEvent) async throws {
        try event.validate()
        try await engine.store.appendHookEvents([event], workspace: workspace, now: engine.clock.now)
    }

    /// The signals of this workspace now: tasks waiting for a person longer than
    /// ``EngineConfiguration/blockedStaleAfter``, tasks available longer than
    /// ``EngineConfiguration/stuckQueuedAfter`` that no node claimed, agents that have spent 80 %
    /// of their budget, and parked quota groups' agents. At most 100 of each task signal.
    public func derivedSignals() async throws -> [DerivedSignal] {
        let now = engine.clock.now
        var signals: [DerivedSignal] = []
        for task in try await blockedStale() {
            var data: [String: JSONValue] = [
                "waiting_since": JSONTime.json(task.updatedAt), "waited_s": .double(now.timeIntervalSince(task.updatedAt).rounded()),
            ]
            if let waitingFor = task.waitingFor { data["waiting_for"] = .string(waitingFor.kind.rawValue) }
            signals.append(DerivedSignal(type: DerivedSignal.blockedStale, taskID: task.id, agent: task.agent, time: now, data: .object(data)))
        }
        let cutoff = now.addingTimeInterval(-engine.configuration.stuckQueuedAfter)
        for task in try await engine.store.stuckQueued(availableBefore: cutoff, workspace: workspace, limit: 100) {
            signals.append(DerivedSignal(
                type: DerivedSignal.stuckQueued, taskID: task.id, agent: task.agent, time: now,
                data: ["available_since": JSONTime.json(task.availableAt), "queued_s": .double(now.timeIntervalSince(task.availableAt).rounded())]))
        }
        for agent in try await agents() {
            guard let budget = agent.budgetUSD, budget > 0, agent.spentUSD >= budget * DerivedSignal.budgetShare else { continue }
            signals.append(DerivedSignal(
                type: DerivedSignal.budgetNearlySpent, agent: agent.name, time: now,
                data: ["spent_usd": .double(agent.spentUSD), "budget_usd": .double(budget), "share": .double(agent.spentUSD / budget)]))
        }
        for pacing in try await agentPacing() {
            guard let until = pacing.parkedUntil else { continue }
            signals.append(DerivedSignal(
                type: DerivedSignal.parked, agent: pacing.agent.name, time: now,
                data: ["quota_group": .string(pacing.quotaGroup), "until": JSONTime.json(until), "reason": pacing.parkReason.map(JSONValue.string) ?? .null]))
        }
        return signals
    }
}

extension WorkspaceScope {
    /// The tasks of this workspace as they end after this call (done, error, cancelled, dropped),
    /// each once, in the order they ended, on any node: the library's on-complete callback as an
    /// `AsyncSequence`. It ends when the iterating task is cancelled.
    ///
    /// ```swift
    /// for try await task in try await engine.workspace("default").completions() {
    ///     print(task.id, task.state, task.result ?? task.error ?? "")
    /// }
    /// ```
    public func completions() async throws -> AsyncThrowingStream<AgentTask, any Error> {
        let store = engine.store
        let workspace = workspace
        let ends = Set(TaskState.allCases.filter(\.isTerminal).map(HookEvent.type(for:)))
        let start = try await store.lastHookSeq()
        return AsyncThrowingStream { continuation in
            let follower = Task {
                do {
                    let feed = store.hookStream(after: start)
                        .matching { $0.workspaceID == workspace && ends.contains($0.type) }
                    for try await event in feed {
                        if let task = try await store.task(event.taskID, workspace: workspace) { continuation.yield(task) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in follower.cancel() }
        }
    }
}
