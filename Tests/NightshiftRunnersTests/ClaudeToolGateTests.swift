import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

@testable import NightshiftRunners

/// Claude Code's tool-approval hook (`ask = "on-miss"`): the rules it reads, what it answers, and
/// a run of the fake CLI that runs the real `nightshift hook pre-tool-use`.
@Suite("Claude Code tool-approval hook")
struct ClaudeToolGateTests {
    static let question: JSONValue = [
        "questions": [[
            "question": "Which option?", "header": "Option", "multiSelect": false,
            "options": [["label": "A) First", "description": "d"], ["label": "B) Second", "description": "d"]],
        ]],
    ]

    static func hookInput(_ tool: String, _ input: JSONValue, id: String = "toolu_1") -> JSONValue {
        ["hook_event_name": "PreToolUse", "tool_name": .string(tool), "tool_input": input, "tool_use_id": .string(id)]
    }

    static func decision(_ answer: JSONValue) -> String? { answer["hookSpecificOutput"]?["permissionDecision"]?.stringValue }

    @Test("permission rules: a tool, a command prefix, a glob, a domain, an MCP server; an unreadable rule allows nothing")
    func rules() {
        let bash: JSONValue = ["command": "npm test -- --watch=false"]
        #expect(ClaudeToolGate.matches("Bash", tool: "Bash", input: bash))
        #expect(ClaudeToolGate.matches("Bash(*)", tool: "Bash", input: bash))
        #expect(ClaudeToolGate.matches("Bash(npm test:*)", tool: "Bash", input: bash))
        #expect(ClaudeToolGate.matches("Bash(npm test:*)", tool: "Bash", input: ["command": "npm test"]))
        #expect(!ClaudeToolGate.matches("Bash(npm test:*)", tool: "Bash", input: ["command": "npm testing"]), "a prefix ends at a word")
        #expect(!ClaudeToolGate.matches("Bash(npm test:*)", tool: "Bash", input: ["command": "rm -rf /; npm test"]))
        #expect(ClaudeToolGate.matches("Bash(git * main)", tool: "Bash", input: ["command": "git push origin main"]))
        #expect(!ClaudeToolGate.matches("Bash(git * main)", tool: "Bash", input: ["command": "git push origin dev"]))
        #expect(ClaudeToolGate.matches("Read(/src/**)", tool: "Read", input: ["file_path": "/src/a/b.swift"]))
        #expect(!ClaudeToolGate.matches("Read(/src/**)", tool: "Read", input: ["file_path": "/etc/passwd"]))
        #expect(!ClaudeToolGate.matches("Read", tool: "Edit", input: ["file_path": "/src/a"]))
        #expect(ClaudeToolGate.matches("WebFetch(domain:example.com)", tool: "WebFetch", input: ["url": "https://example.com/x"]))
        #expect(!ClaudeToolGate.matches("WebFetch(domain:example.com)", tool: "WebFetch", input: ["url": "https://evil.com/example.com"]))
        #expect(ClaudeToolGate.matches("mcp__nightshift", tool: "mcp__nightshift__spawn_subtask", input: [:]))
        #expect(!ClaudeToolGate.matches("mcp__nightshift", tool: "mcp__nightshiftx__spawn", input: [:]))
        #expect(ClaudeToolGate.matches("mcp__github__*", tool: "mcp__github__create_issue", input: [:]))
        #expect(!ClaudeToolGate.matches("Bash(npm test", tool: "Bash", input: bash), "unbalanced: not a rule that allows")
    }

    @Test("the hook allows an allowlisted call, defers the rest and every question, and obeys decisions on deferred calls")
    func answers() {
        let approvals = ToolApprovals(
            allow: ["Read"],
            calls: [
                "toolu_ok": .init(kind: .approve, text: nil, sender: "alice"),
                "toolu_no": .init(kind: .reject, text: "too risky", sender: "bob"),
                "toolu_woken": .init(kind: .message, text: "do it later", sender: "carol"),
                "toolu_q": .init(kind: .answer, text: "B) Second", sender: "dan"),
            ])
        let read = ClaudeToolGate.answer(Self.hookInput("Read", ["file_path": "/x"]), approvals: approvals)
        #expect(Self.decision(read) == "allow")
        let unknown = ClaudeToolGate.answer(Self.hookInput("Bash", ["command": "make deploy"]), approvals: approvals)
        #expect(Self.decision(unknown) == "defer")
        #expect(Self.decision(ClaudeToolGate.answer(Self.hookInput("AskUserQuestion", Self.question), approvals: ToolApprovals(allow: ["AskUserQuestion"]))) == "defer",
                "a question always goes to a person")

        let approved = ClaudeToolGate.answer(Self.hookInput("Bash", ["command": "make deploy"], id: "toolu_ok"), approvals: approvals)
        #expect(Self.decision(approved) == "allow")
        #expect(approved["hookSpecificOutput"]?["additionalContext"] == nil, "an approval without a comment adds nothing")
        let rejected = ClaudeToolGate.answer(Self.hookInput("Bash", ["command": "make deploy"], id: "toolu_no"), approvals: approvals)
        #expect(Self.decision(rejected) == "deny")
        #expect(rejected["hookSpecificOutput"]?["permissionDecisionReason"] == "Rejected by bob: too risky")
        let woken = ClaudeToolGate.answer(Self.hookInput("Bash", [:], id: "toolu_woken"), approvals: approvals)
        #expect(Self.decision(woken) == "deny", "a message that woke the task approves nothing")
        #expect(woken["hookSpecificOutput"]?["permissionDecisionReason"]?.stringValue?.contains("do it later") == true)

        let answered = ClaudeToolGate.answer(Self.hookInput("AskUserQuestion", Self.question, id: "toolu_q"), approvals: approvals)
        #expect(Self.decision(answered) == "allow")
        let updated = answered["hookSpecificOutput"]?["updatedInput"]
        #expect(updated?["answers"] == ["Which option?": "B) Second"])
        #expect(updated?["questions"] == Self.question["questions"], "the questions are echoed back, as the CLI needs")
    }

    @Test("approvals from the inbox: the deciding input, a tool approved for the rest of the task, the messages that came along")
    func approvalsFromTheInbox() {
        func input(_ seq: Int, _ kind: InputKind, _ text: String?, _ decisions: JSONValue?) -> TaskInput {
            TaskInput(
                id: "in-\(seq)", taskID: TaskID.generate(), workspaceID: "default", seq: seq, kind: kind, text: text,
                decisions: decisions, sender: "alice", idempotencyKey: nil, createdAt: Date(), delivery: .pending,
                deliveredAt: nil, runID: nil)
        }
        let earlier = input(1, .approve, nil, ["tool_use_id": "toolu_a", "tool": "Bash", "scope": "tool"])
        let ruled = input(2, .approve, nil, ["tool_use_id": "toolu_b", "tool": "Edit", "scope": "tool", "tools": ["Edit(/src/**)"]])
        let note = input(3, .message, "also update the changelog", nil)
        let deciding = input(4, .reject, "not now", ["tool_use_id": "toolu_c", "tool": "Write"])
        let approvals = ToolApprovals(inbox: [earlier, ruled, note, deciding], delivering: [note, deciding])
        #expect(approvals.allow == ["Bash", "Edit(/src/**)"])
        #expect(Set(approvals.calls.keys) == ["toolu_a", "toolu_b", "toolu_c"])
        #expect(approvals.resumesCall == "toolu_c")
        #expect(approvals.context == "also update the changelog")
        let denied = ClaudeToolGate.answer(Self.hookInput("Write", [:], id: "toolu_c"), approvals: approvals)
        #expect(denied["hookSpecificOutput"]?["permissionDecisionReason"]?.stringValue?.contains("also update the changelog") == true)
        #expect(ToolApprovals(inbox: [note], delivering: [note]).resumesCall == nil, "no decision: nothing to resume at")
    }

    @Test("the hook command refuses approvals it cannot read, naming --approvals")
    func badApprovals() {
        let error = #expect(throws: NightshiftError.self) { try ClaudeToolGate.runHook(stdin: Data("{}".utf8), approvals: "%%%") }
        #expect(error?.field == "--approvals")
    }

    /// The fake `claude` with `scenario`, recording into `dir`, as an agent config.
    static func agent(_ scenario: String, _ dir: TempDir) -> (config: JSONValue, environment: [String: String]) {
        let fake = FakeAgentCLI<ClaudeCode>(name: "claude", resumeSession: "", prompt: "p")
        let environment = fake.environment(scenario, recordingInto: dir)
        return (fake.config([:], environment: environment), environment)
    }

    /// A Claude Code runner whose hook is the built `nightshift`.
    static func runner(_ environment: [String: String]) -> AgentCLIRunner<ClaudeCode> {
        AgentCLIRunner<ClaudeCode>(
            killGrace: .seconds(2), limits: CommandLimits(), environment: environment, nightshiftExecutable: NightshiftBinary.url.path)
    }

    /// Attempt 2 resuming `session` at the deferred call `call`, which `decision` decides.
    static func resumed(
        _ config: JSONValue, _ dir: TempDir, session: String, call: String, _ decision: ToolApprovals.Decision
    ) -> RunRequest {
        var request = Fixture.request(
            config: config, directory: dir.url, runner: .claudeCode, attempt: 2, resume: ResumeContext(sessionID: session, fromAttempt: 1))
        request.approvals = ToolApprovals(calls: [call: decision], resumesCall: call)
        return request
    }

    static func hooks(_ dir: TempDir) throws -> [JSONValue] {
        try (dir.read("hooks.jsonl") ?? "").split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
    }

    @Test("a run whose hook defers a Bash call waits for an approval of it; the resumed session, approved, runs the call")
    func deferThenApprove() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let (config, environment) = Self.agent("hooked_bash", dir)
        let runner = Self.runner(environment)
        var request = Fixture.request(config: config, prompt: "print the probe", directory: dir.url, runner: .claudeCode)
        request.approvals = ToolApprovals()
        let first = try await runner.run(request, context: EventRecorder().context)
        #expect(first.resolution == .waiting)
        let wait = first.wait
        #expect(wait.kind == .approval)
        #expect(wait.tool == "Bash")
        #expect(wait.toolInput == ["command": "echo realmkeeper-defer-probe"])
        #expect(wait.toolUseID == "toolu_01AYmzQsLpv4eaMXPvmWem35")
        #expect(first.usage.agentSessionID == "7d1c2f0e-5b9a-4c3e-8f21-6a4e0b9d3c71")
        let argv = dir.read("argv") ?? ""
        #expect(argv.contains("--settings="), "the hook is handed over in --settings")
        #expect(try Self.hooks(dir).map { $0["output"]?["permissionDecision"] } == ["defer"])

        // Approved: the session resumes at the call with no prompt, and the hook now allows it.
        let resumed = Self.resumed(config, dir, session: "7d1c2f0e-5b9a-4c3e-8f21-6a4e0b9d3c71", call: "toolu_01AYmzQsLpv4eaMXPvmWem35", .init(kind: .approve, text: "fine", sender: "alice"))
        let second = try await runner.run(resumed, context: EventRecorder().context)
        #expect(second.resolution == .succeeded, "\(second)")
        #expect(second.result == "The command printed realmkeeper-defer-probe.")
        #expect(dir.read("stdin") == "", "a deferred call resumes without a prompt")
        let hooks = try Self.hooks(dir)
        #expect(hooks.last?["output"]?["permissionDecision"] == "allow")
        #expect(hooks.last?["output"]?["additionalContext"] == "Approved by alice: fine")
    }

    @Test("a rejected deferred call is denied with the person's reason, which the agent sees; without a nightshift program the run fails at once")
    func rejectAndMissingProgram() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let (config, environment) = Self.agent("hooked_bash", dir)
        let runner = Self.runner(environment)
        var request = Fixture.request(config: config, directory: dir.url, runner: .claudeCode)
        request.approvals = ToolApprovals()
        #expect(try await runner.run(request, context: EventRecorder().context).resolution == .waiting)
        let resumed = Self.resumed(config, dir, session: "7d1c2f0e-5b9a-4c3e-8f21-6a4e0b9d3c71", call: "toolu_01AYmzQsLpv4eaMXPvmWem35", .init(kind: .reject, text: "no network calls", sender: "bob"))
        let events = EventRecorder()
        let second = try await runner.run(resumed, context: events.context)
        #expect(second.resolution == .succeeded)
        let results = events.events("tool_result").map(\.data)
        #expect(results.contains { $0["is_error"] == true && $0["content"]?.stringValue?.contains("Rejected by bob: no network calls") == true },
                "\(results)")

        let bare = AgentCLIRunner<ClaudeCode>(killGrace: .seconds(2), limits: CommandLimits(), environment: environment, nightshiftExecutable: nil)
        let refused = try await bare.run(request, context: EventRecorder().context)
        #expect(refused.resolution == .failed(retryable: false))
        #expect(refused.error?.contains("NIGHTSHIFT_EXECUTABLE") == true)
    }

    @Test("Claude's own question waits as an inbox question with its options; the answer reaches the tool as updatedInput")
    func question() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let (config, environment) = Self.agent("hooked_question", dir)
        let runner = Self.runner(environment)
        var request = Fixture.request(config: config, directory: dir.url, runner: .claudeCode)
        request.approvals = ToolApprovals()
        let first = try await runner.run(request, context: EventRecorder().context)
        let wait = first.wait
        #expect(wait.kind == .input)
        #expect(wait.question == "Which option?")
        #expect(wait.options == ["A) First", "B) Second"])
        #expect(wait.toolUseID == "toolu_01JkxcSGCS4MbwVoLXJjaUBt")

        let resumed = Self.resumed(config, dir, session: "fa101fdf-8852-4750-bc8d-e74026fa3ea7", call: "toolu_01JkxcSGCS4MbwVoLXJjaUBt", .init(kind: .answer, text: "B) Second", sender: "alice"))
        let events = EventRecorder()
        let second = try await runner.run(resumed, context: events.context)
        #expect(second.resolution == .succeeded)
        #expect(try Self.hooks(dir).last?["output"]?["updatedInput"]?["answers"] == ["Which option?": "B) Second"])
        #expect(events.events("tool_result").contains { $0.data["content"]?.stringValue?.contains("\"Which option?\"=\"B) Second\"") == true })
    }
}
