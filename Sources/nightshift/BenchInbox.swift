import Foundation
import Logging
import Nightshift
import Synchronization

extension Bench {
    /// W5: `tasks` tasks that each ask one question, answered by a client as soon as it sees it.
    /// Live: the agent runs and reads its live inputs; the client answers once the agent has
    /// started, and the latency runs from the answer to the agent receiving it. Resume: the agent's
    /// first run ends waiting for input; the client answers each task it finds waiting, and the
    /// latency runs from the answer to the resumed run starting with it.
    func w5(tasks: Int, slots: Int) async throws -> [(String, JSONValue)] {
        try await withStore { bench in
            let store = bench.store
            try await store.saveAgent(Agent(name: "ask", runner: .builtin))
            try await store.saveAgent(Agent(name: "live", runner: .builtin, config: ["input": "live"]))
            let clock = ContinuousClock()
            let times = W5Times()
            let startedSignal = ChangeSignal()
            let handlers: [String: BuiltinRunner.Handler] = [
                "ask": { request, _ in
                    guard !request.inputs.isEmpty else { return .waitingForInput("Which branch?") }
                    times.received.withLock { $0[request.task.id] = clock.now }
                    return .succeeded("answered")
                },
                "live": { request, context in
                    times.started.withLock { $0.append(request.task.id) }
                    startedSignal.ring()
                    for await _ in context.liveInputs ?? AsyncStream { $0.finish() } {
                        times.received.withLock { $0[request.task.id] = clock.now }
                        return .succeeded("answered")
                    }
                    return .failed("no answer", retryable: false)
                },
            ]
            var logger = Logger(label: "nightshift.bench")
            logger.logLevel = .error
            let engine = Engine(
                store: store, runners: RunnerRegistry([BuiltinRunner(handlers: handlers)]),
                configuration: EngineConfiguration(nodeID: "bench", slots: slots, pollInterval: 60, shutdownGrace: 5), logger: logger)
            let answer = { (id: TaskID) async throws in
                times.answered.withLock { $0[id] = clock.now }
                try await engine.addInput(NewInput(kind: .answer, text: "dev", sender: "bench"), to: id)
            }
            var live: [Double] = []
            var resume: [Double] = []
            try await running(engine) {
                // Live: answer each agent as soon as it has started (it then waits on its inputs).
                var liveIDs: [TaskID] = []
                for index in 0..<tasks {
                    liveIDs.append(try await engine.submit(NewTask(agent: "live", prompt: "question \(index)")).task.id)
                }
                var seen = 0
                var generation = startedSignal.generation
                while seen < tasks {
                    let ready = times.started.withLock { Array($0.dropFirst(seen)) }
                    if ready.isEmpty {
                        generation = await startedSignal.wait(after: generation, timeout: .seconds(30))
                        continue
                    }
                    for id in ready { try await answer(id) }
                    seen += ready.count
                }
                try await Self.waitUntilDone(store, count: tasks)
                live = times.latencies(liveIDs)

                // Resume: answer each task as soon as it is seen waiting for its answer.
                var askIDs: [TaskID] = []
                for index in 0..<tasks {
                    askIDs.append(try await engine.submit(NewTask(agent: "ask", prompt: "question \(index)")).task.id)
                }
                var open = Set(askIDs)
                while !open.isEmpty {
                    var query = TaskQuery()
                    query.states = [.waiting]
                    query.agent = "ask"
                    query.limit = 200
                    let waiting = try await store.listTasks(query).tasks
                    for task in waiting where open.contains(task.id) {
                        try await answer(task.id)
                        open.remove(task.id)
                    }
                    if waiting.isEmpty { try await Task.sleep(for: .microseconds(200)) }
                }
                try await Self.waitUntilDone(store, count: 2 * tasks)
                resume = times.latencies(askIDs)
            }
            return [
                ("workload", "W5"), ("store", .string(storeName)), ("tasks", .int(Int64(tasks))),
                ("live_p50_ms", .double(Self.round(Self.percentile(live, 0.50)))),
                ("live_p99_ms", .double(Self.round(Self.percentile(live, 0.99)))),
                ("resume_p50_ms", .double(Self.round(Self.percentile(resume, 0.50)))),
                ("resume_p99_ms", .double(Self.round(Self.percentile(resume, 0.99)))),
                bench.durability,
            ]
        }
    }

    /// Waits until `count` tasks are done (or fails the benchmark after a minute).
    private static func waitUntilDone(_ store: any TaskStore, count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await store.countsByState()[.done, default: 0] < count {
            guard ContinuousClock.now < deadline else { throw NightshiftError(.storeUnavailable, "W5: tasks did not finish within a minute") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// W5's clocks: when each task was answered, when its agent received the answer, and the live
/// agents that have started, in order.
private final class W5Times: Sendable {
    let answered = Mutex<[TaskID: ContinuousClock.Instant]>([:])
    let received = Mutex<[TaskID: ContinuousClock.Instant]>([:])
    let started = Mutex<[TaskID]>([])

    /// The answer-to-receipt latencies of `ids` in milliseconds, sorted.
    func latencies(_ ids: [TaskID]) -> [Double] {
        let (sent, got) = (answered.withLock { $0 }, received.withLock { $0 })
        return ids.compactMap { id in
            guard let from = sent[id], let to = got[id] else { return nil }
            return (to - from).seconds * 1000
        }.sorted()
    }
}
