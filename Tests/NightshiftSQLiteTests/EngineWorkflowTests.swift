import Foundation
import Logging
import Nightshift
import NightshiftRunners
import NightshiftTestSupport
import Synchronization
import Testing

/// Durable workflows run by a real engine on every store: completed steps replay without running,
/// a changed step order fails the task naming both steps, step retries and outputs.
@Suite("Engine: workflows", .timeLimit(.minutes(1)))
struct EngineWorkflowTests {
    /// How many times each step's body ran.
    final class Counter: Sendable {
        private let counts = Mutex<[String: Int]>([:])

        func ran(_ step: String) -> Int { counts.withLock { counts in
            counts[step, default: 0] += 1
            return counts[step]!
        } }

        subscript(_ step: String) -> Int { counts.withLock { $0[step, default: 0] } }
    }

    static func engine(_ store: any TaskStore, _ registry: WorkflowRegistry, heartbeat: Double = 10) -> Engine {
        Engine(
            store: store, runners: RunnerRegistry([WorkflowRunner(registry: registry)]),
            configuration: EngineConfiguration(
                heartbeatInterval: heartbeat, pollInterval: 0.05, workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-flow-\(UUID().uuidString)")),
            logger: Logger(label: "test"))
    }

    static func agent(_ name: String, attempts: Int = 1) -> Agent {
        Agent(name: name, runner: .workflow, retry: RetryPolicy(maxAttempts: attempts, initialBackoff: 0.01, maxBackoff: 0.01))
    }

    struct Flaky: Error, CustomStringConvertible {
        var what: String
        var description: String { what }
    }

    struct Repro: Codable, Sendable, Equatable {
        var log: String
        var lines: [Int]
    }

    @Test("a retried workflow replays its completed steps with their recorded outputs and runs the first one not recorded", arguments: StoreKind.allCases)
    func replay(kind: StoreKind) async throws {
        let store = try await kind.make().with(Self.agent("fix", attempts: 2))
        let counter = Counter()
        let registry = WorkflowRegistry()
        try registry.register("fix") { flow in
            let repro = try await flow.step("reproduce") {
                _ = counter.ran("reproduce")
                return Repro(log: "boom in \(flow.input)", lines: [3, 4])
            }
            let patch = try await flow.step("fix") {
                _ = counter.ran("fix")
                return "patch for \(repro.log)"
            }
            // The first run dies between steps (a retryable failure); the retry goes on.
            if flow.run.attempt == 1 { throw Flaky(what: "the node went away") }
            let passed = try await flow.step("test") {
                _ = counter.ran("test")
                return repro.lines.count
            }
            return "\(patch); \(passed) tests"
        }
        try await withEngine(Self.engine(store, registry)) { engine in
            let id = try await engine.submit(NewTask(agent: "fix", prompt: "parser.swift")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(counter["reproduce"] == 1 && counter["fix"] == 1 && counter["test"] == 1, "no completed step ran twice")
            #expect(try await store.task(id)?.result == "patch for boom in parser.swift; 2 tests")
            let steps = try await store.steps(task: id).recorded
            #expect(steps.map(\.name) == ["reproduce", "fix", "test"])
            #expect(steps.map(\.state) == [.completed, .completed, .completed])
            #expect(steps[0].output == ["log": "boom in parser.swift", "lines": [3, 4]])
            let runs = try await store.runs(task: id)
            #expect(runs.count == 2 && steps[0].runID == runs[0].id && steps[2].runID == runs[1].id)
            let types = try await store.events(task: id, after: 0, limit: 200).map(\.type).filter { $0.hasPrefix("step_") }
            #expect(types == ["step_started", "step_completed", "step_started", "step_completed", "step_started", "step_completed"])
        }
    }

    @Test("a step that outlives its timeout is cut off and tried again on its policy; one within it returns; the last timeout fails the task", arguments: StoreKind.allCases)
    func stepTimeout(kind: StoreKind) async throws {
        let store = try await kind.make().with(Self.agent("slow"))
        let counter = Counter()
        let registry = WorkflowRegistry()
        try registry.register("slow") { flow in
            let quick = try await flow.step("quick", timeout: .seconds(30)) { "in time" }
            _ = try await flow.step("hang", retry: StepRetry(maxAttempts: 2, initialBackoff: 0.01), timeout: .milliseconds(100)) { () async throws -> Int in
                _ = counter.ran("hang")
                // Cancelled by the timeout; 60 s would outlast the test.
                try await Task.sleep(for: .seconds(60))
                return 1
            }
            return quick
        }
        try await withEngine(Self.engine(store, registry)) { engine in
            let id = try await engine.submit(NewTask(agent: "slow", prompt: "x")).task.id
            #expect(try await eventually { try await store.state(of: id) == .error })
            #expect(counter["hang"] == 2, "tried on its policy")
            let steps = try await store.steps(task: id).recorded
            #expect(steps.map(\.name) == ["quick", "hang"] && steps.map(\.state) == [.completed, .failed])
            #expect(steps[0].output == "in time" && steps[1].attempts == 2)
            #expect(steps[1].error == "timed out after 0.1 seconds", "\(steps[1])")
            #expect(try await store.task(id)?.error == "step 'hang' failed: timed out after 0.1 seconds")
        }
    }

    @Test("a step reached where another was recorded fails the task naming both; a step retries on its own policy and its last failure fails the task", arguments: StoreKind.allCases)
    func determinismAndRetries(kind: StoreKind) async throws {
        let store = try await kind.make().with(Self.agent("drift", attempts: 2), Self.agent("flaky"), Self.agent("nan"))
        let counter = Counter()
        let registry = WorkflowRegistry()
        try registry.register("drift") { flow in
            _ = try await flow.step(flow.run.attempt == 1 ? "plan" : "replan") { 1 }
            if flow.run.attempt == 1 { throw Flaky(what: "lost") }
            return nil
        }
        try registry.register("flaky") { flow in
            let value = try await flow.step("fetch", retry: StepRetry(maxAttempts: 3, initialBackoff: 0.01)) {
                if counter.ran("fetch") < 3 { throw Flaky(what: "timed out") }
                return "fetched"
            }
            _ = try await flow.step("always", retry: StepRetry(maxAttempts: 2, initialBackoff: 0.01)) { () throws -> Int in
                _ = counter.ran("always")
                throw Flaky(what: "502")
            }
            return value
        }
        try registry.register("nan") { flow in
            _ = try await flow.step("ratio") { Double.nan }
            return nil
        }
        try await withEngine(Self.engine(store, registry)) { engine in
            let drift = try await engine.submit(NewTask(agent: "drift", prompt: "x")).task.id
            let flaky = try await engine.submit(NewTask(agent: "flaky", prompt: "x")).task.id
            let nan = try await engine.submit(NewTask(agent: "nan", prompt: "x")).task.id
            for id in [drift, flaky, nan] { #expect(try await eventually { try await store.state(of: id) == .error }) }
            #expect(try await store.task(drift)?.error == "workflow is not deterministic: step 0 was 'plan' when recorded, now 'replan'")
            #expect(counter["fetch"] == 3 && counter["always"] == 2)
            let flakySteps = try await store.steps(task: flaky).recorded
            #expect(flakySteps.map(\.state) == [.completed, .failed] && flakySteps.map(\.attempts) == [3, 2])
            #expect(try await store.task(flaky)?.error?.hasPrefix("step 'always' failed:") == true)
            let retries = try await store.events(task: flaky, after: 0, limit: 200).filter { $0.type == "step_retrying" }
            #expect(retries.count == 3, "two before fetch succeeded, one before always's last attempt")
            let nanError = try #require(try await store.task(nan)?.error)
            #expect(nanError.contains("step 'ratio'") && nanError.contains("Double"), "\(nanError)")
            #expect(try await store.runs(task: nan).count == 1, "an output that cannot be recorded is not retried")
        }
        // A second registration of a name fails naming both places.
        let twice = #expect(throws: NightshiftError.self) { try registry.register("fix") { _ in nil }; try registry.register("fix") { _ in nil } }
        #expect(twice?.field == "name" && twice?.message.contains("EngineWorkflowTests.swift") == true, "\(String(describing: twice))")
    }

    @Test("a durable sleep and a wait for input hold no worker: the task waits, then goes on from there with the input recorded as the step's output", arguments: StoreKind.allCases)
    func sleepAndInput(kind: StoreKind) async throws {
        let store = try await kind.make().with(Self.agent("review"))
        let counter = Counter()
        let registry = WorkflowRegistry()
        try registry.register("review") { flow in
            let draft = try await flow.step("draft") {
                _ = counter.ran("draft")
                return "draft of \(flow.input)"
            }
            try await flow.sleep(for: .seconds(2))
            let answer = try await flow.waitForInput("Which branch?")
            return try await flow.step("publish") { "\(draft) on \(answer.text ?? "?") (\(answer.kind) by \(answer.sender))" }
        }
        try await withEngine(Self.engine(store, registry)) { engine in
            let id = try await engine.submit(NewTask(agent: "review", prompt: "the notes")).task.id
            // After the sleep, waiting for a person, with the question.
            #expect(try await eventually { try await store.task(id)?.waitingFor?.kind == .input })
            #expect(try await store.task(id)?.waitingFor?.question == "Which branch?")
            _ = try await engine.addInput(NewInput(kind: .answer, text: "main", sender: "ana"), to: id)
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try await store.task(id)?.result == "draft of the notes on main (answer by ana)")
            #expect(counter["draft"] == 1, "the first step ran once over three runs")
            let steps = try await store.steps(task: id).recorded
            #expect(steps.map(\.name) == ["draft", "sleep", "input", "publish"])
            #expect(steps[2].output == ["kind": "answer", "text": "main", "sender": "ana"])
            let runs = try await store.runs(task: id)
            #expect(runs.map { $0.outcome ?? "-" } == ["waiting", "waiting", "succeeded"], "\(runs.map { ($0.outcome, $0.error) })")
            // No worker was held while it slept: the first run had ended when the next began, and
            // the next began no sooner than the wake time the first recorded (a loaded machine may
            // end the first run after that time, so that is not asserted).
            let wake = try #require(steps[1].output?.doubleValue)
            #expect(try #require(runs[0].finishedAt) <= runs[1].startedAt && runs[1].startedAt.timeIntervalSince1970 >= wake)
        }
    }

    @Test("an agent step runs as a child task the workflow waits for, holding no worker; its result is the step's output; a child that fails fails the step", arguments: StoreKind.allCases)
    func agentSteps(kind: StoreKind) async throws {
        let store = try await kind.make().with(
            Self.agent("ship"), Self.agent("broken"),
            Agent(name: "shell", runner: .command, config: ["command": ["/bin/sh", "-c", #"read line; echo "{\"type\":\"result\",\"text\":\"built $line\"}""#]]),
            Agent(name: "fails", runner: .command, config: ["command": ["/bin/sh", "-c", "echo nope >&2; exit 3"]], retry: RetryPolicy(maxAttempts: 1)))
        let counter = Counter()
        let registry = WorkflowRegistry()
        try registry.register("ship") { flow in
            let built = try await flow.agent("shell", prompt: "v\(flow.input)", name: "build")
            return try await flow.step("announce") {
                _ = counter.ran("announce")
                return "shipped: \(built.result ?? "-")"
            }
        }
        try registry.register("broken") { flow in
            _ = try await flow.agent("fails", prompt: "x", name: "compile")
            return "unreachable"
        }
        let engine = Engine(
            store: store, runners: RunnerRegistry([WorkflowRunner(registry: registry), CommandRunner(killGrace: .milliseconds(300))]),
            configuration: EngineConfiguration(
                pollInterval: 0.05, workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-flow-\(UUID().uuidString)")),
            logger: Logger(label: "test"))
        try await withEngine(engine) { engine in
            let id = try await engine.submit(NewTask(agent: "ship", prompt: "2")).task.id
            let broken = try await engine.submit(NewTask(agent: "broken", prompt: "x")).task.id
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try await store.task(id)?.result == "shipped: built v2")
            let children = try await store.children(of: id, workspace: nil)
            #expect(children.count == 1 && children[0].agent == "shell" && children[0].labels == ["nightshift.step.0"])
            let steps = try await store.steps(task: id).recorded
            #expect(steps.map(\.name) == ["build", "announce"])
            #expect(steps[0].output?["task_id"] == .string(children[0].id.rawValue) && steps[0].output?["result"] == "built v2")
            #expect(counter["announce"] == 1)
            #expect(try await store.runs(task: id).count == 2, "one run spawned the child and waited; the next went on")
            #expect(try await eventually { try await store.state(of: broken) == .error })
            let error = try #require(try await store.task(broken)?.error)
            #expect(error.hasPrefix("step 'compile' failed: agent fails (task ") && error.contains("ended error"), "\(error)")
        }
    }

    @Test("a task of a workflow no node has registered waits, saying so, and a node that registers it takes it on as it starts", arguments: StoreKind.allCases)
    func unregistered(kind: StoreKind) async throws {
        let store = try await kind.make().with(Self.agent("later"))
        // Tried again only after 10 minutes: only the node that registers it, as it starts, takes it on sooner.
        let unaware = Engine(
            store: store, runners: RunnerRegistry([WorkflowRunner(registry: WorkflowRegistry(), unregisteredRetry: 600)]),
            configuration: EngineConfiguration(
                nodeID: "unaware", pollInterval: 0.05, workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-flow-\(UUID().uuidString)")),
            logger: Logger(label: "test"))
        let id = try await withEngine(unaware) { engine async throws -> TaskID in
            let id = try await engine.submit(NewTask(agent: "later", prompt: "x")).task.id
            #expect(try await eventually { try await store.task(id)?.waitingFor?.question == "workflow later not registered on any node" })
            #expect(try await store.task(id)?.failures == 0, "not a failure")
            return id
        }
        let registry = WorkflowRegistry()
        try registry.register("later") { flow in try await flow.step("only") { "done by the node that knows it" } }
        try await withEngine(Self.engine(store, registry)) { _ async throws in
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try await store.task(id)?.result == "done by the node that knows it")
        }
    }

    @Test(
        "a pause takes effect between steps: the step under way completes and the next does not start; resume replays the steps done and goes on; the log says paused, checkpointed and resumed",
        arguments: StoreKind.allCases, [true, false])
    func pauseBetweenSteps(kind: StoreKind, here: Bool) async throws {
        let store = try await kind.make().with(Self.agent("long"))
        let counter = Counter()
        let (started, startedSignal) = AsyncStream.makeStream(of: Void.self)
        let (proceed, proceedSignal) = AsyncStream.makeStream(of: Void.self)
        let registry = WorkflowRegistry()
        try registry.register("long", steps: ["plan", "build", "test"]) { flow in
            _ = try await flow.step("plan") { counter.ran("plan") }
            _ = try await flow.step("build") { () async -> Int in
                startedSignal.yield()
                for await _ in proceed { break }
                // Ends once the run has heard of the pause: through another node, at a heartbeat.
                #expect(await eventually { flow.pauseRequested })
                return counter.ran("build")
            }
            _ = try await flow.step("test") { counter.ran("test") }
            return "shipped"
        }
        // Asked through another node (the store), the run hears it at its node's next heartbeat.
        try await withEngine(Self.engine(store, registry, heartbeat: 0.1)) { engine in
            let id = try await engine.submit(NewTask(agent: "long", prompt: "x")).task.id
            for await _ in started { break }
            let asked = here ? try await engine.transition(id, .pause) : try await store.transition(id, .pause, now: Date())
            #expect(asked.state == .running, "the step under way goes on")
            #expect(try await store.events(task: id, after: 0, limit: 100).contains { $0.type == "pause_requested" })
            proceedSignal.yield()
            #expect(try await eventually { try await store.state(of: id) == .paused })
            #expect(counter["build"] == 1 && counter["test"] == 0, "the next step did not start")
            var steps = try await store.steps(task: id)
            #expect(steps.recorded.map(\.name) == ["plan", "build"] && steps.declared == ["plan", "build", "test"])
            #expect(steps.progress == 2.0 / 3)
            let events = try await store.events(task: id, after: 0, limit: 200)
            let paused = try #require(events.first { $0.type == "paused" })
            #expect(paused.data["before"] == "test" && paused.data["position"] == 2)
            let checkpoint = try #require(events.first { $0.type == "checkpointed" })
            #expect(checkpoint.data["position"] == 2 && checkpoint.data["declared"] == 3 && checkpoint.data["progress"]?.doubleValue == 0.667)
            #expect(try await store.runs(task: id).map(\.outcome) == ["paused"])
            _ = try await engine.transition(id, .resume)
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(counter["plan"] == 1 && counter["build"] == 1 && counter["test"] == 1, "the steps done replayed")
            steps = try await store.steps(task: id)
            #expect(steps.recorded.map(\.state) == [.completed, .completed, .completed] && steps.progress == 1)
            let resumed = try await store.events(task: id, after: 0, limit: 200).first { $0.type == "resumed" }
            #expect(resumed?.data["position"] == 2)
        }
    }

    @Test("a cancel stops the step under way and marks it and the declared steps after it skipped", arguments: StoreKind.allCases)
    func cancelSkipsTheRest(kind: StoreKind) async throws {
        let store = try await kind.make().with(Self.agent("doomed"))
        let (started, startedSignal) = AsyncStream.makeStream(of: Void.self)
        let (stopped, stoppedSignal) = AsyncStream.makeStream(of: Void.self)
        let registry = WorkflowRegistry()
        try registry.register("doomed", steps: ["fetch", "hang", "report"]) { flow in
            _ = try await flow.step("fetch") { 1 }
            _ = try await flow.step("hang") { () async throws -> Int in
                startedSignal.yield()
                do { try await Task.sleep(for: .seconds(60)) } catch {
                    stoppedSignal.yield()
                    throw error
                }
                return 2
            }
            _ = try await flow.step("report") { 3 }
            return nil
        }
        try await withEngine(Self.engine(store, registry)) { engine in
            let id = try await engine.submit(NewTask(agent: "doomed", prompt: "x")).task.id
            for await _ in started { break }
            #expect(try await engine.transition(id, .cancel).state == .cancelled)
            for await _ in stopped { break }
            let steps = try await store.steps(task: id)
            #expect(steps.recorded.map(\.name) == ["fetch", "hang", "report"])
            #expect(steps.recorded.map(\.state) == [.completed, .skipped, .skipped])
            #expect(steps.recorded[2].error == "task cancelled" && steps.pending.isEmpty)
        }
    }

    @Test("a TOML command step's output is its result; one past its timeout is cut off, its process killed, and fails the task naming the timeout")
    func commandSteps() async throws {
        let store = try await StoreKind.sqlite.make().with(Self.agent("count"), Self.agent("hang"))
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("ns-step-\(UUID().uuidString).pid")
        let registry = WorkflowRegistry()
        for spec in [
            WorkflowSpec(name: "count", steps: [
                WorkflowSpec.Step(name: "words", command: ["/bin/sh", "-c", "printf '%s' \"$1\" | wc -w | tr -d ' '", "sh", "{{input}}"]),
                WorkflowSpec.Step(name: "say", command: ["/bin/echo", "words:", "{{steps.words.result}}"]),
            ]),
            WorkflowSpec(name: "hang", steps: [
                WorkflowSpec.Step(name: "wait", command: ["/bin/sh", "-c", "echo $$ > \(pidFile.path); exec sleep 60"], timeout: 0.5),
            ]),
        ] {
            try registry.register(spec.name, steps: spec.steps.map(\.name), spec.body(runCommand: CommandStep.run))
        }
        try await withEngine(Self.engine(store, registry)) { engine in
            let counted = try await engine.submit(NewTask(agent: "count", prompt: "one two three")).task.id
            let hung = try await engine.submit(NewTask(agent: "hang", prompt: "x")).task.id
            #expect(try await eventually { try await store.state(of: counted) == .done })
            #expect(try await store.task(counted)?.result == "words: 3")
            #expect(try await eventually { try await store.state(of: hung) == .error })
            #expect(try await store.task(hung)?.error == "step 'wait' failed: timed out after 0.5 seconds")
            let pid = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(await eventually { kill(pid, 0) != 0 }, "the step's process is gone")
        }
    }

    @Test("a person's wake ends a workflow's durable sleep early; the workflow goes on past it", arguments: StoreKind.allCases)
    func wakeEndsSleep(kind: StoreKind) async throws {
        let store = try await kind.make().with(Self.agent("nap"))
        let registry = WorkflowRegistry()
        try registry.register("nap") { flow in
            try await flow.sleep(for: .seconds(3600))
            return try await flow.step("after") { "awake" }
        }
        try await withEngine(Self.engine(store, registry)) { engine in
            let id = try await engine.submit(NewTask(agent: "nap", prompt: "x")).task.id
            #expect(try await eventually { try await store.task(id)?.waitingFor?.kind == .wake })
            _ = try await engine.transition(id, .wake)
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try await store.task(id)?.result == "awake")
            #expect(try await store.steps(task: id).recorded.map(\.name) == ["sleep", "after"])
        }
    }
}
