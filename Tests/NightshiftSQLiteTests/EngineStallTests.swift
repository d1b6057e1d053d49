import Foundation
import Nightshift
import NightshiftSQLite
import NightshiftTestSupport
import Synchronization
import Testing

@Suite("Engine: the stall watchdog")
struct EngineStallTests {
    static let fastRetry = RetryPolicy(maxAttempts: 3, initialBackoff: 0.02, maxBackoff: 0.02)

    /// An engine on `clock` whose leases outlast any clock move of these tests.
    static func engine(_ store: SQLiteTaskStore, clock: ManualClock, handlers: [String: BuiltinRunner.Handler]) -> Engine {
        EngineTests.engine(store, lease: 1e7, heartbeat: 1e6, clock: clock, handlers: handlers)
    }

    @Test("a run that reports nothing for its agent's stall timeout is stopped as stalled, charged a failure, and retried resuming its session")
    func stalledRunIsRetriedWithItsSession() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: .builtin, stallTimeout: 600, retry: Self.fastRetry))
        let clock = ManualClock()
        let requests = Mutex<[RunRequest]>([])
        let stalled = Counter()
        let engine = Self.engine(store, clock: clock, handlers: ["agent": { request, context in
            requests.withLock { $0.append(request) }
            guard request.run.attempt == 1 else { return .succeeded("resumed", usage: RunUsage(agentSessionID: request.resume?.sessionID)) }
            context.emit("session", ["session_id": "sess-1"])
            // One event, then silence: the agent hangs until it is stopped.
            do { try await Task.sleep(for: .seconds(3600)) } catch { stalled.enter(); throw error }
            return .succeeded("too late")
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "agent", prompt: "x")).task.id
            #expect(try await eventually { try await store.events(task: id, after: 0, limit: 100).contains { $0.type == "session" } })
            clock.advance(by: 599)
            #expect(try await store.state(of: id) == .running, "not yet silent for its stall timeout")
            #expect(stalled.total == 0)
            #expect(try await EngineTests.advance(clock, by: 1) { try await store.state(of: id) == .done })
            #expect(stalled.total == 1, "the hung runner was cancelled")
            let runs = try await store.runs(task: id)
            #expect(runs.map(\.outcome) == ["stalled", "succeeded"])
            #expect(runs.first?.error == "stalled: no event for 600s; stopped")
            #expect(runs.map(\.agentSessionID) == ["sess-1", "sess-1"])
            let stoppedAfter = try #require(runs.first?.finishedAt?.timeIntervalSince(runs[0].startedAt))
            #expect(stoppedAfter >= 600 && stoppedAfter < 700, "stopped once silent for 600 s on the engine's clock, not \(stoppedAfter)")
            #expect(try await store.task(id)?.failures == 1, "a stall counts as a failed attempt")
        }
        let seen = requests.withLock { $0 }
        try #require(seen.count == 2)
        #expect(seen[1].resume?.sessionID == "sess-1")
        #expect(seen[1].resume?.previousError == "stalled: no event for 600s; stopped")
    }

    @Test("a run that keeps reporting events runs on past its stall timeout, and ends as its runner says")
    func activeRunIsNotStopped() async throws {
        let store = try await makeStore(Agent(name: "busy", runner: .builtin, stallTimeout: 600, retry: RetryPolicy(maxAttempts: 1)))
        let clock = ManualClock()
        let ticks = Counter()
        let finish = Mutex(false)
        let engine = Self.engine(store, clock: clock, handlers: ["busy": { _, context in
            // An event each time the clock has moved: every 300 s of the test's clock.
            var seen = clock.now
            while true {
                context.emit("log", ["message": .string("still working at \(clock.now.timeIntervalSince1970)")])
                ticks.enter()
                _ = await eventually(timeout: .seconds(60)) { clock.now > seen || finish.withLock { $0 } }
                if finish.withLock({ $0 }) { return .succeeded("finished") }
                seen = clock.now
            }
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "busy", prompt: "x")).task.id
            #expect(await eventually { ticks.total == 1 })
            // 3,000 s in all, five times the stall timeout, never 600 s without an event.
            for step in 1...10 {
                clock.advance(by: 300)
                #expect(await eventually { ticks.total == step + 1 }, "the runner reported at step \(step)")
                #expect(try await store.state(of: id) == .running)
            }
            finish.withLock { $0 = true }
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try await store.runs(task: id).map(\.outcome) == ["succeeded"])
            #expect(try await store.task(id)?.result == "finished")
        }
    }

    @Test("with one attempt, a stall ends the task in error, labelled stalled")
    func stallWithoutAttemptsLeft() async throws {
        let store = try await makeStore(Agent(name: "hung", runner: .builtin, stallTimeout: 30, retry: RetryPolicy(maxAttempts: 1)))
        let clock = ManualClock()
        let started = Counter()
        let engine = Self.engine(store, clock: clock, handlers: ["hung": { _, _ in
            started.enter()
            try await Task.sleep(for: .seconds(3600))
            return .succeeded(nil)
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "hung", prompt: "x")).task.id
            #expect(await eventually { started.total == 1 })
            #expect(try await EngineTests.advance(clock, by: 30) { try await store.state(of: id) == .error })
            #expect(try await store.runs(task: id).map(\.outcome) == ["stalled"])
            #expect(try await store.task(id)?.error?.hasPrefix("stalled: no event for 30s") == true)
        }
    }
}
