import Foundation
import Logging
import Nightshift
import NightshiftRunners
import NightshiftTestSupport
import Testing

/// `ask = "on-miss"` end to end on each store: the engine runs the fake Claude Code CLI, whose
/// `PreToolUse` hook is the real `nightshift hook pre-tool-use`; people decide through the inbox.
@Suite("Approval bridge: Claude Code deferred tool calls")
struct ApprovalBridgeTests {
    static func engine(_ store: any TaskStore, _ fake: FakeClaude) -> Engine {
        var logger = Logger(label: "test.engine")
        logger.logLevel = .warning
        return Engine(
            store: store,
            runners: RunnerRegistry(AgentRunners.all(
                killGrace: .seconds(2), environment: fake.environment, nightshiftExecutable: NightshiftBinary.url.path)),
            configuration: EngineConfiguration(
                nodeID: "node-test", slots: 2, rescueInterval: 0.2, pollInterval: 60,
                workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-work-\(UUID().uuidString)")),
            logger: logger)
    }

    @Test("a call outside the allowlist waits for an approval showing it; approve resumes the session and the call runs", arguments: StoreKind.allCases)
    func approve(kind: StoreKind) async throws {
        let fake = try FakeClaude(scenario: "hooked_bash")
        defer { fake.cleanup() }
        let store = try await kind.make()
        try await store.saveAgent(fake.agent("claude", ask: .onMiss, extra: ["allowed_tools": ["Read"]]))
        try await withEngine(Self.engine(store, fake)) { engine in
            let id = try await engine.submit(NewTask(agent: "claude", prompt: "print the probe")).task.id
            #expect(try await eventually { try await store.state(of: id) == .waiting })
            let waiting = try #require(try await store.task(id))
            #expect(waiting.waitingFor?.kind == .approval)
            #expect(waiting.waitingFor?.tool == "Bash")
            #expect(waiting.waitingFor?.toolInput == ["command": "echo realmkeeper-defer-probe"])
            #expect(waiting.waitingFor?.toolUseID == "toolu_01AYmzQsLpv4eaMXPvmWem35")
            let beside = try await engine.addInput(NewInput(kind: .answer, text: "?", sender: "alice"), to: id)
            #expect(beside.task.state == .waiting, "an answer waits beside the approval: it decides nothing")

            _ = try await engine.addInput(NewInput(kind: .approve, text: "go ahead", decisions: ["scope": "tool"], sender: "alice"), to: id)
            #expect(try await eventually { try await store.state(of: id) == .done })
            let done = try #require(try await store.task(id))
            #expect(done.result == "The command printed realmkeeper-defer-probe.")
            #expect(fake.lastStdin == "", "the deferred call resumed with no prompt")
            let hooks = try fake.hooks()
            #expect(hooks.map { $0["output"]?["permissionDecision"]?.stringValue } == ["defer", "allow"])
            #expect(hooks.last?["output"]?["additionalContext"]?.stringValue?.contains("Approved by alice: go ahead") == true)
            #expect(hooks.last?["output"]?["additionalContext"]?.stringValue?.contains("?") == true, "the answer sent meanwhile came along")
            let inbox = try await store.inputs(of: id, workspace: nil)
            #expect(inbox.map(\.delivery) == [.deliveredResume, .deliveredResume])
            #expect(try await store.runs(task: id).map(\.outcome) == ["waiting", "succeeded"])
        }
    }

    @Test("reject resumes the session and the call is denied with the reason the agent sees; an answer reaches Claude's own question", arguments: StoreKind.allCases)
    func rejectAndAnswer(kind: StoreKind) async throws {
        let bash = try FakeClaude(scenario: "hooked_bash")
        defer { bash.cleanup() }
        let store = try await kind.make()
        try await store.saveAgent(bash.agent("claude"))
        try await withEngine(Self.engine(store, bash)) { engine in
            // The agent asks nothing; the task asks on-miss.
            let id = try await engine.submit(NewTask(agent: "claude", prompt: "print the probe", ask: .onMiss)).task.id
            #expect(try await eventually { try await store.state(of: id) == .waiting })
            _ = try await engine.addInput(NewInput(kind: .reject, text: "no shell today", sender: "bob"), to: id)
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try await store.task(id)?.result == "The command was not allowed, so I stopped there.")
            let denial = try await store.events(task: id, after: 0, limit: 500).first { $0.type == "tool_result" && $0.data["is_error"] == true }
            #expect(denial?.data["content"]?.stringValue?.contains("Rejected by bob: no shell today") == true)
        }

        let question = try FakeClaude(scenario: "hooked_question")
        defer { question.cleanup() }
        try await store.saveAgent(question.agent("asker", ask: .onMiss))
        try await withEngine(Self.engine(store, question)) { engine in
            let id = try await engine.submit(NewTask(agent: "asker", prompt: "pick one")).task.id
            #expect(try await eventually { try await store.state(of: id) == .waiting })
            let wait = try #require(try await store.task(id)?.waitingFor)
            #expect(wait.kind == .input)
            #expect(wait.question == "Which option?")
            #expect(wait.options == ["A) First", "B) Second"])
            _ = try await engine.addInput(NewInput(kind: .answer, text: "B) Second", sender: "alice"), to: id)
            #expect(try await eventually { try await store.state(of: id) == .done })
            #expect(try question.hooks().last?["output"]?["updatedInput"]?["answers"] == ["Which option?": "B) Second"])
        }
    }
}
