import Logging
import Foundation
import Nightshift
import NightshiftPostgres
import NightshiftRunners
import Synchronization
import NightshiftTestSupport
import Testing

private let echo = Agent(name: "echo", runner: .builtin)

/// What the nodes of a test hold and have settled.
private final class Tally: Sendable {
    struct Counts {
        var scarce = 0, deploys = 0, peakScarce = 0, peakDeploys = 0, settled = 0, doubles = 0
    }

    private let counts = Mutex(Counts())

    func withLock<T>(_ body: (inout Counts) -> T) -> T { counts.withLock { body(&$0) } }
}

/// Several nodes (stores with their own connection pools) on one database at once.
@Suite("PostgreSQL multi-node", TestDatabase.trait, .serialized)
struct MultiNodeTests {
    @Test("per-agent and per-lane limits hold across nodes under concurrent claims")
    func limitsAcrossNodes() async throws {
        try await TestDatabase.withNodes(4) { nodes in
            let store = nodes[0]
            try await store.saveAgent(echo)
            try await store.saveAgent(Agent(name: "scarce", runner: .builtin, concurrency: 3))
            try await store.setLaneLimit("deploys", concurrency: 2)
            let tasks = (0..<40).map { NewTask(agent: "scarce", prompt: "s\($0)", priority: 0) }
                + (0..<30).map { NewTask(agent: "echo", prompt: "d\($0)", priority: 1, lane: "deploys") }
            _ = try await store.submitAll(tasks, now: t0)
            // Held = claimed and not yet settled by this test: never more than what the database has running.
            let held = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, node) in nodes.enumerated() {
                    group.addTask {
                        let deadline = ContinuousClock.now + .seconds(60)
                        while held.withLock({ $0.settled }) < tasks.count, ContinuousClock.now < deadline {
                            let claimed = try await node.claim(worker: "node\(index)", limit: 2, leaseDuration: 60, now: t0)
                            if claimed.isEmpty {
                                try await Task.sleep(for: .milliseconds(5))
                                continue
                            }
                            held.withLock { state in
                                for run in claimed {
                                    if run.task.agent == "scarce" { state.scarce += 1 } else { state.deploys += 1 }
                                }
                                state.peakScarce = max(state.peakScarce, state.scarce)
                                state.peakDeploys = max(state.peakDeploys, state.deploys)
                            }
                            try await Task.sleep(for: .milliseconds(1))
                            for run in claimed {
                                held.withLock { state in
                                    if run.task.agent == "scarce" { state.scarce -= 1 } else { state.deploys -= 1 }
                                }
                                let result = try await node.settle(run.lease, outcome: .succeeded("ok"), now: t0)
                                held.withLock { state in
                                    state.settled += 1
                                    if result != .settled(.done) { state.doubles += 1 }
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = held.withLock { $0 }
            #expect(final.settled == tasks.count)
            #expect(final.doubles == 0)
            #expect(final.peakScarce <= 3, "scarce agent limit 3 exceeded: \(final.peakScarce)")
            #expect(final.peakDeploys <= 2, "deploys lane limit 2 exceeded: \(final.peakDeploys)")
            #expect(try await store.countsByState()[.done] == tasks.count)
            let hooks = try await store.hookEvents(after: 0, limit: 10_000)
            #expect(hooks.map(\.seq) == Array(1...Int64(hooks.count)), "hook events are gap-free")
            #expect(hooks.filter { $0.type == "task.done" }.count == tasks.count)
        }
    }

    @Test("a rate's bucket is shared by every node: concurrent claims from four nodes take exactly its tokens")
    func rateAcrossNodes() async throws {
        try await TestDatabase.withNodes(4) { nodes in
            try await nodes[0].saveAgent(Agent(name: "paced", runner: .builtin, rate: AgentRate(limit: 5, window: 3_600)))
            _ = try await nodes[0].submitAll((0..<20).map { NewTask(agent: "paced", prompt: "p\($0)") }, now: t0)
            let claimed = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, node) in nodes.enumerated() {
                    group.addTask {
                        var total = 0
                        for _ in 0..<5 { total += try await node.claim(worker: "node\(index)", limit: 2, leaseDuration: 60, now: t0).count }
                        return total
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(claimed == 5)
            let batch = try await nodes[3].claimBatch(worker: "node3", limit: 2, leaseDuration: 60, now: t0)
            #expect(batch.runs.isEmpty)
            #expect(batch.nextOpening.map { abs($0.timeIntervalSince(t0) - 720) < 0.001 } == true, "one token every 12 min")
            #expect(try await nodes[2].agentPacing(workspace: nil, now: t0).first?.tokens == 0)
            #expect(try await nodes[1].claim(worker: "node1", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(720)).count == 1)
        }
    }

    @Test("a quota group parked by a settle on one node is skipped by every node's claims until the reset or an unpark on another node")
    func parkAcrossNodes() async throws {
        try await TestDatabase.withNodes(2) { nodes in
            let (a, b) = (nodes[0], nodes[1])
            try await a.saveAgent(Agent(name: "one", runner: .builtin, quotaGroup: "provider"))
            try await a.saveAgent(Agent(name: "two", runner: .builtin, quotaGroup: "provider"))
            _ = try await a.submit(NewTask(agent: "one", prompt: "first"), now: t0)
            let run = try #require(try await a.claim(worker: "a", limit: 1, leaseDuration: 60, now: t0).first)
            let park = RunOutcome.parked("limit", resetsAt: t0.addingTimeInterval(600), park: ParkRequest(group: "provider", policy: ParkPolicy(margin: 30)))
            #expect(try await a.settle(run.lease, outcome: park, now: t0) == .settled(.queued))
            _ = try await a.submitAll([NewTask(agent: "one", prompt: "x"), NewTask(agent: "two", prompt: "y")], now: t0)
            let held = try await b.claimBatch(worker: "b", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(10))
            #expect(held.runs.isEmpty)
            #expect(held.nextOpening == t0.addingTimeInterval(630))
            // Unparked from node B: node A claims the group's queued tasks at once (not the parked one, before its time).
            let woken = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await a.listenForWork { woken.withLock { $0.settled += 1 } } }
                // The first ring says the connection listens.
                #expect(await eventually { woken.withLock { $0.settled } == 1 })
                let ended = try await b.unpark(group: "provider", workspace: Workspace.defaultID, now: t0.addingTimeInterval(20))
                #expect(ended)
                #expect(await eventually { woken.withLock { $0.settled } == 2 }, "the unpark's NOTIFY wakes node A")
                group.cancelAll()
            }
            #expect(try await a.claim(worker: "a", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(20)).map(\.task.prompt).sorted() == ["x", "y"])
            #expect(try await b.claim(worker: "b", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(630)).map(\.task.prompt) == ["first"])
        }
    }

    @Test("a run settled from several nodes at once is settled exactly once")
    func settleOnce() async throws {
        try await TestDatabase.withNodes(3) { nodes in
            try await nodes[0].saveAgent(echo)
            _ = try await nodes[0].submitAll((0..<20).map { NewTask(agent: "echo", prompt: "t\($0)") }, now: t0)
            let runs = try await nodes[0].claim(worker: "w", limit: 20, leaseDuration: 60, now: t0)
            #expect(runs.count == 20)
            let results = try await withThrowingTaskGroup(of: SettleResult.self) { group in
                for run in runs {
                    for node in nodes {
                        group.addTask { try await node.settle(run.lease, outcome: .succeeded("ok"), now: t0) }
                    }
                }
                return try await group.reduce(into: [SettleResult]()) { $0.append($1) }
            }
            #expect(results.filter { $0 == .settled(.done) }.count == 20)
            #expect(results.filter { $0 == .alreadySettled(.done) }.count == 40)
            let hooks = try await nodes[1].hookEvents(after: 0, limit: 1000)
            #expect(hooks.filter { $0.type == "task.done" }.count == 20)
        }
    }

    @Test("rescuers on every node at once rescue each expired run once")
    func rescueEverywhere() async throws {
        try await TestDatabase.withNodes(3) { nodes in
            try await nodes[0].saveAgent(echo)
            let retry = RetryPolicy(maxAttempts: 3, initialBackoff: 0, maxBackoff: 0)
            _ = try await nodes[0].submitAll((0..<60).map { NewTask(agent: "echo", prompt: "t\($0)", retry: retry) }, now: t0)
            let runs = try await nodes[0].claim(worker: "dead", limit: 60, leaseDuration: 5, now: t0)
            #expect(runs.count == 60)
            let rescued = try await withThrowingTaskGroup(of: [TaskID].self) { group in
                for node in nodes { group.addTask { try await node.rescueExpiredLeases(now: t0.addingTimeInterval(6)).taskIDs } }
                return try await group.reduce(into: [TaskID]()) { $0 += $1 }
            }
            #expect(rescued.count == 60)
            #expect(Set(rescued) == Set(runs.map(\.task.id)))
            #expect(try await nodes[0].countsByState()[.queued] == 60)
            for run in runs.prefix(5) {
                #expect(try await nodes[1].runs(task: run.task.id).map(\.outcome) == ["lost"])
            }
        }
    }

    @Test("claims, heartbeats, settles, cancels and rescues from several nodes at once end every task, without deadlock")
    func mixedLoad() async throws {
        try await TestDatabase.withNodes(3) { nodes in
            try await nodes[0].saveAgent(Agent(name: "echo", runner: .builtin, concurrency: 5))
            let retry = RetryPolicy(maxAttempts: 3, initialBackoff: 0, maxBackoff: 0)
            let ids = try await nodes[0].submitAll(
                (0..<60).map { NewTask(agent: "echo", prompt: "t\($0)", dedupKey: $0 < 14 ? "k\($0 % 7)" : nil, retry: retry) }, now: t0
            ).map(\.task.id)
            let live = Set(ids)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, node) in nodes.enumerated() {
                    group.addTask {
                        let deadline = ContinuousClock.now + .seconds(60)
                        var round = 0
                        while ContinuousClock.now < deadline {
                            let counts = try await node.countsByState()
                            if counts[.queued, default: 0] + counts[.running, default: 0] == 0 { return }
                            round += 1
                            let claimed = try await node.claim(worker: "node\(index)", limit: 3, leaseDuration: 60, now: t0)
                            _ = try await node.heartbeat(claimed.map(\.lease), extendTo: t0.addingTimeInterval(120), now: t0)
                            for (offset, run) in claimed.enumerated() {
                                let outcome: RunOutcome = (round + offset) % 3 == 0 ? .failed("flaky") : .succeeded("ok")
                                _ = try await node.settle(run.lease, outcome: outcome, now: t0)
                            }
                            _ = try await node.rescueExpiredLeases(now: t0)
                            if claimed.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
                        }
                    }
                }
                // A person cancels tasks while the nodes work on them; only illegal moves are expected.
                group.addTask {
                    for victim in live.shuffled().prefix(20) {
                        do {
                            _ = try await nodes[2].transition(victim, .cancel, now: t0)
                        } catch let error as NightshiftError where error.code == .illegalTransition {}
                        try await Task.sleep(for: .milliseconds(3))
                    }
                }
                try await group.waitForAll()
            }
            let counts = try await nodes[0].countsByState()
            #expect(counts[.queued] == 0 && counts[.running] == 0)
            #expect(counts.values.reduce(0, +) == live.count)
            let hooks = try await nodes[0].hookEvents(after: 0, limit: 10_000)
            #expect(hooks.map(\.seq) == Array(1...Int64(hooks.count)), "hook events are gap-free")
        }
    }

    @Test("hook events written by several nodes at once are numbered once each, gap-free, and a reader following the stream meanwhile sees each once, in each task's order")
    func hookStreamUnderLoad() async throws {
        try await TestDatabase.withNodes(3) { nodes in
            try await nodes[0].saveAgent(echo)
            let perNode = 40
            let expected = nodes.count * perNode * 3  // queued, started, done
            let followed = try await withThrowingTaskGroup(of: [HookEvent].self) { group in
                for (index, node) in nodes.enumerated() {
                    group.addTask {
                        for number in 0..<perNode {
                            _ = try await node.submit(NewTask(agent: "echo", prompt: "n\(index)-\(number)"), now: t0)
                            for run in try await node.claim(worker: "node\(index)", limit: 2, leaseDuration: 60, now: t0) {
                                _ = try await node.settle(run.lease, outcome: .succeeded("ok"), now: t0)
                            }
                        }
                        while true {
                            let runs = try await node.claim(worker: "node\(index)", limit: 4, leaseDuration: 60, now: t0)
                            if runs.isEmpty { return [] }
                            for run in runs { _ = try await node.settle(run.lease, outcome: .succeeded("ok"), now: t0) }
                        }
                    }
                }
                group.addTask {
                    var seen: [HookEvent] = []
                    let deadline = ContinuousClock.now + .seconds(60)
                    while seen.count < expected, ContinuousClock.now < deadline {
                        seen += try await nodes[2].hookEvents(after: seen.last?.seq ?? 0, limit: 25)
                    }
                    return seen
                }
                return try await group.reduce(into: [HookEvent]()) { $0 += $1 }
            }
            #expect(followed.map(\.seq) == Array(1...Int64(expected)), "each seq once, none missed, none repeated")
            #expect(try await nodes[1].hookEvents(after: 0, limit: 10_000).map(\.seq) == followed.map(\.seq))
            let byTask = Dictionary(grouping: followed, by: \.taskID).mapValues { $0.map(\.type) }
            #expect(byTask.count == nodes.count * perNode)
            #expect(byTask.values.allSatisfy { $0 == ["task.queued", "task.started", "task.done"] }, "each task's moves in order")
            #expect(try await nodes[0].runTotals().invocations == nodes.count * perNode, "run totals from every node's rows")
        }
    }

    @Test("a node listening is woken when another node queues a task: on submit and on retry")
    func wakeUps() async throws {
        try await TestDatabase.withNodes(2) { nodes in
            try await nodes[0].saveAgent(echo)
            let rings = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await nodes[1].listenForWork { rings.withLock { $0.settled += 1 } } }
                // The first ring says the connection listens (and that work may have come before).
                #expect(await eventually { rings.withLock { $0.settled } == 1 })
                try await Task.sleep(for: .milliseconds(100))
                #expect(rings.withLock { $0.settled } == 1, "no ring without a notification")
                _ = try await nodes[0].submit(NewTask(agent: "echo", prompt: "t"), now: t0)
                #expect(await eventually { rings.withLock { $0.settled } == 2 }, "a submit on another node rings")
                let run = try #require(try await nodes[0].claim(worker: "w", limit: 1, leaseDuration: 60, now: t0).first)
                try await Task.sleep(for: .milliseconds(200))
                let before = rings.withLock { $0.settled }
                _ = try await nodes[0].settle(run.lease, outcome: .failed("again"), now: t0)
                #expect(await eventually { rings.withLock { $0.settled } > before }, "a retry queues the task again")
                group.cancelAll()
            }
        }
    }

    @Test("an engine runs a task queued on another node at once: woken by NOTIFY, not by its 60 s poll")
    func engineWakeUp() async throws {
        try await TestDatabase.withNodes(2) { nodes in
            try await nodes[0].saveAgent(echo)
            var logger = Logger(label: "test.engine")
            logger.logLevel = .warning
            let engine = Engine(
                store: nodes[1], runners: RunnerRegistry([BuiltinRunner(handlers: ["echo": { _, _ in .succeeded("ran") }])]),
                configuration: EngineConfiguration(nodeID: "node-b", slots: 2, pollInterval: 60), logger: logger)
            try await withServices([engine], logger: logger) {
                // The engine claims once at start, finds nothing, and then only a ring wakes it.
                try await Task.sleep(for: .milliseconds(500))
                let id = try await nodes[0].submit(NewTask(agent: "echo", prompt: "x"), now: Date()).task.id
                #expect(try await eventually(timeout: .seconds(20)) { try await nodes[0].task(id)?.state == .done })
                #expect(try await nodes[0].task(id)?.result == "ran")
            }
        }
    }

    @Test("an input accepted on node A reaches a live run on node B at once: announced by NOTIFY, not at B's 30 s heartbeat")
    func liveInputAcrossNodes() async throws {
        try await TestDatabase.withNodes(2) { nodes in
            try await nodes[0].saveAgent(Agent(name: "live", runner: .builtin, config: ["input": "live"]))
            var logger = Logger(label: "test.engine")
            logger.logLevel = .warning
            let started = Mutex<TaskID?>(nil)
            let handler: BuiltinRunner.Handler = { request, context in
                started.withLock { $0 = request.task.id }
                for await input in context.liveInputs ?? AsyncStream { $0.finish() } { return .succeeded("got \(input.text ?? "")") }
                return .failed("no input", retryable: false)
            }
            let engine = Engine(
                store: nodes[1], runners: RunnerRegistry([BuiltinRunner(handlers: ["live": handler])]),
                configuration: EngineConfiguration(nodeID: "node-b", slots: 2, heartbeatInterval: 30, pollInterval: 60), logger: logger)
            try await withServices([engine], logger: logger) {
                let id = try await nodes[0].submit(NewTask(agent: "live", prompt: "wait"), now: Date()).task.id
                #expect(try await eventually(timeout: .seconds(20)) { started.withLock { $0 } == id })
                let receipt = try await nodes[0].addInput(NewInput(kind: .message, text: "from node A", sender: "a"), to: id, now: Date(), workspace: nil)
                #expect(receipt.task.state == .running)
                #expect(try await eventually(timeout: .seconds(20)) { try await nodes[0].task(id)?.state == .done })
                #expect(try await nodes[0].task(id)?.result == "got from node A")
                #expect(try await nodes[0].inputs(of: id, workspace: nil).map(\.delivery) == [.deliveredLive])
            }
        }
    }

    @Test("an approval accepted on node A resumes a task whose Claude run node B deferred")
    func approvalAcrossNodes() async throws {
        let fake = try FakeClaude(scenario: "hooked_bash")
        defer { fake.cleanup() }
        try await TestDatabase.withNodes(2) { nodes in
            try await nodes[0].saveAgent(fake.agent("claude", ask: .onMiss))
            var logger = Logger(label: "test.engine")
            logger.logLevel = .warning
            func engine(_ node: Int) -> Engine {
                Engine(
                    store: nodes[node],
                    runners: RunnerRegistry(AgentRunners.all(
                        killGrace: .seconds(2), environment: fake.environment, nightshiftExecutable: NightshiftBinary.url.path)),
                    configuration: EngineConfiguration(nodeID: "node-\(node)", slots: 2, pollInterval: 60), logger: logger)
            }
            let id = try await nodes[0].submit(NewTask(agent: "claude", prompt: "print the probe"), now: Date()).task.id
            try await withServices([engine(1)], logger: logger) {
                let deferred = try await eventually(timeout: .seconds(10)) { try await nodes[1].task(id)?.state == .waiting }
                #expect(deferred)
            }
            #expect(try await nodes[0].runs(task: id).first?.workerID.hasPrefix("node-1") == true, "node B ran it")
            try await withServices([engine(0)], logger: logger) {
                let receipt = try await nodes[0].addInput(NewInput(kind: .approve, sender: "alice"), to: id, now: Date(), workspace: nil)
                #expect(receipt.task.state == .queued)
                #expect(try await eventually(timeout: .seconds(10)) { try await nodes[0].task(id)?.state == .done })
            }
            #expect(try await nodes[0].runs(task: id).last?.workerID.hasPrefix("node-0") == true, "node A resumed it")
            #expect(try fake.hooks().map { $0["output"]?["permissionDecision"]?.stringValue } == ["defer", "allow"])
        }
    }

    @Test("a schedule every second for 20 s with 3 engines on one database: each occurrence fires exactly once")
    func scheduleAcrossNodes() async throws {
        try await TestDatabase.withNodes(3) { nodes in
            try await nodes[0].saveAgent(Agent(name: "echo", runner: .builtin))
            var logger = Logger(label: "test.engine")
            logger.logLevel = .warning
            let engines = nodes.enumerated().map { index, store in
                Engine(
                    store: store, runners: RunnerRegistry([BuiltinRunner(handlers: ["echo": { _, _ in .succeeded("tick") }])]),
                    configuration: EngineConfiguration(nodeID: "node-\(index)", slots: 4, pollInterval: 60), logger: logger)
            }
            let schedule = try await nodes[0].createSchedule(
                NewSchedule(cron: "@every 1s", task: TaskTemplate(agent: "echo", prompt: "tick")), source: "api", now: Date())
            let started = Date()
            try await withServices(engines, logger: logger) {
                let ran = try await eventually(timeout: .seconds(40)) {
                    try await nodes[0].schedule(schedule.id, workspace: nil)?.lastRunAt.map { $0.timeIntervalSince(started) >= 20 } ?? false
                }
                #expect(ran)
            }
            var query = TaskQuery()
            query.limit = 500
            let occurrences = try await nodes[0].listTasks(query).tasks.filter { $0.scheduleID == schedule.id }.compactMap(\.scheduledFor).sorted()
            #expect(occurrences.count >= 20, "\(occurrences.count) occurrences")
            #expect(Set(occurrences).count == occurrences.count, "each occurrence exactly once")
            let gaps = zip(occurrences, occurrences.dropFirst()).map { $1.timeIntervalSince($0) }
            #expect(gaps.allSatisfy { abs($0 - 1) < 0.001 }, "none missed: \(gaps)")
        }
    }
}
