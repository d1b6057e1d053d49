import Foundation
import Logging
import Nightshift
import Synchronization

extension Bench {
    /// W3: `workflows` workflow tasks of `steps` no-op steps each, drained with `slots` slots:
    /// steps a second from the first claim to the last settle, every step recorded durably before
    /// the next runs. Then the replay cost: a workflow whose `replaySteps` steps are recorded runs
    /// again; the time to read its steps and replay them all.
    func w3(workflows: Int, steps: Int, replaySteps: Int, slots: Int) async throws -> [(String, JSONValue)] {
        let registry = WorkflowRegistry()
        try registry.register("steps") { flow in
            for index in 0..<steps { _ = try await flow.step("step-\(index)") { index } }
            return nil
        }
        // The replay workflow records its steps on its first run and fails; its second run times
        // the replay of them (the read of its steps is timed apart, by the bench).
        let replay = Mutex<Duration?>(nil)
        try registry.register("replay") { flow in
            let start = ContinuousClock.now
            for index in 0..<replaySteps { _ = try await flow.step("step-\(index)") { index } }
            if flow.run.attempt == 1 { throw NightshiftError(.storeUnavailable, "bench: run the replay again") }
            replay.withLock { $0 = ContinuousClock.now - start }
            return nil
        }
        return try await withStore { bench in
            let store = bench.store
            try await store.saveAgent(Agent(name: "steps", runner: .workflow))
            try await store.saveAgent(Agent(name: "replay", runner: .workflow, retry: RetryPolicy(maxAttempts: 2, initialBackoff: 0.01, maxBackoff: 0.01)))
            for index in 0..<workflows { _ = try await store.submit(NewTask(agent: "steps", prompt: "workflow \(index)"), now: Date()) }
            var logger = Logger(label: "nightshift.bench")
            logger.logLevel = .error
            let engine = Engine(
                store: store, runners: RunnerRegistry([WorkflowRunner(registry: registry)]),
                configuration: EngineConfiguration(nodeID: "bench", slots: slots, pollInterval: 60, shutdownGrace: 5), logger: logger)
            return try await running(engine) {
                try await waitUntilDone(store, tasks: workflows)
                let (first, last) = try await drainWindow(store)
                let seconds = last.timeIntervalSince(first)
                let id = try await engine.submit(NewTask(agent: "replay", prompt: "replay")).task.id
                try await waitUntilDone(store, tasks: workflows + 1)
                let readStart = ContinuousClock.now
                let recorded = try await store.steps(task: id).recorded
                let read = ContinuousClock.now - readStart
                guard recorded.count == replaySteps, let loop = replay.withLock({ $0 }) else {
                    throw NightshiftError(.storeUnavailable, "bench: the replay workflow recorded \(recorded.count) of \(replaySteps) steps")
                }
                return [
                    ("workload", "W3"), ("store", .string(storeName)), ("workflows", .int(Int64(workflows))), ("steps", .int(Int64(steps))),
                    ("slots", .int(Int64(slots))),
                    ("steps_per_s", .int(Int64(Double(workflows * steps) / seconds))),
                    ("workflows_per_s", .double(Self.round(Double(workflows) / seconds))),
                    ("replay_steps", .int(Int64(replaySteps))),
                    ("replay_read_ms", .double(Self.round(read.seconds * 1000))),
                    ("replay_ms", .double(Self.round((read + loop).seconds * 1000))),
                    bench.durability,
                ]
            }
        }
    }
}
