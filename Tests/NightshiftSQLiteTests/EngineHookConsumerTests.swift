import Foundation
import Logging
import Nightshift
import NightshiftRunners
import NightshiftTestSupport
import Synchronization
import Testing

/// Hook consumers through the engine, on every store: a run's `emit` lines, long polls woken by a
/// commit, and the signals derived at poll time.
@Suite("Engine: hook consumers", .timeLimit(.minutes(1)))
struct EngineHookConsumerTests {
    static func engine(_ store: any TaskStore, configure: (inout EngineConfiguration) -> Void = { _ in }) -> Engine {
        var configuration = EngineConfiguration(
            pollInterval: 0.05, workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-hooks-work-\(UUID().uuidString)"))
        configure(&configuration)
        return Engine(
            store: store, runners: RunnerRegistry([CommandRunner(killGrace: .milliseconds(300))]),
            configuration: configuration, logger: Logger(label: "test"))
    }

    @Test("a command agent's emit lines join the hook stream between its task's moves; a bad one is a warning", arguments: StoreKind.allCases)
    func emitLines(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(
            name: "reviewer", runner: .command,
            config: ["command": ["/bin/sh", "-c", #"""
                echo '{"type":"emit","event":"feature_review_ready","data":{"pr":42}}'
                echo '{"type":"emit","event":"task.done"}'
                echo '{"type":"result","text":"reviewed"}'
                """#]]))
        try await withEngine(Self.engine(store)) { engine in
            let id = try await engine.submit(NewTask(agent: "reviewer", prompt: "review")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
            let poll = try await engine.workspace(Workspace.defaultID).pollHooks(consumer: "ci", limit: 100)
            #expect(poll.events.map(\.type) == ["task.queued", "task.started", "feature_review_ready", "task.done"])
            #expect(poll.events[2].data == ["pr": 42] && poll.events[2].taskID == id)
            let warnings = try await store.events(task: id, after: 0, limit: 100).filter { $0.data["level"]?.stringValue == "warning" }
            #expect(warnings.count == 1)
            #expect(warnings.first?.data["message"]?.stringValue?.contains("emit line: type:") == true, "\(warnings.map(\.data))")
        }
    }

    @Test("a long poll with nothing to read answers as soon as an event is committed, with it", arguments: StoreKind.allCases)
    func longPoll(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "echo", runner: .command, config: ["command": ["/bin/true"]]))
        try await withEngine(Self.engine(store)) { engine in
            let scope = engine.workspace(Workspace.defaultID)
            let first = try await scope.pollHooks(consumer: "watcher", limit: 10)
            #expect(first.events.isEmpty && first.consumer.ackSeq == 0)
            let started = ContinuousClock.now
            async let waited = scope.pollHooks(consumer: "watcher", limit: 10, wait: .seconds(30))
            // The poll is waiting (it cannot be told apart from a slow one, so the check is on what
            // it answers and that it did not wait out its 30 s).
            let task = try await scope.submit(NewTask(agent: "echo", prompt: "x")).task
            let answer = try await waited
            #expect(answer.events.first?.taskID == task.id)
            #expect(ContinuousClock.now - started < .seconds(25), "woken by the commit, not by its deadline")
            // With nothing new and no wait, an empty answer at once.
            _ = try await scope.ackHooks(consumer: "watcher", seq: try await store.lastHookSeq())
            #expect(try await eventually { try await store.state(of: task.id) == .done })
            _ = try await scope.ackHooks(consumer: "watcher", seq: try await store.lastHookSeq())
            #expect(try await scope.pollHooks(consumer: "watcher", limit: 10).events.isEmpty)
        }
    }

    @Test("derived signals: blocked_stale, stuck_queued, budget_nearly_spent and parked, computed at poll time, never in the stream", arguments: StoreKind.allCases)
    func derived(kind: StoreKind) async throws {
        let store = try await kind.make().with(
            Agent(name: "asker", runner: .command, config: ["command": ["/bin/sh", "-c", #"echo '{"type":"wait_for_input","question":"which?"}'"#]]),
            Agent(name: "spender", runner: .command, config: ["command": ["/bin/true"]], budgetUSD: 10),
            Agent(name: "cheap", runner: .command, config: ["command": ["/bin/true"]], budgetUSD: 10),
            Agent(name: "limited", runner: .command, config: ["command": ["/bin/true"]]))
        let clock = ManualClock()
        // Runs that cost $8.50 of spender's $10 and $7.99 of cheap's.
        for (agent, cost) in [("spender", 8.5), ("cheap", 7.99)] {
            _ = try await store.submit(NewTask(agent: agent, prompt: "spend"), now: clock.now)
            let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: clock.now).first)
            _ = try await store.settle(run.lease, outcome: .succeeded("spent", usage: RunUsage(costUSD: cost)), now: clock.now)
        }
        // The quota group of `limited` is parked for a day (as a settle of a run that met a usage
        // limit parks it); its other task is available but no claim takes it meanwhile.
        _ = try await store.submit(NewTask(agent: "limited", prompt: "first"), now: clock.now)
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: clock.now).first)
        _ = try await store.settle(
            run.lease, outcome: .parked("limit reached", resetsAt: clock.now.addingTimeInterval(86_400), park: ParkRequest(group: "limited", policy: ParkPolicy())),
            now: clock.now)
        let held = try await store.submit(NewTask(agent: "limited", prompt: "second"), now: clock.now).task.id
        let engine = Engine(
            store: store, runners: RunnerRegistry([CommandRunner(killGrace: .milliseconds(300))]),
            configuration: EngineConfiguration(
                leaseDuration: 1e7, heartbeatInterval: 1e6, rescueInterval: 1e6, pollInterval: 1e6,
                workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-hooks-\(UUID().uuidString)")),
            clock: clock, logger: Logger(label: "test"))
        try await withEngine(engine) { engine in
            let scope = engine.workspace(Workspace.defaultID)
            let asking = try await scope.submit(NewTask(agent: "asker", prompt: "ask")).task.id
            #expect(try await eventually { try await store.state(of: asking) == .waiting })
            let fresh = try await scope.derivedSignals()
            #expect(Set(fresh.map(\.type)) == [DerivedSignal.budgetNearlySpent, DerivedSignal.parked], "\(fresh)")
            #expect(fresh.first { $0.type == DerivedSignal.budgetNearlySpent }?.agent == "spender")
            #expect(fresh.first { $0.type == DerivedSignal.parked }?.agent == "limited")
            // Two hours on: the question has waited past blocked_stale_after (1 h), the held task
            // past stuck_queued_after (10 min).
            clock.advance(by: 7_200)
            let before = try await store.lastHookSeq()
            let poll = try await scope.pollHooks(consumer: "ops", limit: 100)
            #expect(poll.derived.map(\.type).sorted() == [
                DerivedSignal.blockedStale, DerivedSignal.budgetNearlySpent, DerivedSignal.parked, DerivedSignal.stuckQueued,
            ])
            let stale = try #require(poll.derived.first { $0.type == DerivedSignal.blockedStale })
            #expect(stale.taskID == asking && stale.agent == "asker" && stale.data["waiting_for"] == "input")
            #expect(poll.derived.first { $0.type == DerivedSignal.stuckQueued }?.taskID == held)
            #expect(try await store.lastHookSeq() == before, "derived signals are not written to the stream")
        }
    }
}

/// The library's completions, on every store.
@Suite("Engine: completions", .timeLimit(.minutes(1)))
struct EngineCompletionTests {
    @Test("completions yields each of the workspace's tasks once as it ends, in order, and not another workspace's", arguments: StoreKind.allCases)
    func completions(kind: StoreKind) async throws {
        let store = try await kind.make().with(
            Agent(name: "ok", runner: .command, config: ["command": ["/bin/true"]]),
            Agent(name: "bad", runner: .command, config: ["command": ["/bin/false"]], retry: RetryPolicy(maxAttempts: 1)))
        try await store.saveAgent(Agent(workspaceID: "w2", name: "ok", runner: .command, config: ["command": ["/bin/true"]]))
        try await withEngine(EngineHookConsumerTests.engine(store)) { engine in
            let scope = engine.workspace(Workspace.defaultID)
            let ended = try await scope.completions()
            var submitted: [TaskID] = []
            for agent in ["ok", "bad", "ok"] { submitted.append(try await scope.submit(NewTask(agent: agent, prompt: agent)).task.id) }
            _ = try await engine.workspace("w2").submit(NewTask(agent: "ok", prompt: "theirs"))
            var seen: [AgentTask] = []
            for try await task in ended {
                seen.append(task)
                if seen.count == 3 { break }
            }
            #expect(Set(seen.map(\.id)) == Set(submitted))
            #expect(seen.first { $0.agent == "bad" }?.state == .error)
            #expect(seen.filter { $0.agent == "ok" }.allSatisfy { $0.state == .done })
            #expect(seen.allSatisfy { $0.workspaceID == Workspace.defaultID })
        }
    }
}

/// Where the engine runs webhook delivery, on every store.
@Suite("Engine: webhook executor", .timeLimit(.minutes(1)))
struct EngineWebhookExecutorTests {
    /// A sender whose executor runs jobs on a queue of its own, and which notes whether each
    /// send ran there.
    final class QueueSender: WebhookSender {
        static let key = DispatchSpecificKey<Bool>()
        let queue = DispatchQueue(label: "webhook-test-executor")
        let sends = Mutex<[Bool]>([])
        let executor: (any TaskExecutor)?

        init() {
            queue.setSpecific(key: Self.key, value: true)
            executor = HandOffExecutor { [queue] job in queue.async { job() } }
        }

        func send(_ request: WebhookRequest) async -> WebhookResponse {
            let onQueue = DispatchQueue.getSpecific(key: Self.key) == true
            sends.withLock { $0.append(onQueue) }
            return .status(200, retryAfter: nil)
        }
    }

    @Test("the engine runs its webhook workers on the sender's executor", arguments: StoreKind.allCases)
    func workersRunOnTheSendersExecutor(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "ok", runner: .command, config: ["command": ["/bin/true"]]))
        _ = try await store.createWebhook(NewWebhook(name: "all", url: "http://127.0.0.1:9/all", secret: "s"), source: "test", now: Date())
        let sender = QueueSender()
        let engine = Engine(
            store: store, runners: RunnerRegistry([CommandRunner(killGrace: .milliseconds(300))]),
            configuration: EngineConfiguration(
                pollInterval: 0.05, workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-hooks-\(UUID().uuidString)")),
            webhookSender: sender, logger: Logger(label: "test"))
        try await withEngine(engine) { engine in
            _ = try await engine.submit(NewTask(agent: "ok", prompt: "go"))
            // queued, started, done
            #expect(try await eventually { sender.sends.withLock { $0.count } >= 3 })
            #expect(sender.sends.withLock { $0 }.allSatisfy { $0 }, "every send ran on the sender's queue")
        }
    }
}
