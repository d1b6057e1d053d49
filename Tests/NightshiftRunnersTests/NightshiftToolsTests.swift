import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

/// Nightshift's MCP tools for Claude agents: what the server answers, what the runner hands Claude
/// Code, and what the engine is told when a call succeeded.
@Suite("Nightshift's tools for Claude agents", .timeLimit(.minutes(1)))
struct NightshiftToolsTests {
    /// The program the runner is told serves the tools.
    static let program = "/opt/nightshift/bin/nightshift"
    /// The wake prompt of the `nightshift_tools` session.
    static let wakePrompt = "Read what the migration review found, then finish the invoice review."
    /// The spawn_subtask input of the `nightshift_tools` session.
    static let spawnInput: JSONValue = [
        "prompt": "Review Sources/Migrations/0007_invoice_totals.sql: does every new foreign key have an index?",
        "agent": "reviewer", "labels": ["migration"], "priority": 3,
    ]

    @Test("both tools are listed with an object schema; spawn_subtask requires prompt and takes the line protocol's spawn fields")
    func toolList() {
        #expect(NightshiftTools.tools.map(\.name) == ["spawn_subtask", "wake_me"])
        let spawn = NightshiftTools.tools[0].inputSchema
        #expect(spawn["type"] == "object")
        #expect(spawn["required"] == ["prompt"])
        #expect(spawn["properties"]?.objectValue.map { Set($0.keys) } == ["prompt", "agent", "labels", "priority", "budget_usd", "lane"])
        let wake = NightshiftTools.tools[1].inputSchema
        #expect(wake["required"] == nil, "exactly one of minutes and at: said in the description, checked by the server")
        #expect(wake["properties"]?.objectValue.map { Set($0.keys) } == ["minutes", "at", "prompt"])
        #expect(NightshiftTools.tools.allSatisfy { !$0.description.isEmpty })
    }

    @Test("spawn_subtask answers that the subtask is recorded; bad arguments answer a problem naming the argument")
    func spawnAnswers() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let ok = try #require(NightshiftTools.answer(tool: "spawn_subtask", arguments: ["prompt": "check the index", "agent": "reviewer"], now: now))
        #expect(try ok.get().hasPrefix("Subtask recorded: Nightshift creates it (on agent reviewer)"))
        let inherited = try #require(NightshiftTools.answer(tool: "spawn_subtask", arguments: ["prompt": "check", "lane": "db"], now: now))
        #expect(try inherited.get().contains("on this task's agent"))
        for (arguments, named) in [
            ([:], #""prompt""#), (["prompt": 5], #""prompt""#), (["prompt": "x", "labels": "a"], #""labels""#),
            (["prompt": "x", "priority": 1.5], #""priority""#), (["prompt": "x", "priority": -1], #""priority""#),
            (["prompt": "x", "budget_usd": 0], #""budget_usd""#), (["prompt": "x", "lane": 7], #""lane""#),
            (["prompt": "   "], #""prompt""#), (["prompt": "x", "agent": "bad\u{7}name"], #""agent""#),
        ] as [(JSONValue, String)] {
            let answer = try #require(NightshiftTools.answer(tool: "spawn_subtask", arguments: arguments, now: now))
            guard case .failure(let problem) = answer else {
                Issue.record("\(arguments) was accepted")
                continue
            }
            #expect(problem.description.hasPrefix("spawn_subtask called "), "\(problem)")
            #expect(problem.description.contains(named), "\(arguments): \(problem)")
        }
        #expect(NightshiftTools.answer(tool: "delete_everything", arguments: [:], now: now) == nil)
    }

    @Test("wake_me takes minutes from now or an RFC 3339 time, exactly one, and an optional prompt")
    func wakeAnswers() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let inMinutes = try NightshiftTools.wake(["minutes": 90, "prompt": "check CI"], now: now).get()
        #expect(inMinutes.at == now.addingTimeInterval(5400))
        #expect(inMinutes.prompt == "check CI")
        let at = try NightshiftTools.wake(["at": "2027-01-15T08:00:00+01:00"], now: now).get()
        #expect(at.at == Date(timeIntervalSince1970: 1_799_996_400), "an hour before now, in UTC")
        #expect(at.prompt == nil)
        let text = try #require(NightshiftTools.answer(tool: "wake_me", arguments: ["minutes": 1.5, "prompt": "go on"], now: now)).get()
        #expect(text.contains("at 2027-01-15T08:01:30Z"), "\(text)")
        #expect(text.contains(#"with the prompt "go on""#))
        #expect(text.hasSuffix("End your turn now."))
        for (arguments, phrase) in [
            ([:], #"without "minutes" (minutes) or "at""#),
            (["minutes": 5, "at": "2027-01-15T08:00:00Z"], #"with both "minutes" and "at""#),
            (["minutes": -1], #"with a "minutes" that is not a number of minutes ≥ 0"#),
            (["minutes": "5"], #"with a "minutes" that is not a number"#),
            (["at": "tomorrow"], #"with an "at" that is not an ISO 8601 time"#),
            (["minutes": 5, "prompt": 3], #"with a "prompt" that is not a string"#),
        ] as [(JSONValue, String)] {
            let answer = try #require(NightshiftTools.answer(tool: "wake_me", arguments: arguments, now: now))
            guard case .failure(let problem) = answer else {
                Issue.record("\(arguments) was accepted")
                continue
            }
            #expect(problem.description.hasPrefix("wake_me called \(phrase)"), "\(problem)")
        }
    }

    @Test("nightshift_tools = true: Nightshift's MCP server beside the agent's own, both tools allowed, a spawn event for the call that succeeded, and the run waits until the wake_me time")
    func runnerWithTools() async throws {
        let before = Date()
        let run = try await ClaudeCodeRunnerTests.fake.replay(
            "nightshift_tools", config: ["nightshift_tools": true, "mcp_config": "/etc/claude/mcp.json"], nightshiftExecutable: Self.program)
        let after = Date()

        // The agent's own config stays its own flag; Nightshift's comes after it.
        let configs = run.argv.filter { $0.hasPrefix("--mcp-config=") }
        #expect(configs.count == 2, "\(run.argv)")
        #expect(configs.first == "--mcp-config=/etc/claude/mcp.json")
        let nightshift = try JSONValue(jsonText: String(try #require(configs.last).dropFirst("--mcp-config=".count)))
        #expect(nightshift == ["mcpServers": ["nightshift": ["type": "stdio", "command": .string(Self.program), "args": ["mcp", "--run-tools"]]]])
        #expect(run.argv.filter { $0.hasPrefix("--allowedTools=") }
            == ["--allowedTools=mcp__nightshift__spawn_subtask", "--allowedTools=mcp__nightshift__wake_me"])

        // One spawn, for the call whose result was not an error, carrying the call's input.
        #expect(run.events.events("spawn").map(\.data) == [Self.spawnInput])
        #expect(run.events.events("tool_result").map { $0.data["is_error"] } == [false, true, false])
        let types = run.events.all.map(\.type)
        #expect(types.firstIndex(of: "spawn") == types.firstIndex(of: "tool_result").map { $0 + 1 }, "the spawn follows its result: \(types)")

        // The success waits instead: 30 minutes after the wake_me result was read, with its prompt.
        #expect(run.outcome.resolution == .waiting, "\(run.outcome)")
        let wakeAt = try #require(run.outcome.wakeAt)
        #expect(wakeAt >= before.addingTimeInterval(1800) && wakeAt <= after.addingTimeInterval(1800))
        #expect(run.outcome.message == Self.wakePrompt)
        #expect(run.outcome.wait.kind == .wake)
        #expect(run.outcome.usage.agentSessionID == "8e4b1d72-3a6f-4c59-b0e8-5d2f7a9c1e63")
        #expect(run.outcome.usage.costUSD == 0.02918415)
    }

    @Test("nightshift_tools = true with no known nightshift program fails at once, not retried, naming the key and NIGHTSHIFT_EXECUTABLE")
    func runnerWithoutProgram() async throws {
        let run = try await ClaudeCodeRunnerTests.fake.replay("nightshift_tools", config: ["nightshift_tools": true], nightshiftExecutable: nil)
        #expect(run.outcome.resolution == .failed(retryable: false))
        let error = try #require(run.outcome.error)
        #expect(error.contains("agent tester (claude_code): config key 'nightshift_tools'"), "\(error)")
        #expect(error.contains("NIGHTSHIFT_EXECUTABLE"), "\(error)")
        #expect(run.argv.isEmpty, "claude never started")
    }

    @Test("without nightshift_tools: no Nightshift flags, and a call of a tool named mcp__nightshift__… does nothing")
    func withoutTools() async throws {
        let run = try await ClaudeCodeRunnerTests.fake.replay("success_tool_use", nightshiftExecutable: Self.program)
        #expect(!run.argv.contains { $0.contains("nightshift") }, "\(run.argv)")
        #expect(run.outcome.resolution == .succeeded)

        // An MCP server of the agent's own config that happens to be named nightshift acts on nothing.
        let lines = try String(contentsOf: Self.session, encoding: .utf8).split(separator: "\n").map(String.init)
        var off = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        var on = ClaudeCodeStreamParser(lineLimit: 1 << 20, nightshiftTools: true)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let (offEvents, onEvents) = (lines.flatMap { off.handle(OutputLine(text: $0, truncated: false), now: now) },
                                     lines.flatMap { on.handle(OutputLine(text: $0, truncated: false), now: now) })
        #expect(offEvents.filter { $0.type == "spawn" }.isEmpty)
        #expect(off.wake == nil)
        #expect(onEvents.filter { $0.type == "spawn" }.count == 1)
        #expect(on.wake?.at == now.addingTimeInterval(1800))
        #expect(on.wake?.prompt == Self.wakePrompt)
    }

    @Test("a wake_me call whose result is an error, or a run that fails after a good one, does not wait")
    func wakeOnlyOnSuccess() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let call = #"{"type":"assistant","message":{"role":"assistant","content":[{"type":"tool_use","id":"toolu_w","name":"mcp__nightshift__wake_me","input":{"minutes":5}}]},"parent_tool_use_id":null,"session_id":"s"}"#
        let refused = #"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_w","type":"tool_result","content":[{"type":"text","text":"Not recorded"}],"is_error":true}]},"parent_tool_use_id":null,"session_id":"s"}"#
        let accepted = refused.replacingOccurrences(of: #","is_error":true"#, with: "")
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20, nightshiftTools: true)
        for line in [call, refused] { _ = parser.handle(OutputLine(text: line, truncated: false), now: now) }
        #expect(parser.wake == nil)
        for line in [call, accepted] { _ = parser.handle(OutputLine(text: line, truncated: false), now: now) }
        #expect(parser.wake?.at == now.addingTimeInterval(300))

        let failed = #"{"type":"result","subtype":"error_during_execution","is_error":true,"errors":["boom"],"session_id":"s"}"#
        _ = parser.handle(OutputLine(text: failed, truncated: false), now: now)
        let outcome = ClaudeCode.outcome(ProcessReport(status: .exited(1), stdout: parser, stderrTail: ""), settings: ClaudeCode.Settings())
        #expect(outcome.resolution == .failed(retryable: true), "\(outcome)")
    }

    /// The `nightshift_tools` session's file.
    static var session: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/claude-sessions/nightshift_tools.jsonl")
    }
}
