import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

/// The census's first count and the queue's figures, and a census that follows the hook stream,
/// on every store kind.
extension StoreConformanceTests {
    @Test("a census snapshot counts tasks by workspace, agent and state as of the last hook seq; queue stats read the queue", arguments: StoreKind.allCases)
    func censusSnapshot(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        var tasks: [AgentTask] = []
        for index in 0..<4 { tasks.append(try await store.submit(NewTask(agent: "echo", prompt: "p\(index)"), now: t0).task) }
        _ = try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0)
        _ = try await store.transition(tasks[3].id, .cancel, now: t0)
        _ = try await store.submit(NewTask(agent: "echo", prompt: "later", lane: "nightly", availableAt: t0.addingTimeInterval(30)), now: t0)

        let snapshot = try await store.censusSnapshot()
        let echo = { (state: TaskState) in snapshot.counts[CensusKey(workspace: Workspace.defaultID, agent: "echo", state: state)] ?? 0 }
        #expect(echo(.queued) == 3)
        #expect(echo(.running) == 1)
        #expect(echo(.cancelled) == 1)
        #expect(snapshot.counts.values.reduce(0, +) == 5)
        #expect(snapshot.seq == (try await store.lastHookSeq()))
        #expect(snapshot.seq >= 7)

        let queue = try await store.queueStats().sorted { $0.lane < $1.lane }
        #expect(queue.map(\.lane) == ["", "nightly"])
        #expect(queue.map(\.depth) == [2, 1])
        #expect(queue.allSatisfy { $0.agent == "echo" && $0.workspace == Workspace.defaultID })
        #expect(queue.last?.oldestAvailableAt == t0.addingTimeInterval(30))
    }

    @Test("a census follows every move after its first count and agrees with a new count", arguments: StoreKind.allCases)
    func censusFollows(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "before \(index)"), now: t0) }
        let census = TaskCensus(store: store, poll: .milliseconds(20))
        let following = Task { try await census.run() }
        defer { following.cancel() }
        let first = try #require(await census.snapshot(waiting: .seconds(30)))
        #expect(first.counts.values.reduce(0, +) == 3)

        // Moves after the first count: submits, a claim, a settle, a cancel.
        for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "after \(index)"), now: t0) }
        let claimed = try await store.claim(worker: "w", limit: 2, leaseDuration: 30, now: t0)
        _ = try await store.settle(claimed[0].lease, outcome: .succeeded("ok"), now: t0)
        let queued = try await store.listTasks({ var query = TaskQuery(); query.states = [.queued]; return query }()).tasks
        _ = try await store.transition(try #require(queued.first).id, .cancel, now: t0)

        let truth = try await store.censusSnapshot()
        let caughtUp = await eventually { census.snapshot.map { $0.seq >= truth.seq } ?? false }
        #expect(caughtUp)
        let followed = try #require(census.snapshot)
        #expect(followed.counts.filter { $0.value != 0 } == truth.counts)
        #expect(truth.counts[CensusKey(workspace: Workspace.defaultID, agent: "echo", state: .done)] == 1)
    }
}
