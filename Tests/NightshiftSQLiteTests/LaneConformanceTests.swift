import Foundation
import Logging
import Nightshift
import NightshiftTestSupport
import Synchronization
import Testing

/// Lanes' limits as the API reaches them (a workspace's scope of the engine), on every store.
@Suite("Lane conformance")
struct LaneConformanceTests {
    @Test("lanes lists a workspace's limits and running tasks by name, and no other workspace's", arguments: StoreKind.allCases)
    func listing(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        _ = try await store.createWorkspace("b", now: t0)
        try await store.saveAgent(Agent(workspaceID: "b", name: "echo", runner: .builtin))
        try await store.setLaneLimit("gpu", concurrency: 2)
        try await store.setLaneLimit("deploys", concurrency: 1)
        try await store.setLaneLimit("gpu", concurrency: 5, workspace: "b")
        for lane in ["gpu", "gpu", "docs", "deploys"] {
            _ = try await store.submit(NewTask(agent: "echo", prompt: "x", lane: lane), now: t0)
        }
        _ = try await store.submit(NewTask(agent: "echo", prompt: "x", workspaceID: "b", lane: "gpu"), now: t0)
        _ = try await store.submit(NewTask(agent: "echo", prompt: "queued", lane: "later", availableAt: t0.addingTimeInterval(60)), now: t0)
        #expect(try await store.lanes(workspace: Workspace.defaultID) == [
            Lane(name: "deploys", concurrency: 1), Lane(name: "gpu", concurrency: 2),
        ], "queued tasks are not running")
        // Everything but the last task (available later) is claimed: the limits leave room for each.
        let claimed = try await store.claim(worker: "w", limit: 10, leaseDuration: 60, now: t0)
        #expect(claimed.count == 5)
        #expect(try await store.lanes(workspace: Workspace.defaultID) == [
            Lane(name: "deploys", concurrency: 1, running: 1), Lane(name: "docs", concurrency: nil, running: 1),
            Lane(name: "gpu", concurrency: 2, running: 2),
        ])
        #expect(try await store.lanes(workspace: "b") == [Lane(name: "gpu", concurrency: 5, running: 1)])
        try await store.setLaneLimit("gpu", concurrency: nil)
        #expect(try await store.lanes(workspace: Workspace.defaultID).first { $0.name == "gpu" } == Lane(name: "gpu", concurrency: nil, running: 2))
        #expect(try await store.lanes(workspace: "b").map(\.concurrency) == [5], "removing default's limit leaves b's")
        #expect(try await store.lanes(workspace: "nobody").isEmpty)
    }

    @Test("a lane limit set through a workspace's scope holds: two tasks of two agents in a lane of concurrency 1 never run at once", arguments: StoreKind.allCases)
    func limitHolds(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "first", runner: .builtin), Agent(name: "second", runner: .builtin))
        let running = Counter()
        let gate = Mutex(false)
        let handler: BuiltinRunner.Handler = { _, _ in
            running.enter()
            defer { running.leave() }
            _ = await eventually(timeout: .seconds(60)) { gate.withLock { $0 } }
            return .succeeded("ok")
        }
        let engine = Engine(
            store: store, runners: RunnerRegistry([BuiltinRunner(handlers: ["first": handler, "second": handler])]),
            configuration: EngineConfiguration(nodeID: "lanes", slots: 4, rescueInterval: 0.1, pollInterval: 60),
            logger: Logger(label: "test"))
        try await withEngine(engine) { engine in
            let scope = engine.workspace(Workspace.defaultID)
            try await scope.setLaneLimit("solo", concurrency: 1)
            #expect(try await scope.lanes() == [Lane(name: "solo", concurrency: 1)])
            let ids = [
                try await scope.submit(NewTask(agent: "first", prompt: "a", lane: "solo")).task.id,
                try await scope.submit(NewTask(agent: "second", prompt: "b", lane: "solo")).task.id,
            ]
            #expect(try await eventually { try await scope.lanes() == [Lane(name: "solo", concurrency: 1, running: 1)] })
            // Four free slots, two tasks: only the lane keeps the second one queued.
            #expect(await eventually { running.total == 1 })
            let states = try await ids.asyncMap { try await store.state(of: $0) }
            #expect(states.sorted { $0?.rawValue ?? "" < $1?.rawValue ?? "" } == [.queued, .running])
            gate.withLock { $0 = true }
            for id in ids { #expect(try await eventually { try await store.state(of: id) == .done }) }
            #expect(running.total == 2 && running.peak == 1, "one at a time in lane solo")
            #expect(try await scope.lanes() == [Lane(name: "solo", concurrency: 1)])
            #expect(try await scope.removeLaneLimit("solo"))
            #expect(try await scope.removeLaneLimit("solo") == false, "no limit left to remove")
            #expect(try await scope.lanes().isEmpty)
        }
    }

    @Test("a bad lane name or limit is refused, naming it", arguments: StoreKind.allCases)
    func refusals(kind: StoreKind) async throws {
        let store = try await kind.make()
        let engine = Engine(store: store, runners: RunnerRegistry([]), configuration: EngineConfiguration(), logger: Logger(label: "test"))
        let scope = engine.workspace(Workspace.defaultID)
        for (lane, concurrency, field) in [("", 1, "name"), ("a\u{7}b", 1, "name"), (String(repeating: "x", count: 129), 1, "name"), ("ok", 0, "concurrency")] {
            let error = await #expect(throws: NightshiftError.self) { try await scope.setLaneLimit(lane, concurrency: concurrency) }
            #expect(error?.field == field && error?.code == .invalidInput, "\(lane) \(concurrency)")
        }
        #expect(try await store.lanes(workspace: Workspace.defaultID).isEmpty)
    }
}

extension Array {
    /// The results of `transform` on each element, in order, one after another.
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
