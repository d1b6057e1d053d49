import Foundation
import Logging
import Nightshift
import NightshiftRunners
import NightshiftTestSupport
import Synchronization
import Testing

/// Rate limits and usage-limit parking run by a real engine on each store. The engine's clock is
/// moved by hand and its safety-net poll is a million seconds: only the claim's report of when a
/// held-back agent opens again can wake the dispatcher in time.
@Suite("Engine: rate limits and usage-limit parking", .timeLimit(.minutes(3)))
struct EnginePacingTests {
    static let margin = 60.0

    static func engine(_ store: any TaskStore, clock: ManualClock, runners: [any AgentRunner]) -> Engine {
        Engine(
            store: store, runners: RunnerRegistry(runners),
            configuration: EngineConfiguration(
                nodeID: "node-\(UUID().uuidString.prefix(8))", slots: 4, leaseDuration: 1e7, heartbeatInterval: 1e6, rescueInterval: 1e6,
                pollInterval: 1e6, workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-pacing-\(UUID().uuidString)"),
                parking: ParkPolicy(margin: margin)),
            clock: clock, logger: Logger(label: "test"))
    }

    /// Agents `a` and `b` in quota group `shared`; `a`'s first run of the task `first` meets the
    /// usage limit (resetting an hour on), reporting session `sess-1`; every other run succeeds,
    /// saying which session it resumed.
    static func parkingRunner(reset: Date) -> BuiltinRunner {
        BuiltinRunner(handlers: [
            "a": { request, _ in
                if request.task.prompt == "first", request.run.attempt == 1 {
                    return .usageLimit("You've hit your limit · resets 3pm", resetsAt: reset, usage: RunUsage(agentSessionID: "sess-1"))
                }
                return .succeeded("resumed \(request.resume?.sessionID ?? "none")", usage: RunUsage(agentSessionID: request.resume?.sessionID))
            },
            "b": { _, _ in .succeeded("b ran") },
        ])
    }

    static func agents(parkOnLimit: Bool = true) -> [Agent] {
        [
            Agent(name: "a", runner: .builtin, retry: RetryPolicy(maxAttempts: 3, initialBackoff: 1, maxBackoff: 1), quotaGroup: "shared", parkOnLimit: parkOnLimit),
            Agent(name: "b", runner: .builtin, quotaGroup: "shared"),
        ]
    }

    @Test("a usage limit parks the run: no failure charged; the quota group's queued tasks wait; at reset + margin the task resumes its session and the others run", arguments: StoreKind.allCases)
    func parkUntilReset(kind: StoreKind) async throws {
        let store = try await kind.make()
        for agent in Self.agents() { try await store.saveAgent(agent) }
        let clock = ManualClock()
        let reset = clock.now.addingTimeInterval(3_600)
        let engine = Self.engine(store, clock: clock, runners: [Self.parkingRunner(reset: reset)])
        try await withEngine(engine) { engine in
            let first = try await engine.submit(NewTask(agent: "a", prompt: "first")).task.id
            #expect(try await eventually { try await store.runs(task: first).first?.outcome == "parked" })
            let parked = try #require(try await store.task(first))
            #expect(parked.state == .queued && parked.failures == 0)
            #expect(parked.availableAt == reset.addingTimeInterval(Self.margin))
            let second = try await engine.submit(NewTask(agent: "a", prompt: "second")).task.id
            let third = try await engine.submit(NewTask(agent: "b", prompt: "third")).task.id
            // A claim now takes none of them (the engine's own claims pass them over the same way).
            let probe = try await store.claimBatch(worker: "probe", limit: 10, leaseDuration: 60, now: clock.now)
            #expect(probe.runs.isEmpty)
            #expect(probe.nextOpening == reset.addingTimeInterval(Self.margin))
            let pacing = try await engine.agentPacing()
            #expect(pacing.map(\.parkedUntil) == [reset.addingTimeInterval(Self.margin), reset.addingTimeInterval(Self.margin)])
            #expect(try await store.state(of: second) == .queued)
            #expect(try await store.state(of: third) == .queued)
            #expect(try await EngineTests.advance(clock, by: 3_600 + Self.margin) {
                try await [first, second, third].asyncAllSatisfy { try await store.state(of: $0) == .done }
            })
            #expect(try await store.task(first)?.result == "resumed sess-1")
            #expect(try await store.task(first)?.failures == 0)
            #expect(try await store.runs(task: first).map(\.outcome) == ["parked", "succeeded"])
        }
    }

    @Test("unpark lets the quota group's queued tasks run at once", arguments: StoreKind.allCases)
    func unpark(kind: StoreKind) async throws {
        let store = try await kind.make()
        for agent in Self.agents() { try await store.saveAgent(agent) }
        let clock = ManualClock()
        let engine = Self.engine(store, clock: clock, runners: [Self.parkingRunner(reset: clock.now.addingTimeInterval(3_600))])
        try await withEngine(engine) { engine in
            let first = try await engine.submit(NewTask(agent: "a", prompt: "first")).task.id
            #expect(try await eventually { try await store.runs(task: first).first?.outcome == "parked" })
            let second = try await engine.submit(NewTask(agent: "a", prompt: "second")).task.id
            let third = try await engine.submit(NewTask(agent: "b", prompt: "third")).task.id
            #expect(try await store.claimBatch(worker: "probe", limit: 10, leaseDuration: 60, now: clock.now).runs.isEmpty)
            #expect(try await engine.unpark(agent: "b"))
            // No clock move: the unpark's own wake-up starts them.
            #expect(try await eventually {
                let (done2, done3) = (try await store.state(of: second), try await store.state(of: third))
                return done2 == .done && done3 == .done
            })
            #expect(try await store.task(second)?.result == "resumed none")
            #expect(try await store.state(of: first) == .queued, "the parked task keeps its own time")
            #expect(try await engine.agentPacing().allSatisfy { $0.parkedUntil == nil })
        }
    }

    @Test("park_on_limit = false: the run fails (retryable), and is not retried before the reset; the group is not parked", arguments: StoreKind.allCases)
    func parkingOff(kind: StoreKind) async throws {
        let store = try await kind.make()
        for agent in Self.agents(parkOnLimit: false) { try await store.saveAgent(agent) }
        let clock = ManualClock()
        let reset = clock.now.addingTimeInterval(3_600)
        let engine = Self.engine(store, clock: clock, runners: [Self.parkingRunner(reset: reset)])
        try await withEngine(engine) { engine in
            let first = try await engine.submit(NewTask(agent: "a", prompt: "first")).task.id
            #expect(try await eventually { try await store.runs(task: first).first?.outcome == "usage_limit" })
            let failed = try #require(try await store.task(first))
            #expect(failed.state == .queued && failed.failures == 1)
            #expect(failed.availableAt == reset)
            let other = try await engine.submit(NewTask(agent: "b", prompt: "other")).task.id
            #expect(try await eventually { try await store.state(of: other) == .done })
            #expect(try await EngineTests.advance(clock, by: 3_600) { try await store.state(of: first) == .done })
        }
    }

    @Test("a rate limit: tasks beyond the bucket wait, and the dispatcher wakes when the next token comes", arguments: StoreKind.allCases)
    func rateLimit(kind: StoreKind) async throws {
        let store = try await kind.make()
        try await store.saveAgent(Agent(name: "b", runner: .builtin, rate: try AgentRate(parsing: "2/1h")))
        let clock = ManualClock()
        let engine = Self.engine(store, clock: clock, runners: [Self.parkingRunner(reset: clock.now)])
        try await withEngine(engine) { engine in
            let ids = try await (0..<3).asyncMap { try await engine.submit(NewTask(agent: "b", prompt: "t\($0)")).task.id }
            #expect(try await eventually { try await ids.asyncFilter { try await store.state(of: $0) == .done }.count == 2 })
            let pacing = try #require(try await engine.agentPacing().first)
            #expect(pacing.tokens == 0)
            #expect(pacing.nextRefill.map { abs($0.timeIntervalSince(clock.now.addingTimeInterval(1_800))) < 1 } == true)
            #expect(try await ids.asyncFilter { try await store.state(of: $0) == .queued }.count == 1)
            // Half the window adds one token.
            #expect(try await EngineTests.advance(clock, by: 1_800) {
                try await ids.asyncAllSatisfy { try await store.state(of: $0) == .done }
            })
        }
    }

    @Test("the real Claude Code usage-limit capture parks the task until its reset plus the margin; the next run resumes its session; the task's channel is told started, parked (with the limit's text), started, done", arguments: StoreKind.allCases)
    func realClaudeCapture(kind: StoreKind) async throws {
        // The capture's session and reset (rate_limit_event resetsAt: 14:00 in Shanghai).
        let session = "3f6d2a9e-7b41-4c58-9e02-5d8b1c7a4e63"
        let reset = Date(timeIntervalSince1970: 1_778_565_600)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-claude-park-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // The fake replays the capture on its first run, a plain success after.
        let wrapper = directory.appendingPathComponent("claude")
        try """
            #!/usr/bin/env bash
            count=$(cat "\(directory.path)/count" 2>/dev/null || echo 0)
            echo $((count + 1)) > "\(directory.path)/count"
            if [ "$count" = 0 ]; then export FAKE_CLAUDE_SCENARIO=real_usage_limit; else export FAKE_CLAUDE_SCENARIO=success_tool_use; fi
            export FAKE_CLAUDE_RECORD_DIR="\(directory.path)"
            exec "\(EngineClaudeLiveInputTests.Fake.path)" "$@"
            """.write(to: wrapper, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper.path)
        let store = try await kind.make()
        try await store.saveAgent(Agent(name: "claude", runner: .claudeCode, config: ["executable": .string(wrapper.path)]))
        let clock = ManualClock(start: Date(timeIntervalSince1970: 1_778_547_600))
        // A channel binding for the task's origin; its sender keeps what it is given.
        _ = try await store.createWebhook(
            NewWebhook(name: "ops", url: "http://127.0.0.1:9/ops", secret: "s", channel: "ops", format: .json), source: "test", now: clock.now)
        let sender = RecordingSender()
        let engine = Engine(
            store: store, runners: RunnerRegistry(AgentRunners.all(killGrace: .milliseconds(300), environment: [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            ])),
            configuration: EngineConfiguration(
                leaseDuration: 1e7, heartbeatInterval: 1e6, rescueInterval: 1e6, pollInterval: 1e6,
                workRoot: directory.appendingPathComponent("work"), parking: ParkPolicy(margin: Self.margin)),
            clock: clock, webhookSender: sender, logger: Logger(label: "test"))
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "claude", prompt: "Summarise the repository", origin: Origin(channel: "ops"))).task.id
            #expect(try await eventually { try await store.runs(task: id).first?.outcome == "parked" })
            #expect(try await eventually { sender.bodies.count == 2 }, "\(sender.bodies)")
            let parked = sender.bodies[1]
            #expect(sender.bodies[0]["kind"] == "started" && parked["kind"] == "parked" && parked["task_id"] == .string(id.rawValue))
            #expect(parked["excerpt"]?.stringValue?.contains("You've hit your limit") == true, "\(parked)")
            let task = try #require(try await store.task(id))
            #expect(task.failures == 0)
            #expect(task.availableAt == reset.addingTimeInterval(Self.margin))
            let pacing = try #require(try await engine.agentPacing().first)
            #expect(pacing.parkReason == "claude: You've hit your limit · resets 2pm (Asia/Shanghai)")
            #expect(try await EngineTests.advance(clock, by: reset.timeIntervalSince(clock.now) + Self.margin) {
                try await store.state(of: id) == .done
            })
            let argv = try String(contentsOf: directory.appendingPathComponent("argv"), encoding: .utf8)
            #expect(argv.contains(session), "the second run resumes the parked session: \(argv)")
            #expect(try await eventually { sender.bodies.count == 4 }, "\(sender.bodies)")
            #expect(sender.bodies.map { $0["kind"]?.stringValue ?? "" } == ["started", "parked", "started", "done"])
        }
    }
}

/// A webhook sender that keeps each body it is given (as JSON) and answers 200.
final class RecordingSender: WebhookSender {
    private let kept = Mutex<[JSONValue]>([])

    /// The bodies sent, in order.
    var bodies: [JSONValue] { kept.withLock { $0 } }

    func send(_ request: WebhookRequest) async -> WebhookResponse {
        let body = (try? JSONValue(jsonText: request.body)) ?? .string(request.body)
        kept.withLock { $0.append(body) }
        return .status(200, retryAfter: nil)
    }
}

extension Sequence where Element: Sendable {
    /// The elements mapped by an async `transform`, in order.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }

    /// The elements for which an async `predicate` holds, in order.
    func asyncFilter(_ predicate: (Element) async throws -> Bool) async rethrows -> [Element] {
        var results: [Element] = []
        for element in self where try await predicate(element) { results.append(element) }
        return results
    }

    /// Whether an async `predicate` holds for every element.
    func asyncAllSatisfy(_ predicate: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where !(try await predicate(element)) { return false }
        return true
    }
}
