import Foundation
import Nightshift
import NightshiftSQLite
import NightshiftTestSupport
import Synchronization
import Testing

/// An agent-process-like runner (it gets a working and a checkpoint directory) run by a closure.
struct ScriptedRunner: AgentRunner {
    /// Whether it stands for an agent CLI (a retry without a session gets the hint in its prompt).
    var takesContinuationPrompt = true
    let body: @Sendable (RunRequest, RunContext) async throws -> RunOutcome
    var kind: RunnerKind { "scripted" }
    func run(_ request: RunRequest, context: RunContext) async throws -> RunOutcome { try await body(request, context) }
}

@Suite("Engine: budgets, resume, memories and checkpoints")
struct EngineSessionTests {
    static let fastRetry = RetryPolicy(maxAttempts: 5, initialBackoff: 0.02, maxBackoff: 0.02)

    static func engine(_ store: SQLiteTaskStore, runners: [any AgentRunner]) -> Engine {
        Engine(
            store: store, runners: RunnerRegistry(runners),
            configuration: EngineConfiguration(
                nodeID: "node-test", slots: 2, rescueInterval: 0.1, pollInterval: 60,
                workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-work-\(UUID().uuidString)")))
    }

    @Test("a task that reaches its budget ends in error 'budget exceeded' without further retries; costs add up")
    func taskBudget() async throws {
        let store = try await makeStore(Agent(name: "spender", runner: .builtin, retry: Self.fastRetry))
        let seen = Mutex<[Double?]>([])
        let engine = Self.engine(store, runners: [BuiltinRunner(handlers: ["spender": { request, _ in
            seen.withLock { $0.append(request.remainingBudgetUSD) }
            return .failed("flaky", retryable: true, usage: RunUsage(costUSD: 0.3))
        }])])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "spender", prompt: "x", budgetUSD: 0.5)).task.id
            #expect(try await eventually { try await store.state(of: id) == .error })
            let task = try #require(try await store.task(id))
            #expect(task.error?.hasPrefix("budget exceeded") == true, "\(task.error ?? "")")
            #expect(abs(task.costUSD - 0.6) < 1e-9)
            #expect(try await store.runs(task: id).count == 2, "max_attempts is 5, but the budget stops it after 2")
            #expect(try await store.agent(named: "spender")?.spentUSD ?? 0 > 0.59)
        }
        let remaining = seen.withLock { $0 }
        #expect(remaining.count == 2 && abs((remaining[0] ?? 0) - 0.5) < 1e-9 && abs((remaining[1] ?? 0) - 0.2) < 1e-9)
    }

    @Test("an agent whose budget is spent refuses submits, and its queued tasks fail without running")
    func agentBudget() async throws {
        // Concurrency 1: the second task can be claimed only once the first run's settle (and its
        // cost) committed, however slow the machine.
        let store = try await makeStore(Agent(name: "capped", runner: .builtin, concurrency: 1, budgetUSD: 1.0))
        let runs = Counter()
        let gate = Mutex(false)
        let engine = Self.engine(store, runners: [BuiltinRunner(handlers: ["capped": { request, _ in
            runs.enter(); runs.leave()
            // The first run waits until the second task is queued behind it.
            _ = await eventually(timeout: .seconds(20)) { gate.withLock { $0 } }
            return .succeeded("ok", usage: RunUsage(costUSD: 1.2))
        }])])
        try await withEngine(engine) { engine in
            let first = try await engine.submit(NewTask(agent: "capped", prompt: "a")).task.id
            #expect(try await eventually { try await store.state(of: first) == .running })
            let second = try await engine.submit(NewTask(agent: "capped", prompt: "b")).task.id
            gate.withLock { $0 = true }
            #expect(try await eventually { try await store.state(of: first) == .done })
            #expect(try await eventually { try await store.state(of: second) == .error })
            #expect(try await store.task(second)?.error?.contains("budget exceeded: agent capped has spent") == true)
            #expect(runs.total == 1, "the queued task never reached its runner")
            let refused = await #expect(throws: NightshiftError.self) {
                try await engine.submit(NewTask(agent: "capped", prompt: "c"))
            }
            #expect(refused?.code == .budgetExceeded)
            #expect(refused?.message.contains("budget exceeded") == true)
        }
    }

    @Test("a retry resumes the session the failed attempt reported, with a continuation prompt and the checkpoint hint")
    func resume() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: "scripted", retry: Self.fastRetry))
        let requests = Mutex<[RunRequest]>([])
        let engine = Self.engine(store, runners: [ScriptedRunner { request, context in
            requests.withLock { $0.append(request) }
            if request.run.attempt == 1 {
                context.emit("session", ["session_id": "sess-1", "model": "m"])
                context.emit("checkpoint", ["schema_version": 1, "phase": "editing", "resume_hint": "tests in Foo still fail"])
                return .failed("connection reset", retryable: true)
            }
            return .succeeded("done", usage: RunUsage(agentSessionID: request.resume?.sessionID))
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "agent", prompt: "fix the tests")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try await store.runs(task: id).map(\.agentSessionID) == ["sess-1", "sess-1"])
            // The task is done: its checkpoints are resolved (just after the settle commits).
            #expect(try await eventually { try await store.checkpoints(CheckpointQuery(status: .active, taskID: id)).isEmpty })
            let all = try await store.checkpoints(CheckpointQuery(taskID: id))
            #expect(all.count == 3, "the agent's line and one automatic checkpoint per run")
        }
        let seen = requests.withLock { $0 }
        try #require(seen.count == 2)
        #expect(seen[0].resume == nil)
        let resume = try #require(seen[1].resume)
        #expect(resume.sessionID == "sess-1" && resume.fromAttempt == 1)
        #expect(resume.hint == "tests in Foo still fail")
        #expect(resume.previousError == "connection reset")
        #expect(resume.continuationPrompt.contains("tests in Foo still fail"))
        #expect(seen[1].checkpointDirectory != nil)
    }

    @Test("a session that could not be resumed is not tried again: the next attempt starts afresh with the hint")
    func deadSession() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: "scripted", retry: Self.fastRetry))
        let requests = Mutex<[RunRequest]>([])
        let engine = Self.engine(store, runners: [ScriptedRunner { request, context in
            requests.withLock { $0.append(request) }
            switch request.run.attempt {
            case 1:
                context.emit("session", ["session_id": "sess-1", "model": "m"])
                context.emit("checkpoint", ["schema_version": 1, "phase": "editing", "resume_hint": "start in Foo"])
                return .failed("connection reset", retryable: true)
            case 2:
                // What Claude Code prints when the session is gone; no session is reported.
                return .failed("No conversation found with session ID: \(request.resume?.sessionID ?? "")", retryable: true)
            default:
                context.emit("session", ["session_id": "sess-3", "model": "m"])
                return .succeeded("done")
            }
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "agent", prompt: "fix the tests")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try await store.runs(task: id).map(\.agentSessionID) == ["sess-1", nil, "sess-3"])
        }
        let seen = requests.withLock { $0 }
        try #require(seen.count == 3)
        #expect(seen[1].resume?.sessionID == "sess-1", "the first retry resumes the session")
        #expect(seen[2].resume == nil, "the dead session is not resumed a second time")
        #expect(seen[2].prompt.hasPrefix("fix the tests"))
        #expect(seen[2].prompt.contains("Resume hint from its last checkpoint: start in Foo"))
        #expect(seen[2].resumeHint == "start in Foo")
        #expect(seen[2].previousError?.hasPrefix("No conversation found") == true)
    }

    @Test("a runner whose prompt is a program gets it unchanged on a retry, with the resume facts beside it")
    func programPromptUnchanged() async throws {
        let store = try await makeStore(Agent(name: "script", runner: "scripted", retry: Self.fastRetry))
        let requests = Mutex<[RunRequest]>([])
        let engine = Self.engine(store, runners: [ScriptedRunner(takesContinuationPrompt: false) { request, context in
            requests.withLock { $0.append(request) }
            guard request.run.attempt > 1 else {
                context.emit("checkpoint", ["schema_version": 1, "phase": "half", "resume_hint": "skip step 1"])
                return .failed("flaky (exit 1)", retryable: true)
            }
            return .succeeded("ok")
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "script", prompt: "f() { echo hi; }; f")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
        }
        let seen = requests.withLock { $0 }
        try #require(seen.count == 2)
        #expect(seen[1].prompt == "f() { echo hi; }; f", "nothing appended to a program")
        #expect(seen[1].resumeHint == "skip step 1")
        #expect(seen[1].previousError == "flaky (exit 1)")
        #expect(seen[0].previousError == nil && seen[0].resumeHint == nil)
    }

    @Test("a session id is recorded while the run goes on, so a lost worker's retry can resume it")
    func sessionRecordedEarly() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: .builtin))
        let now = Date()
        let id = try await store.submit(NewTask(agent: "agent", prompt: "x"), now: now).task.id
        let claimed = try #require(try await store.claim(worker: "w1", limit: 1, leaseDuration: 1, now: now).first)
        #expect(try await store.appendRunWrite(RunWrite(lease: claimed.lease, sessionID: "sess-early")))
        #expect(try await store.rescueExpiredLeases(now: now.addingTimeInterval(5)).taskIDs == [id])
        let runs = try await store.runs(task: id)
        #expect(runs.map(\.agentSessionID) == ["sess-early"])
        #expect(runs.first?.outcome == "lost")
    }

    @Test("an agent with inject_memories gets its memories before the prompt")
    func memories() async throws {
        let store = try await makeStore(
            Agent(name: "rememberer", runner: .builtin, injectMemories: true), Agent(name: "forgetter", runner: .builtin))
        _ = try await store.setMemory(workspace: "default", agent: "rememberer", key: "style", summary: "tabs, not spaces", expectedVersion: nil, now: Date())
        _ = try await store.setMemory(workspace: "default", agent: "forgetter", key: "style", summary: "spaces", expectedVersion: nil, now: Date())
        let prompts = Mutex<[String: String]>([:])
        let handler: BuiltinRunner.Handler = { request, _ in
            prompts.withLock { $0[request.agent.name] = request.prompt }
            return .succeeded(nil)
        }
        let engine = Self.engine(store, runners: [BuiltinRunner(handlers: ["rememberer": handler, "forgetter": handler])])
        try await withEngine(engine) { engine in
            let a = try await engine.submit(NewTask(agent: "rememberer", prompt: "write code")).task.id
            let b = try await engine.submit(NewTask(agent: "forgetter", prompt: "write code")).task.id
            #expect(try await eventually { try await store.state(of: a) == .done })
            #expect(try await eventually { try await store.state(of: b) == .done })
        }
        let seen = prompts.withLock { $0 }
        #expect(seen["rememberer"]?.contains("- style: tabs, not spaces") == true)
        #expect(seen["rememberer"]?.hasSuffix("write code") == true)
        #expect(seen["forgetter"] == "write code")
    }

    @Test("checkpoint files are stored, unparseable ones quarantined and listed; runs with a session record their own; the task's end resolves them all")
    func checkpointFiles() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: "scripted", retry: Self.fastRetry))
        let engine = Self.engine(store, runners: [ScriptedRunner { request, context in
            guard request.run.attempt == 1 else { return .failed("second", retryable: false) }
            context.emit("session", ["session_id": "sess-1", "model": "m"])
            context.emit("checkpoint", ["schema_version": 2, "phase": "from the future"])
            let directory = try #require(request.checkpointDirectory)
            try #"{"schema_version":1,"phase":"planning","progress":{"decisions":["use GRDB"]},"resume_hint":"start with the schema"}"#
                .write(to: directory.appendingPathComponent("plan.json"), atomically: true, encoding: .utf8)
            try "{ not json".write(to: directory.appendingPathComponent("broken.json"), atomically: true, encoding: .utf8)
            try #"{"schema_version":2,"phase":"x"}"#.write(to: directory.appendingPathComponent("future.json"), atomically: true, encoding: .utf8)
            return .failed("stopped", retryable: true)
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "agent", prompt: "plan")).task.id
            #expect(try await eventually { try await store.state(of: id) == .error })
            #expect(try await eventually { try await store.checkpoints(CheckpointQuery(taskID: id)).allSatisfy { $0.status == .resolved } })
            let checkpoints = try await store.checkpoints(CheckpointQuery(taskID: id))
            // Attempt 2 reported no session: it records no checkpoint of its own.
            #expect(checkpoints.map(\.phase).sorted() == ["attempt 1 failed", "planning"])
            let automatic = try #require(checkpoints.first { $0.phase == "attempt 1 failed" })
            #expect(automatic.resumeHint == "start with the schema", "the run's checkpoint carries the agent's latest hint")
            #expect(automatic.progress.decisions == ["use GRDB"])
            let quarantined = try await store.quarantinedCheckpoints(limit: 10)
            #expect(Set(quarantined.map(\.fileName)) == ["broken.json", "future.json"])
            #expect(quarantined.first { $0.fileName == "future.json" }?.error.contains("schema_version") == true)
            #expect(quarantined.allSatisfy { FileManager.default.fileExists(atPath: $0.quarantinedPath) })
            let logs = try await store.events(task: id, after: 0, limit: 100).filter { $0.type == "log" }
            #expect(logs.count == 3, "each quarantined file and the rejected line are logged on the task")
            let rejected = logs.compactMap { $0.data["message"]?.stringValue }.filter { $0.hasPrefix("checkpoint line rejected") }
            #expect(rejected.count == 1 && rejected[0].contains("schema_version"), "\(rejected)")
        }
    }

    @Test("a later run's checkpoint carries its own end, not an earlier run's; a task cancelled before it ran leaves none active")
    func latestHint() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: "scripted", retry: Self.fastRetry))
        let engine = Self.engine(store, runners: [ScriptedRunner { request, context in
            context.emit("session", ["session_id": .string("sess-\(request.run.attempt)"), "model": "m"])
            return request.run.attempt < 3 ? .failed("failure \(request.run.attempt)", retryable: true) : .succeeded("ok")
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "agent", prompt: "x")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
            let checkpoints = try await store.checkpoints(CheckpointQuery(taskID: id))
            #expect(checkpoints.first { $0.phase == "attempt 1 failed" }?.resumeHint == "Attempt 1 ended (failed): failure 1")
            #expect(checkpoints.first { $0.phase == "attempt 2 failed" }?.resumeHint == "Attempt 2 ended (failed): failure 2")

            let paused = try await engine.submit(NewTask(agent: "agent", prompt: "later", availableAt: Date().addingTimeInterval(3600))).task.id
            _ = try await store.saveCheckpoint(SessionCheckpoint(
                agent: "agent", sessionID: "s", taskID: paused, phase: "planned", status: .active, createdAt: Date(),
                resumeHint: "begin here"))
            _ = try await engine.transition(paused, .cancel)
            #expect(try await store.checkpoints(CheckpointQuery(taskID: paused)).map(\.status) == [.resolved])
        }
    }

    @Test("a run whose agent could not get descriptors is an interruption, not a failure")
    func outOfDescriptors() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: "scripted", retry: RetryPolicy(maxAttempts: 1)))
        let engine = Self.engine(store, runners: [ScriptedRunner { request, _ in
            guard request.run.attempt > 1 else { throw POSIXError(.EMFILE) }
            return .succeeded("ok")
        }])
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "agent", prompt: "x")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
            let task = try #require(try await store.task(id))
            #expect(task.failures == 0 && task.interruptions == 1)
            #expect(try await store.runs(task: id).map(\.outcome) == ["interrupted", "succeeded"])
        }
    }
}
