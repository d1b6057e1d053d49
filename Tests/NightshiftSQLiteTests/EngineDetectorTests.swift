import Foundation
import Logging
import Nightshift
import NightshiftTestSupport
import Synchronization
import Testing

/// Work detectors run by real engines on every store: a scan's items become tasks deduplicated
/// by key while live, each item's agent runs as a child and its result is processed once, a
/// signal submits without a scan, a bad scan submits nothing, and one node scans at a time.
@Suite("Engine: work detectors", .timeLimit(.minutes(1)))
struct EngineDetectorTests {
    /// A detector whose items the test sets, counting scans and processed results; its scan can
    /// be held on a gate.
    final class Inbox: WorkDetector {
        let agent = "fixer"
        let interval: Duration
        let items = Mutex<[WorkItem]>([])
        let failure = Mutex<String?>(nil)
        let scans = Atomic<Int>(0)
        let processed = Mutex<[DetectedWorkResult]>([])
        let held = Mutex(false)
        /// Holds the agent's runs (not the scans).
        let agentsHeld = Mutex(false)
        let scanning = Atomic<Bool>(false)

        init(interval: Duration = .seconds(3600)) { self.interval = interval }

        func detect() async throws -> [WorkItem] {
            scans.add(1, ordering: .relaxed)
            scanning.store(true, ordering: .relaxed)
            defer { scanning.store(false, ordering: .relaxed) }
            while held.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            if let failure = failure.withLock({ $0 }) { throw NightshiftError(.invalidInput, failure) }
            return items.withLock { $0 }
        }

        func buildPrompt(for item: WorkItem) -> String { item.render("fix {{item.key}}: {{item.payload.title}}") }

        func processResult(_ result: DetectedWorkResult) async throws { processed.withLock { $0.append(result) } }
    }

    /// The detector's item tasks.
    static func items(_ store: any TaskStore) async throws -> [AgentTask] {
        var query = TaskQuery()
        query.agent = "inbox"
        return try await store.listTasks(query).tasks
    }

    static func engine(_ store: any TaskStore, _ detector: Inbox, node: String = "n1", open: @escaping @Sendable () -> Bool = { true }) throws -> Engine {
        let workflows = WorkflowRegistry()
        let detectors = DetectorRegistry(workflows: workflows)
        try detectors.register("inbox", detector)
        let fixer: BuiltinRunner.Handler = { request, _ in
            while !open() { try await Task.sleep(for: .milliseconds(5)) }
            return .succeeded("fixed: \(request.prompt)")
        }
        return Engine(
            store: store, runners: RunnerRegistry([WorkflowRunner(registry: workflows), BuiltinRunner(handlers: ["fixer": fixer])]),
            configuration: EngineConfiguration(
                nodeID: node, pollInterval: 0.05,
                workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-detect-\(UUID().uuidString)")),
            detectors: detectors, logger: Logger(label: "test"))
    }

    @Test("items become tasks once while live; each result is processed once; a signal submits without a scan", arguments: StoreKind.allCases)
    func scanSubmitProcess(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "fixer", runner: .builtin))
        let detector = Inbox()
        detector.items.withLock {
            $0 = [WorkItem(key: "a", priority: 5, payload: ["title": "crash"]), WorkItem(key: "b", payload: ["title": "leak"])]
        }
        detector.agentsHeld.withLock { $0 = true }
        try await withEngine(try Self.engine(store, detector, open: { !detector.agentsHeld.withLock { $0 } })) { engine in
            // Started, the engine scans at once (the first scan is due) and saves the workflow agent.
            #expect(try await eventually { try await store.detectors(workspace: Workspace.defaultID).first?.scans == 1 })
            #expect(try await store.agent(named: "inbox")?.runner == .workflow)
            let first = try await Self.items(store)
            #expect(Set(first.map(\.dedupKey)) == ["detector.inbox:a", "detector.inbox:b"])
            #expect(first.first { $0.dedupKey == "detector.inbox:a" }?.priority == 5)
            #expect(Set(first.map(\.prompt)) == ["fix a: crash", "fix b: leak"])

            // Not due again for an hour; a forced scan finds both, and both are still live.
            #expect(try await engine.scanDetector("inbox", force: false) == nil)
            #expect(try await engine.scanDetector("inbox", force: true) == DetectorScan(found: 2, submitted: 0))
            // A signal brings c without a scan, and b again (live: a no-op).
            let signalled = try await engine.signalDetector("inbox", items: [WorkItem(key: "c", payload: ["title": "typo"]), WorkItem(key: "b")])
            #expect(signalled == DetectorScan(found: 2, submitted: 1))
            #expect(detector.scans.load(ordering: .relaxed) == 2, "the signal did not scan")

            detector.agentsHeld.withLock { $0 = false }
            #expect(try await eventually { try await Self.items(store).allSatisfy { $0.state == .done } })
            let done = try await Self.items(store)
            #expect(done.count == 3)
            let results = detector.processed.withLock { $0 }
            #expect(results.map(\.item.key).sorted() == ["a", "b", "c"], "each result processed once")
            #expect(results.first { $0.item.key == "a" }?.result == "fixed: fix a: crash")
            for task in done {
                #expect(try await store.steps(task: task.id).recorded.map(\.name) == ["work", "process_result"])
                #expect(task.result?.hasPrefix("fixed: fix ") == true)
            }
            // Once their tasks have ended, the same keys make new tasks.
            #expect(try await engine.scanDetector("inbox", force: true) == DetectorScan(found: 2, submitted: 2))
        }
    }

    @Test("a scan that throws or finds a bad item submits nothing and records the error", arguments: StoreKind.allCases)
    func badScans(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "fixer", runner: .builtin))
        let detector = Inbox()
        detector.failure.withLock { $0 = "the tracker answered 503" }
        try await withEngine(try Self.engine(store, detector)) { engine in
            #expect(try await eventually { try await store.detectors(workspace: Workspace.defaultID).first?.scans == 1 })
            #expect(try await store.detectors(workspace: Workspace.defaultID).first?.lastScan?.error == "the tracker answered 503")
            detector.failure.withLock { $0 = nil }
            detector.items.withLock { $0 = [WorkItem(key: "ok"), WorkItem(key: "")] }
            let scan = try #require(try await engine.scanDetector("inbox", force: true))
            #expect(scan.submitted == 0 && scan.error?.contains("items[1].key") == true, "\(scan)")
            #expect(try await Self.items(store).isEmpty, "nothing half-submitted")
            let unknown = await #expect(throws: NightshiftError.self) { try await engine.scanDetector("nope", force: true) }
            #expect(unknown?.code == .notFound)
            let otherWorkspace = await #expect(throws: NightshiftError.self) { try await engine.workspace("w2").scanDetector("inbox", force: true) }
            #expect(otherWorkspace?.code == .notFound, "a detector of another workspace is not found")
        }
    }

    @Test("two nodes on one store: while one scans a detector, the other's forced scan does not", arguments: StoreKind.allCases)
    func oneNodeScans(kind: StoreKind) async throws {
        // Neither engine runs (their loops would scan too): the detector's agent is saved here.
        let store = try await kind.make().with(Agent(name: "fixer", runner: .builtin), Agent(name: "inbox", runner: .workflow))
        let (first, second) = (Inbox(), Inbox())
        first.held.withLock { $0 = true }
        first.items.withLock { $0 = [WorkItem(key: "x")] }
        let a = try Self.engine(store, first, node: "a")
        let b = try Self.engine(store, second, node: "b")
        // Node a's scan holds the lease while held.
        async let scanning = a.scanDetector("inbox", force: true)
        #expect(await eventually { first.scanning.load(ordering: .relaxed) })
        #expect(try await b.scanDetector("inbox", force: true) == nil, "a is scanning")
        #expect(try await store.detectors(workspace: Workspace.defaultID).first?.scanningNode == "a")
        first.held.withLock { $0 = false }
        #expect(try await scanning == DetectorScan(found: 1, submitted: 1))
        #expect(try await b.scanDetector("inbox", force: true) == DetectorScan(found: 0, submitted: 0), "b scans once a is done")
        #expect(second.scans.load(ordering: .relaxed) == 1)
    }
}
