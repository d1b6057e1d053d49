import Foundation
import Nightshift
import NightshiftSQLite
import NightshiftTestSupport
import Synchronization
import Testing

@Suite("Engine")
struct EngineTests {
    static func engine(
        _ store: SQLiteTaskStore, slots: Int = 4, node: String = "node-test",
        lease: Double = 30, heartbeat: Double = 10, grace: Double = 5, poll: Double = 60, clock: any EngineClock = SystemClock(),
        handlers: [String: BuiltinRunner.Handler]
    ) -> Engine {
        Engine(
            store: store, runners: RunnerRegistry([BuiltinRunner(handlers: handlers)]),
            configuration: EngineConfiguration(
                nodeID: node, slots: slots, leaseDuration: lease, heartbeatInterval: heartbeat, rescueInterval: 0.1,
                pollInterval: poll, shutdownGrace: grace),
            clock: clock)
    }

    /// Moves `clock` on by `seconds`, then a second at a time until `condition` holds: a loop
    /// that was busy when the clock moved waits for a deadline after it, which the later steps pass.
    static func advance(_ clock: ManualClock, by seconds: Double, until condition: () async throws -> Bool) async rethrows -> Bool {
        clock.advance(by: seconds)
        return try await eventually {
            if try await condition() { return true }
            clock.advance(by: 1)
            return false
        }
    }

    @Test("a submit wakes the dispatcher: no polling needed")
    func wakeOnSubmit() async throws {
        let store = try await makeStore(Agent(name: "echo", runner: .builtin))
        // The safety-net poll is an hour: only the submit's wake-up can start the task in time.
        let engine = Self.engine(store, poll: 3600, handlers: ["echo": { request, context in
            context.emit("log", ["message": "working"])
            return .succeeded("echo: \(request.task.prompt)")
        }])
        try await withEngine(engine) { engine in
            try await Task.sleep(for: .milliseconds(100))
            let id = try await engine.submit(NewTask(agent: "echo", prompt: "hello")).task.id
            #expect(try await eventually(timeout: .seconds(20)) { try await store.state(of: id) == .done })
            let task = try #require(try await store.task(id))
            #expect(task.result == "echo: hello")
            let types = try await store.events(task: id, after: 0, limit: 100).map(\.type)
            #expect(types == ["state", "state", "log", "state"])
        }
    }

    @Test("a run's events reach the store while it runs, in order, before the settle")
    func eventsStreamInOrder() async throws {
        let store = try await makeStore(Agent(name: "chatty", runner: .builtin))
        let seenWhileRunning = Mutex(false)
        let engine = Self.engine(store, handlers: ["chatty": { request, context in
            for index in 0..<50 { context.emit("log", ["n": .int(Int64(index))]) }
            // The first half must be readable before the run ends.
            let streamed = try await eventually(timeout: .seconds(20)) {
                try await store.events(task: request.task.id, after: 0, limit: 200).contains { $0.type == "log" }
            }
            seenWhileRunning.withLock { $0 = streamed }
            for index in 50..<100 { context.emit("log", ["n": .int(Int64(index))]) }
            return .succeeded(nil)
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "chatty", prompt: "talk")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
            let events = try await store.events(task: id, after: 0, limit: 200)
            let logs = events.filter { $0.type == "log" }.compactMap { event -> Int64? in
                if case .int(let n)? = event.data["n"] { n } else { nil }
            }
            #expect(logs == Array(0..<100))
            #expect(events.last?.type == "state")
            #expect(events.map(\.seq) == Array(1...Int64(events.count)))
        }
        #expect(seenWhileRunning.withLock { $0 })
    }

    @Test("no more than N slots run at once, and every task finishes")
    func slots() async throws {
        let store = try await makeStore(Agent(name: "work", runner: .builtin))
        let counter = Counter()
        let engine = Self.engine(store, slots: 3, handlers: ["work": { _, _ in
            counter.enter()
            defer { counter.leave() }
            try await Task.sleep(for: .milliseconds(20))
            return .succeeded(nil)
        }])
        try await withEngine(engine) { engine in
            for index in 0..<30 { _ = try await engine.submit(NewTask(agent: "work", prompt: "\(index)")) }
            #expect(try await eventually { try await store.countsByState()[.done] == 30 })
        }
        #expect(counter.peak == 3)
        #expect(counter.total == 30)
    }

    @Test("a failure is retried after its backoff on the engine's clock; default max_attempts 2 then error")
    func retries() async throws {
        // An hour of backoff: only the engine's clock, moved by the test, can bring the retries.
        let store = try await makeStore(
            Agent(name: "flaky", runner: .builtin, retry: RetryPolicy(maxAttempts: 2, initialBackoff: 3600, maxBackoff: 3600)),
            Agent(name: "broken", runner: .builtin, retry: RetryPolicy(initialBackoff: 3600, maxBackoff: 3600)))
        let clock = ManualClock()
        let engine = Self.engine(store, lease: 1e7, heartbeat: 1e6, clock: clock, handlers: [
            "flaky": { request, _ in request.run.attempt == 1 ? .failed("first try fails") : .succeeded("second try") },
            "broken": { _, _ in throw NightshiftError(.invalidInput, "always broken") },
        ])
        try await withEngine(engine) { engine in
            let failedAt = clock.now
            let flaky = try await engine.submit(NewTask(agent: "flaky", prompt: "x")).task.id
            let broken = try await engine.submit(NewTask(agent: "broken", prompt: "x")).task.id
            #expect(try await eventually { try await store.runs(task: flaky).first?.outcome == "failed" })
            #expect(try await eventually { try await store.runs(task: broken).first?.outcome == "failed" })
            for id in [flaky, broken] {
                let task = try #require(try await store.task(id))
                #expect(task.state == .queued)
                // Jittered between half the backoff and all of it, from the failure on the engine's clock.
                #expect((1800...3600).contains(task.availableAt.timeIntervalSince(failedAt)), "\(task.availableAt)")
            }
            #expect(try await Self.advance(clock, by: 3600) {
                let (first, second) = (try await store.state(of: flaky), try await store.state(of: broken))
                return first == .done && second == .error
            })
            #expect(try await store.task(flaky)?.result == "second try")
            #expect(try await store.runs(task: flaky).map(\.outcome) == ["failed", "succeeded"])
            #expect(try await store.runs(task: broken).count == 2, "default max_attempts is 2")
            #expect(try await store.task(broken)?.error?.contains("always broken") == true)
        }
    }

    @Test("a run over its timeout on the engine's clock is stopped and fails as timed out")
    func timeout() async throws {
        let store = try await makeStore(Agent(name: "slow", runner: .builtin, timeout: 3600, retry: RetryPolicy(maxAttempts: 1)))
        let clock = ManualClock()
        let started = Counter()
        let engine = Self.engine(store, lease: 1e7, heartbeat: 1e6, clock: clock, handlers: ["slow": { _, _ in
            started.enter()
            try await Task.sleep(for: .seconds(3600))
            return .succeeded("too late")
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "slow", prompt: "x")).task.id
            #expect(await eventually { started.total == 1 })
            clock.advance(by: 3599)
            #expect(try await store.state(of: id) == .running, "not yet over its timeout")
            #expect(try await Self.advance(clock, by: 1) { try await store.state(of: id) == .error })
            #expect(try await store.task(id)?.error?.hasPrefix("timed out after") == true)
            #expect(try await store.runs(task: id).map(\.outcome) == ["timed_out"])
        }
    }

    @Test("cancelling a running task stops its runner at once")
    func cancelRunning() async throws {
        let store = try await makeStore(Agent(name: "forever", runner: .builtin))
        let started = Counter()
        let stopped = Counter()
        let engine = Self.engine(store, handlers: ["forever": { _, _ in
            started.enter()
            do { try await Task.sleep(for: .seconds(60)) } catch { stopped.enter(); throw error }
            return .succeeded(nil)
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "forever", prompt: "x")).task.id
            #expect(await eventually { started.total == 1 })
            #expect(try await engine.transition(id, .cancel).state == .cancelled)
            #expect(await eventually(timeout: .seconds(20)) { stopped.total == 1 })
            #expect(await eventually { engine.activeRuns().isEmpty })
            #expect(try await store.runs(task: id).map(\.outcome) == ["cancelled"])
            #expect(try await store.state(of: id) == .cancelled)
        }
    }

    @Test("a run whose lease is gone learns it at its next write, writes nothing more and is stopped, before any heartbeat")
    func fencedWritesStopTheRun() async throws {
        let store = try await makeStore(Agent(name: "chatty", runner: .builtin))
        let stopped = Counter()
        let emitted = Counter()
        let handlers: [String: BuiltinRunner.Handler] = [
            "chatty": { _, context in
                do {
                    while true {
                        emitted.enter()
                        context.emit("stdout", ["line": .string("line \(emitted.total)")])
                        try await Task.sleep(for: .milliseconds(5))
                    }
                } catch {
                    stopped.enter()
                    throw error
                }
            },
        ]
        // Heartbeats every 60 s: only the fenced writes can tell the run in time.
        try await withEngine(Self.engine(store, heartbeat: 60, handlers: handlers)) { engine in
            let id = try await engine.submit(NewTask(agent: "chatty", prompt: "x")).task.id
            #expect(try await eventually { try await store.events(task: id, after: 0, limit: 100).count > 5 })
            // Another node cancels it (straight in the store): this engine is not told.
            _ = try await store.transition(id, .cancel, now: Date())
            let logged = try await store.events(task: id, after: 0, limit: 10_000).count
            #expect(await eventually(timeout: .seconds(20)) { stopped.total == 1 }, "the runner was stopped")
            #expect(await eventually { engine.activeRuns().isEmpty })
            let after = try await store.events(task: id, after: 0, limit: 10_000)
            #expect(after.count == logged, "nothing was appended after the cancel")
            #expect(after.last?.type == "state" && after.last?.data["to"] == "cancelled")
        }
    }

    @Test("graceful shutdown lets short runs finish and releases the rest for another node at once")
    func gracefulShutdown() async throws {
        let store = try await makeStore(Agent(name: "quick", runner: .builtin), Agent(name: "long", runner: .builtin))
        let handlers: [String: BuiltinRunner.Handler] = [
            "quick": { _, _ in try await Task.sleep(for: .milliseconds(200)); return .succeeded("quick done") },
            "long": { _, _ in try await Task.sleep(for: .seconds(60)); return .succeeded("long done") },
        ]
        // A grace ample for a loaded 2-core machine, where the full suite starves the test's executor for seconds.
        let (quick, long) = try await withEngine(Self.engine(store, node: "node-a", grace: 10, handlers: handlers)) { engine in
            let quick = try await engine.submit(NewTask(agent: "quick", prompt: "x")).task.id
            let long = try await engine.submit(NewTask(agent: "long", prompt: "x")).task.id
            #expect(await eventually { engine.activeRuns().count == 2 })
            return (quick, long)
        }
        #expect(try await store.task(quick)?.state == .done, "finished within the grace period")
        let released = try #require(try await store.task(long))
        #expect(released.state == .queued)
        #expect(released.failures == 0)
        #expect(try await store.runs(task: long).map(\.outcome) == ["released"])
        // No lease to wait out: another node claims it at once.
        #expect(try await store.claim(worker: "node-b", limit: 5, leaseDuration: 30, now: Date()).map(\.task.id) == [long])
    }

    @Test("a restarted node reclaims its previous incarnation's runs at once")
    func restartReclaims() async throws {
        let store = try await makeStore(Agent(name: "echo", runner: .builtin))
        let id = try await store.submit(NewTask(agent: "echo", prompt: "x"), now: Date()).task.id
        // The previous incarnation claimed it with an hour-long lease, then died.
        _ = try await store.claim(worker: "node-r", limit: 1, leaseDuration: 3600, now: Date())
        let engine = Self.engine(store, node: "node-r", handlers: ["echo": { _, _ in .succeeded("second life") }])
        let finished = try await withEngine(engine) { _ in
            try await eventually(timeout: .seconds(20)) { try await store.state(of: id) == .done }
        }
        #expect(finished)
        #expect(try await store.runs(task: id).map(\.outcome) == ["lost", "succeeded"])
        #expect(try await store.runs(task: id).map(\.attempt) == [1, 2])
    }

    @Test("heartbeats keep a run alive past its lease duration")
    func heartbeats() async throws {
        let store = try await makeStore(Agent(name: "steady", runner: .builtin))
        // A run three leases long; heartbeats every 0.1 s leave a 2.9 s margin for a loaded machine (the
        // full suite on 2 cores has starved the test's executor for over a second).
        let engine = Self.engine(store, lease: 3, heartbeat: 0.1, handlers: ["steady": { _, _ in
            try await Task.sleep(for: .seconds(9))
            return .succeeded("kept alive")
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "steady", prompt: "x")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try await store.runs(task: id).map(\.outcome) == ["succeeded"])
        }
    }

    @Test("a run whose lease is lost elsewhere is stopped and does not settle")
    func leaseLost() async throws {
        let store = try await makeStore(Agent(name: "victim", runner: .builtin))
        let stopped = Counter()
        let engine = Self.engine(store, heartbeat: 0.1, handlers: ["victim": { _, _ in
            do { try await Task.sleep(for: .seconds(60)) } catch { stopped.enter(); throw error }
            return .succeeded(nil)
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "victim", prompt: "x")).task.id
            #expect(await eventually { !engine.activeRuns().isEmpty })
            // Another process (not this engine) cancels the task: only the store knows.
            _ = try await store.transition(id, .cancel, now: Date())
            #expect(await eventually(timeout: .seconds(20)) { stopped.total == 1 })
            #expect(try await store.state(of: id) == .cancelled)
        }
    }

    @Test("a wake outcome parks the task and the engine runs it again at its time, on the engine's clock")
    func wakeAgain() async throws {
        let store = try await makeStore(Agent(name: "sleeper", runner: .builtin))
        let clock = ManualClock()
        let engine = Self.engine(store, lease: 1e7, heartbeat: 1e6, poll: 3600, clock: clock, handlers: ["sleeper": { request, _ in
            request.run.attempt == 1 ? .wake(at: clock.now.addingTimeInterval(86_400), prompt: nil) : .succeeded("awake")
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "sleeper", prompt: "x")).task.id
            #expect(try await eventually { try await store.state(of: id) == .waiting })
            clock.advance(by: 86_399)
            #expect(try await store.state(of: id) == .waiting)
            #expect(try await Self.advance(clock, by: 1) { try await store.state(of: id) == .done })
            #expect(try await store.stateEvents(id).map(\.to) == ["queued", "running", "waiting", "queued", "running", "done"])
        }
    }
}
