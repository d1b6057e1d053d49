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

        // The counts are as of the snapshot's seq (on PostgreSQL, hook events not yet numbered
        // are left out of both): with the moves after it, they are the tasks now.
        let snapshot = try await store.censusSnapshot()
        let counts = try await Self.caughtUp(snapshot, store: store)
        let echo = { (state: TaskState) in counts[CensusKey(workspace: Workspace.defaultID, agent: "echo", state: state)] ?? 0 }
        #expect(echo(.queued) == 3)
        #expect(echo(.running) == 1)
        #expect(echo(.cancelled) == 1)
        #expect(counts.values.reduce(0, +) == 5)
        #expect(snapshot.seq <= (try await store.lastHookSeq()))

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
        #expect(try await Self.caughtUp(first, store: store).values.reduce(0, +) == 3)

        // Moves after the first count: submits, a claim, a settle, a cancel.
        for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "after \(index)"), now: t0) }
        let claimed = try await store.claim(worker: "w", limit: 2, leaseDuration: 30, now: t0)
        _ = try await store.settle(claimed[0].lease, outcome: .succeeded("ok"), now: t0)
        let queued = try await store.listTasks({ var query = TaskQuery(); query.states = [.queued]; return query }()).tasks
        _ = try await store.transition(try #require(queued.first).id, .cancel, now: t0)

        let last = try await store.lastHookSeq()
        let caughtUp = await eventually { census.snapshot.map { $0.seq >= last } ?? false }
        #expect(caughtUp)
        let followed = try #require(census.snapshot)
        let truth = try await Self.caughtUp(try await store.censusSnapshot(), store: store)
        #expect(followed.counts.filter { $0.value != 0 } == truth)
        #expect(truth[CensusKey(workspace: Workspace.defaultID, agent: "echo", state: .done)] == 1)
    }

    /// `snapshot`'s counts with every move after its seq applied: the tasks as they are now.
    static func caughtUp(_ snapshot: CensusSnapshot, store: any TaskStore) async throws -> [CensusKey: Int] {
        var counts = snapshot.counts
        for event in try await store.hookEvents(after: snapshot.seq, limit: 10_000) {
            CensusSnapshot.move(&counts, type: event.type, workspace: event.workspaceID, data: event.data)
        }
        return counts.filter { $0.value != 0 }
    }
}

extension StoreConformanceTests {
    @Test("a task's trace parent is kept with it and answered by its reads and claim (both submit paths)", arguments: StoreKind.allCases)
    func traceParent(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        var plain = NewTask(agent: "echo", prompt: "a")
        plain.traceParent = parent
        var keyed = NewTask(agent: "echo", prompt: "b", idempotencyKey: "k")
        keyed.traceParent = parent
        for new in [plain, keyed] {
            let task = try await store.submit(new, now: t0).task
            #expect(task.traceParent == parent)
            #expect(try await store.task(task.id)?.traceParent == parent)
        }
        #expect(try await store.submit(NewTask(agent: "echo", prompt: "c"), now: t0).task.traceParent == nil)
        let claimed = try await store.claim(worker: "w", limit: 3, leaseDuration: 30, now: t0)
        #expect(claimed.filter { $0.task.traceParent == parent }.count == 2)
    }
}
