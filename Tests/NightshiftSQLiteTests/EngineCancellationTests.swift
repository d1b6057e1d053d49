import Foundation
import Nightshift
import NightshiftSQLite
import NightshiftTestSupport
import Testing

/// An engine whose task is cancelled (not shut down gracefully: a test whose body threw, a
/// program that cancels its task) while runs are under way.
@Suite("Engine: cancelled")
struct EngineCancellationTests {
    @Test("as many cancelled engines as the pool has threads each wait for their run's wind-down without holding a thread, and all end")
    func cancelledEnginesEnd() async throws {
        // One engine per cooperative thread: an engine whose wait for its runs returned at once
        // in its cancelled task held its thread, and with every thread held no run could end.
        let count = min(16, max(2, ProcessInfo.processInfo.activeProcessorCount))
        let started = Counter()
        let ended = Counter()
        var engines: [Task<Void, Never>] = []
        for _ in 0..<count {
            let store = try await makeStore(Agent(name: "slow", runner: .builtin))
            let engine = EngineTests.engine(store, slots: 1, grace: 30, poll: 0.05, handlers: ["slow": { _, _ in
                started.enter()
                // Runs until cancelled, then winds down on the pool in a task the cancellation
                // does not reach (as an agent's teardown does).
                for await _ in AsyncStream<Void>.makeStream().stream {}
                await Task { try? await Task.sleep(for: .milliseconds(200)) }.value
                return .failed("cancelled", retryable: true)
            }])
            _ = try await store.submit(NewTask(agent: "slow", prompt: "p"), now: Date())
            engines.append(Task {
                try? await engine.run()
                ended.enter()
            })
        }
        #expect(await eventually { started.total == count }, "every engine's run started")
        for engine in engines { engine.cancel() }
        for engine in engines { await engine.value }
        #expect(ended.total == count)
    }
}
