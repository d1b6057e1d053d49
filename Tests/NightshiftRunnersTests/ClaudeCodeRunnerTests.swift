import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

/// The events a run emitted from the CLI's stdout (not stderr nor the runner's own log lines).
private func streamEvents(_ events: EventRecorder) -> [EventRecorder.Event] {
    events.all.filter { $0.type != "stderr" && !($0.type == "log" && $0.data["message"]?.stringValue?.hasPrefix("resuming") == true) }
}

@Suite("Claude Code runner", .timeLimit(.minutes(1)))
struct ClaudeCodeRunnerTests {
    /// The session id of `success_tool_use`.
    static let successSession = "8f3c2a71-5d4e-4b9a-a6c1-2e7f90d4b318"
    /// The session id of `resume`.
    static let resumeSession = "1d6f9b3e-8c24-4a70-9e5b-f2a7c0d4e813"
    /// The fake `claude` (Tests/Fixtures/claude).
    static let fake = FakeAgentCLI<ClaudeCode>(name: "claude", resumeSession: resumeSession, prompt: "Fix the failing invoice test.")

    @Test("a session with tool use: typed events, the result text, usage and cost from the result line only")
    func successToolUse() async throws {
        let (outcome, events, _, stdin) = try await Self.fake.replay("success_tool_use")

        // The assistant lines carry usage too (summed: 42 in, 2176 out …); only the result line counts.
        let usage = RunUsage(
            tokensIn: 18, tokensOut: 612, cacheReadTokens: 41877, cacheWriteTokens: 6021, costUSD: 0.04437585,
            agentSessionID: Self.successSession, exitCode: 0, turns: 4, toolCalls: ["Bash": 1, "Edit": 1], model: "claude-sonnet-4-5-20250929")
        let answer = "Fixed: `Invoice.rounded` now uses banker's rounding, so 10.055 becomes 10.06 and InvoiceTests pass."
        #expect(outcome == .succeeded(answer, usage: usage))
        #expect(stdin == "Fix the failing invoice test.")

        let stream = streamEvents(events)
        #expect(stream.map(\.type) == [
            "session", "thinking", "assistant", "tool_call", "rate_limit", "tool_result",
            "assistant", "tool_call", "tool_result", "assistant", "result",
        ])
        let session = stream[0].data
        #expect(session["session_id"] == .string(Self.successSession))
        #expect(session["model"] == "claude-sonnet-4-5-20250929")
        #expect(session["cwd"] == "/home/dev/work/billing-service")
        #expect(session["tools"].flatMap { if case .array(let tools) = $0 { tools.count } else { nil } } == 16)
        #expect(stream[1].data["text"]?.stringValue?.hasPrefix("The task says InvoiceTests fail") == true)
        #expect(stream[2].data == ["text": "I'll run the invoice tests first to see what fails."])
        #expect(stream[3].data == [
            "id": "toolu_01XkR7pT2mWq9LbN4vZc6HsD", "name": "Bash",
            "input": ["command": "swift test --filter InvoiceTests 2>&1 | tail -20", "description": "Run the invoice tests"],
        ])
        #expect(stream[4].data["status"] == "allowed_warning")
        #expect(stream[4].data["rateLimitType"] == "five_hour")
        #expect(stream[5].data["id"] == "toolu_01XkR7pT2mWq9LbN4vZc6HsD")
        #expect(stream[5].data["name"] == "Bash")
        #expect(stream[5].data["is_error"] == true)
        #expect(stream[5].data["content"]?.stringValue?.hasSuffix("Error: Exit code 1") == true)
        #expect(stream[7].data["name"] == "Edit")
        #expect(stream[8].data["is_error"] == false)
        #expect(stream[8].data["name"] == "Edit")
        var result = try #require(stream[10].data.objectValue)
        // modelUsage is kept whole: it is what the tokens are summed from.
        #expect(result.removeValue(forKey: "model_usage")?["claude-sonnet-4-5-20250929"]?["costUSD"] == 0.04437585)
        #expect(JSONValue.object(result) == [
            "text": .string(answer), "is_error": false, "subtype": "success", "num_turns": 4, "duration_ms": 18423,
            "cost_usd": 0.04437585, "permission_denials": [],
            "usage": ["input_tokens": 18, "output_tokens": 612, "cache_read_tokens": 41877, "cache_write_tokens": 6021],
        ])
    }

    @Test("the usage names the model the CLI's init line reported, over the configured alias; without one, the configured model or none")
    func reportedModel() async throws {
        // Real captures. This init names claude-opus-4-5-20251101 (its modelUsage adds the haiku
        // Claude Code used on the side); the agent configured the alias `opus`.
        #expect(try await Self.fake.replay("real_permission_denied", config: ["model": "opus"]).outcome.usage.model == "claude-opus-4-5-20251101")
        // The init names claude-opus-5; modelUsage spells it claude-opus-5[1m].
        #expect(try await Self.fake.replay("real_partial_messages").outcome.usage.model == "claude-opus-5")
        // A failure still names the session's model.
        #expect(try await Self.fake.replay("real_usage_limit").outcome.usage.model == "claude-haiku-4-5-20251001")
        // An older CLI's init names no model and its result has no modelUsage.
        #expect(try await Self.fake.replay("real_invalid_api_key", config: ["model": "sonnet"]).outcome.usage.model == "sonnet")
        #expect(try await Self.fake.replay("real_invalid_api_key").outcome.usage.model == nil)
    }

    @Test("an error result whose subtype is \"success\" is a retryable failure")
    func errorSubtypeSuccess() async throws {
        let (outcome, events, _, _) = try await Self.fake.replay("error_subtype_success")
        #expect(outcome.resolution == .failed(retryable: true))
        #expect(outcome.error == "claude: Overloaded (overloaded_error) (HTTP 529)")
        #expect(outcome.usage.agentSessionID == "3b7e91c4-0f2a-4d6b-8e35-a9c1d07f5e42")
        #expect(outcome.usage.exitCode == 1)
        // api_retry for an overloaded API is a retry notice, not a rate limit; the result counts them.
        let retries = events.events("retry")
        #expect(retries.count == 2)
        #expect(retries.first?.data["error_status"] == 529)
        #expect(events.events("result").first?.data["api_retries"] == 2)
        #expect(events.events("rate_limit").isEmpty)
        #expect(events.events("result").first?.data["is_error"] == true)
    }

    @Test("error_max_turns fails without retry")
    func maxTurns() async throws {
        let (outcome, _, argv, _) = try await Self.fake.replay("max_turns", config: ["max_turns": 2])
        #expect(outcome == .failed(
            "max turns reached (max_turns 2, 2 turns taken)", retryable: false,
            usage: RunUsage(
                tokensIn: 9, tokensOut: 135, cacheReadTokens: 32731, cacheWriteTokens: 5408, costUSD: 0.02481918,
                agentSessionID: "a41f6c9e-28d3-4b75-9e0c-6d2b8f1a3c57", exitCode: 1, turns: 2, toolCalls: ["Glob": 1, "Read": 1],
                model: "claude-sonnet-4-5-20250929")))
        #expect(argv.contains("--max-turns=2"))
    }

    @Test("error_max_budget_usd fails without retry: budget exceeded")
    func budget() async throws {
        let (outcome, _, argv, _) = try await Self.fake.replay("budget", budgetUSD: 0.5)
        #expect(outcome.resolution == .failed(retryable: false))
        #expect(outcome.error == "budget exceeded: claude stopped at $0.521315")
        #expect(outcome.usage.costUSD == 0.52131475)
        #expect(argv.contains("--max-budget-usd=0.5"))
    }

    @Test("a CLI killed mid-stream: retryable failure with the signal and stderr, session id kept")
    func killed() async throws {
        let (outcome, events, _, _) = try await Self.fake.replay("killed")
        #expect(outcome == .failed(
            "claude ended without a result (killed by signal 9): fake claude: killing myself mid-stream", retryable: true,
            usage: RunUsage(agentSessionID: "c2e8b5f1-7a39-4d06-9c4e-1b0f6d3a8e27", toolCalls: ["Bash": 1], model: "claude-sonnet-4-5-20250929")))
        #expect(streamEvents(events).map(\.type) == ["session", "assistant", "tool_call"])
    }

    @Test("non-JSON lines are logged as warnings and the run still succeeds")
    func noise() async throws {
        let (outcome, events, _, _) = try await Self.fake.replay("noise")
        #expect(outcome.resolution == .succeeded)
        #expect(outcome.result == "The README already documents the rounding mode; nothing to change.")
        #expect(outcome.usage.costUSD == 0.02263341)
        let warnings = events.events("log")
        #expect(warnings.map { $0.data["level"] } == ["warning", "warning", "warning", "warning"])
        #expect(warnings.map { $0.data["line"]?.stringValue?.prefix(12) } == [
            "Checking for", "[DEBUG] MCP ", "[1,2,3]", "{\"type\":\"ass",
        ])
        #expect(warnings[2].data["message"] == "unparsed stream line: not a JSON object")
        #expect(warnings[0].data["message"]?.stringValue?.hasPrefix("unparsed stream line: invalid JSON") == true)
        #expect(streamEvents(events).filter { $0.type != "log" }.map(\.type) == ["session", "assistant", "result"])
    }

    @Test("a line over 1 MiB is cut, logged as a warning, and the run still succeeds")
    func hugeLine() async throws {
        let (outcome, events, _, _) = try await Self.fake.replay("huge_line")
        #expect(outcome.resolution == .succeeded)
        #expect(outcome.usage.tokensOut == 101)
        let warnings = events.events("log")
        #expect(warnings.count == 1)
        #expect(warnings.first?.data["message"] == "unparsed stream line: line longer than 1048576 bytes was cut")
        #expect(warnings.first?.data["truncated"] == true)
        #expect(warnings.first?.data["line"]?.stringValue?.utf8.count == 2048)
        #expect(streamEvents(events).map(\.type) == ["session", "tool_call", "log", "assistant", "result"])
    }

    @Test("a retry resumes the session: --resume=<id> and the continuation prompt on stdin")
    func resume() async throws {
        let context = ResumeContext(
            sessionID: Self.resumeSession, fromAttempt: 1, hint: "only the migration test is left",
            previousError: "claude ended without a result (killed by signal 9)")
        let (outcome, events, argv, stdin) = try await Self.fake.replay("resume", resume: context)
        #expect(outcome.resolution == .succeeded)
        #expect(outcome.result == "Migration and its test are in place; all tests pass.")
        #expect(outcome.usage.agentSessionID == Self.resumeSession)
        #expect(stdin == context.continuationPrompt)
        #expect(argv.contains("--resume=\(Self.resumeSession)"))
        #expect(events.events("log").first?.data["message"] == .string("resuming session \(Self.resumeSession) of attempt 1"))
    }

    @Test("without the resume (none given, or resume = false) the resume scenario fails, retryable")
    func resumeMissing() async throws {
        let fresh = try await Self.fake.replay("resume")
        #expect(fresh.outcome == .failed(
            "claude ended without a result (exit status 2): fake claude: expected --resume=\(Self.resumeSession) among the arguments, got: -p --output-format=stream-json --verbose",
            retryable: true, usage: RunUsage(exitCode: 2)))
        #expect(fresh.stdin == "Fix the failing invoice test.")

        let context = ResumeContext(sessionID: Self.resumeSession, fromAttempt: 1)
        let disabled = try await Self.fake.replay("resume", config: ["resume": false], resume: context)
        #expect(disabled.outcome.resolution == .failed(retryable: true))
        #expect(!disabled.argv.contains { $0.hasPrefix("--resume") })
    }

    @Test("every config key and the budget become exact --flag=value tokens, then extra_args")
    func argv() async throws {
        let config: [String: JSONValue] = [
            "model": "claude-opus-4-1", "max_turns": 7, "permission_mode": "acceptEdits",
            "allowed_tools": ["Read", "Bash(git log:*)"], "disallowed_tools": ["WebFetch"],
            "append_system_prompt": "Answer in one paragraph.",
            "mcp_config": ["mcpServers": ["github": ["command": "gh-mcp", "args": ["--stdio"]]]],
            "extra_args": ["--fallback-model=claude-sonnet-4-5", "--add-dir=/srv/shared"],
            "resume": true, "workdir": ".",
        ]
        let (outcome, _, argv, _) = try await Self.fake.replay("success_tool_use", config: config, budgetUSD: 1.25)
        #expect(outcome.resolution == .succeeded)
        #expect(argv == [
            "-p", "--output-format=stream-json", "--verbose",
            "--model=claude-opus-4-1", "--max-turns=7", "--max-budget-usd=1.25", "--permission-mode=acceptEdits",
            "--allowedTools=Read", "--allowedTools=Bash(git log:*)", "--disallowedTools=WebFetch",
            "--append-system-prompt=Answer in one paragraph.",
            #"--mcp-config={"mcpServers":{"github":{"args":["--stdio"],"command":"gh-mcp"}}}"#,
            "--fallback-model=claude-sonnet-4-5", "--add-dir=/srv/shared",
        ])
    }

    @Test("a model or system prompt starting with -- stays inside its token; an mcp_config path is kept as given")
    func valuesStayInTheirTokens() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let request = Fixture.request(
            config: [
                "model": "--dangerously-skip-permissions", "append_system_prompt": "--output-format text",
                "mcp_config": "config/mcp.json",
            ],
            directory: dir.url, runner: .claudeCode)
        let settings = try AgentCLIRunner<ClaudeCode>.settings(request.agent)
        let (arguments, stdin) = ClaudeCode.invocation(settings.own, common: settings.common, request: request, resume: nil)
        #expect(arguments == [
            "-p", "--output-format=stream-json", "--verbose", "--model=--dangerously-skip-permissions",
            "--append-system-prompt=--output-format text", "--mcp-config=config/mcp.json",
        ])
        #expect(stdin == "hello")
    }

    @Test("a run that delivers inputs resumes each CLI's session with them as its prompt (Claude --resume, Codex exec resume, Gemini --resume)")
    func inputsResumeTheSession() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let resume = ResumeContext(sessionID: "sess-1", fromAttempt: 1, followUp: "Answer: dev")
        for runner in [RunnerKind.claudeCode, .codex, .gemini] {
            let request = Fixture.request(config: [:], directory: dir.url, runner: runner)
            let (arguments, stdin): ([String], String)
            switch runner {
            case .claudeCode:
                let settings = try AgentCLIRunner<ClaudeCode>.settings(request.agent)
                (arguments, stdin) = ClaudeCode.invocation(settings.own, common: settings.common, request: request, resume: resume)
                #expect(arguments.contains("--resume=sess-1"))
            case .codex:
                let settings = try AgentCLIRunner<Codex>.settings(request.agent)
                (arguments, stdin) = Codex.invocation(settings.own, common: settings.common, request: request, resume: resume)
                #expect(arguments.suffix(3) == ["resume", "sess-1", "-"])
            default:
                let settings = try AgentCLIRunner<Gemini>.settings(request.agent)
                (arguments, stdin) = Gemini.invocation(settings.own, common: settings.common, request: request, resume: resume)
                #expect(arguments.contains("--resume=sess-1"))
            }
            #expect(stdin == "Answer: dev", "\(runner): the follow-up, not the generic continuation")
        }
        #expect(ResumeContext(sessionID: "s", fromAttempt: 2).continuationPrompt.hasPrefix("Continue the task"))
    }

    @Test("budgets are written in plain decimals")
    func dollars() {
        #expect(ClaudeCode.dollars(2) == "2")
        #expect(ClaudeCode.dollars(0.5) == "0.5")
        #expect(ClaudeCode.dollars(0.00001) == "0.00001")
        #expect(ClaudeCode.dollars(12.3456789) == "12.345679")
    }

    @Test("a config with every key validates")
    func validConfig() throws {
        let agent = Agent(name: "tester", runner: .claudeCode, config: [
            "executable": "claude", "model": "opus", "extra_args": [], "resume": false, "env": ["HOME", "ANTHROPIC_API_KEY"],
            "workdir": "repo", "max_turns": 1, "permission_mode": "bypassPermissions", "allowed_tools": [],
            "disallowed_tools": ["Bash(rm:*)"], "append_system_prompt": "x", "mcp_config": "/etc/mcp.json",
        ])
        try AgentCLIRunner<ClaudeCode>().validate(agent)
    }

    @Test("an unknown key fails validation naming the agent and the key")
    func unknownKey() {
        let agent = Agent(name: "night-coder", runner: .claudeCode, config: ["max_turn": 3])
        let error = #expect(throws: NightshiftError.self) { try AgentCLIRunner<ClaudeCode>().validate(agent) }
        #expect(error?.field == "max_turn")
        #expect(error?.message.contains("night-coder") == true)
        #expect(error?.message.contains("'max_turn'") == true)
    }

    @Test(
        "a wrong type fails validation naming the agent and the key",
        arguments: [
            ("max_turns", "3"), ("max_turns", 0), ("permission_mode", "yolo"), ("allowed_tools", "Read"),
            ("disallowed_tools", [1]), ("allowed_tools", [""]), ("append_system_prompt", 5), ("mcp_config", 3),
            ("mcp_config", ["a.json"]), ("model", true), ("extra_args", "--verbose"),
        ] as [(String, JSONValue)])
    func wrongType(key: String, value: JSONValue) {
        let agent = Agent(name: "night-coder", runner: .claudeCode, config: .object([key: value]))
        let error = #expect(throws: NightshiftError.self) { try AgentCLIRunner<ClaudeCode>().validate(agent) }
        #expect(error?.field == key)
        #expect(error?.message.contains("night-coder") == true)
        #expect(error?.message.contains("'\(key)'") == true)
    }

    @Test("a missing CLI fails at once, not retryable, naming the PATH searched")
    func missingCLI() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let runner = AgentCLIRunner<ClaudeCode>(environment: ["PATH": FakeAgentCLI<ClaudeCode>.searchPath])
        let request = Fixture.request(config: ["executable": "claude-missing-xyz"], directory: dir.url, runner: .claudeCode)
        let outcome = try await runner.run(request, context: EventRecorder().context)
        #expect(outcome == .failed("agent CLI not found: claude-missing-xyz (searched PATH=\(FakeAgentCLI<ClaudeCode>.searchPath))", retryable: false))
    }

    @Test("availability reports the CLI's path and its --version")
    func availability() async {
        // A generous --version deadline: on a loaded 2-core CI machine starting bash took over 5 s.
        let runner = AgentCLIRunner<ClaudeCode>(
            environment: ["PATH": FakeAgentCLI<ClaudeCode>.searchPath], versionTimeout: .seconds(60))
        let found = await runner.availability(of: Agent(name: "tester", runner: .claudeCode, config: Self.fake.config([:])))
        #expect(found == AgentAvailability(
            agent: "tester", runner: .claudeCode, available: true, path: Self.fake.path, version: "2.1.52 (Claude Code)"))
        let missing = await runner.availability(of: Agent(name: "tester", runner: .claudeCode, config: ["executable": "claude-missing-xyz"]))
        #expect(missing.available == false)
        #expect(missing.problem == "agent CLI not found: claude-missing-xyz (searched PATH=\(FakeAgentCLI<ClaudeCode>.searchPath))")
    }
}

@Suite("Claude Code stream parser")
struct ClaudeCodeStreamParserTests {
    /// The events of `lines` fed in order to `parser`.
    private func feed(_ lines: [String], into parser: inout ClaudeCodeStreamParser) -> [EventRecorder.Event] {
        lines.flatMap { line in
            parser.handle(OutputLine(text: line, truncated: false), now: Date()).map { EventRecorder.Event(type: $0.type, data: $0.data) }
        }
    }

    @Test("the session id is in the usage right after the init line, and from the result line without one")
    func sessionID() {
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        _ = feed([#"{"type":"system","subtype":"init","session_id":"s-1","model":"m","tools":[],"cwd":"/w"}"#], into: &parser)
        #expect(parser.usage == RunUsage(agentSessionID: "s-1", model: "m"))

        var noInit = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        _ = feed([#"{"type":"result","subtype":"success","is_error":false,"result":"ok","session_id":"s-2","num_turns":1}"#], into: &noInit)
        #expect(noInit.usage.agentSessionID == "s-2")
        #expect(noInit.result == .init(isError: false, subtype: "success", text: "ok", errors: [], turns: 1, apiErrorStatus: nil, denials: []))
    }

    @Test("without an init line, the model is the costliest of the result's modelUsage")
    func modelFromModelUsage() throws {
        // A real two-model session (haiku on the side, opus doing the work) without its init line.
        let capture = AgentFixturePaths.root.appendingPathComponent("claude-sessions/real_permission_denied.jsonl")
        let lines = try String(contentsOf: capture, encoding: .utf8).split(separator: "\n").map(String.init)
        let withoutInit = lines.filter { !$0.contains(#""subtype":"init""#) }
        #expect(withoutInit.count == lines.count - 1)
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        _ = feed(withoutInit, into: &parser)
        #expect(parser.usage.model == "claude-opus-4-5-20251101")
    }

    @Test("other system subtypes and unknown types are logged with their data; partial-message deltas are not news")
    func otherLines() {
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        let compact = #"{"type":"system","subtype":"compact_boundary","session_id":"s","uuid":"u","compact_metadata":{"trigger":"auto","pre_tokens":167012}}"#
        let events = feed([
            compact, #"{"type":"stream_event","event":{"type":"message_start"}}"#, #"{"kind":"x"}"#, #"{"type":"future_kind","x":1}"#,
        ], into: &parser)
        #expect(events.map(\.type) == ["log", "log", "log"])
        #expect(events[0].data["level"] == "info")
        #expect(events[0].data["message"] == "system event compact_boundary")
        #expect(events[0].data["data"]?["compact_metadata"]?["pre_tokens"] == 167012)
        #expect(events[1].data["message"] == "unknown event type (none)")
        #expect(events[2].data["message"] == "unknown event type future_kind")
    }

    @Test("rate limits: a rejected rate_limit_event, an api_retry (a retry notice), an assistant message with error rate_limit")
    func rateLimits() {
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        let events = feed([
            #"{"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":1763733600,"rateLimitType":"seven_day"},"uuid":"u","session_id":"s"}"#,
            #"{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":5000,"error_status":429,"error":"rate_limit","session_id":"s","uuid":"u"}"#,
            #"{"type":"assistant","message":{"model":"<synthetic>","role":"assistant","content":[{"type":"text","text":"API Error: Rate limit reached"}]},"error":"rate_limit","session_id":"s"}"#,
            #"{"type":"assistant","message":{"model":"<synthetic>","role":"assistant","content":[{"type":"text","text":"Invalid API key"}]},"error":"authentication_failed","session_id":"s"}"#,
        ], into: &parser)
        #expect(events.map(\.type) == ["quota", "rate_limit", "retry", "rate_limit", "assistant", "error", "assistant"])
        #expect(parser.quotaResetsAt == Date(timeIntervalSince1970: 1763733600))
        #expect(parser.apiRetries == 1)
        // The quota status (for the runner to report) and the rejection (for the log) carry the same fields.
        #expect(events[0].data == ["status": "rejected", "resetsAt": 1763733600, "rateLimitType": "seven_day"])
        #expect(events[1].data == events[0].data)
        #expect(events[2].data == ["attempt": 1, "max_retries": 10, "retry_delay_ms": 5000, "error_status": 429, "error": "rate_limit"])
        #expect(events[3].data == ["error": "rate_limit", "message": "API Error: Rate limit reached"])
        #expect(events[5].data == ["message": "Invalid API key", "kind": "authentication_failed"])
    }

    @Test("tool results: content blocks joined, over 4 KiB cut and marked")
    func toolResults() {
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        let long = String(repeating: "é", count: 3000)
        let events = feed([
            #"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t1","name":"mcp__github__get_issue","input":{"number":7}}]}}"#,
            #"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"Issue 7"},{"type":"image","source":{}}]}]}}"#,
            #"{"type":"user","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t2","content":"\#(long)","is_error":true}]}}"#,
        ], into: &parser)
        #expect(events.map(\.type) == ["tool_call", "tool_result", "tool_result"])
        #expect(events[1].data == ["id": "t1", "name": "mcp__github__get_issue", "is_error": false, "content": "Issue 7\n[image]"])
        #expect(events[2].data["truncated"] == true)
        #expect(events[2].data["content"]?.stringValue == String(repeating: "é", count: 2048))
        #expect(events[2].data["name"] == nil)
    }

    @Test("error_during_execution is a retryable failure quoting the CLI's errors")
    func duringExecution() {
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        _ = feed([
            #"{"type":"result","subtype":"error_during_execution","is_error":true,"num_turns":3,"session_id":"s","total_cost_usd":0.01,"errors":["Tool execution failed: permission denied"]}"#,
        ], into: &parser)
        let report = ProcessReport(status: .exited(1), stdout: parser, stderrTail: "")
        #expect(ClaudeCode.outcome(report, settings: .init()) == .failed(
            "claude error during execution: Tool execution failed: permission denied", retryable: true,
            usage: RunUsage(costUSD: 0.01, agentSessionID: "s", exitCode: 1, turns: 3)))
    }
}
