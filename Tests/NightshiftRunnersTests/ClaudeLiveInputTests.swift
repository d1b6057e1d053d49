import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

@testable import NightshiftRunners

/// Claude Code with `input = "live"`: the prompt and every input as user-message lines on stdin
/// (`--input-format=stream-json`), stdin closed at the end of the first turn. The fake CLI replays
/// `real_stream_input`, two turns of one process (Tests/Fixtures/claude-sessions/REAL_CAPTURES.md).
@Suite("Claude Code live input", .timeLimit(.minutes(1)))
struct ClaudeLiveInputTests {
    static let fake = FakeAgentCLI<ClaudeCode>(
        name: "claude", resumeSession: ClaudeCodeRunnerTests.resumeSession, config: ["input": "live"],
        prompt: "Use the Bash tool to run exactly: sleep 20 && echo SLEEP_DONE")
    /// The session id of `real_stream_input`.
    static let session = "5b0e7c3a-91d4-4f2e-a8c6-3d7f1e9b2a04"
    /// What the first turn of `real_stream_input` ends with, and its cost.
    static let firstTurn = (text: "STEERED-s1-none", cost: 0.0156312)
    /// What its second turn ends with, and the process's cost by then (the CLI reports it cumulative).
    static let secondTurn = (text: "PROBE-OK", cost: 0.0181673)

    static func message(_ text: String) -> TaskInput {
        TaskInput(
            id: "in-1", taskID: TaskID.generate(), workspaceID: "default", seq: 1, kind: .message, text: text, decisions: nil,
            sender: "alice", idempotencyKey: nil, createdAt: Date(), delivery: .deliveredLive, deliveredAt: Date(), runID: "r")
    }

    /// The user-message lines the fake read on stdin, parsed.
    static func userLines(_ stdin: String?) throws -> [JSONValue] {
        try (stdin ?? "").split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
    }

    @Test("a user message line is the SDK's shape, its text kept whole (quotes, newlines)")
    func userMessageLine() throws {
        let text = "Say \"hi\"\nthen stop"
        let line = ClaudeCode.userMessageLine(text)
        #expect(!line.contains("\n"))
        #expect(try JSONValue(jsonText: line) == [
            "type": "user", "message": ["role": "user", "content": .string(text)], "parent_tool_use_id": .null,
            "session_id": "default",
        ])
    }

    @Test("input = live: --input-format=stream-json, the prompt as one user line; stdin closes at the first result and the run ends with it")
    func promptOnly() async throws {
        let live = LiveFeed()
        let run = try await Self.fake.replay("real_stream_input", live: live)
        #expect(run.argv.prefix(4) == ["-p", "--output-format=stream-json", "--verbose", "--input-format=stream-json"])
        #expect(run.stdin == ClaudeCode.userMessageLine(Self.fake.prompt) + "\n")
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.result == Self.firstTurn.text)
        #expect(run.outcome.usage.costUSD == Self.firstTurn.cost)
        #expect(run.outcome.usage.exitCode == 0)
        #expect(run.events.events("result").count == 1)
        #expect(live.endCount == 1, "live input ended at the first result")
    }

    @Test("without input = live (or with input = resume) the prompt is plain text and stdin closes after it")
    func notLive() async throws {
        for config: [String: JSONValue] in [[:], ["input": "resume"]] {
            let run = try await Self.fake.replay("success_tool_use", config: config)
            #expect(!run.argv.contains("--input-format=stream-json"))
            #expect(run.stdin == Self.fake.prompt)
            #expect(run.outcome.resolution == .succeeded)
        }
    }

    @Test("an input sent while the first turn runs reaches the CLI as a user line; answered in a turn of its own, the run ends with that turn's result")
    func inputAnsweredByItsOwnTurn() async throws {
        let live = LiveFeed()
        let input = Self.message("Also say PROBE-OK.")
        let run = try await Self.fake.replay(
            "real_stream_input", variables: ["FAKE_CLAUDE_HOLD_FIRST_RESULT": "1", "FAKE_CLAUDE_MIDTURN": "queue"], live: live
        ) { dir in
            // The fake holds its first result until a second user line comes: send it once the
            // first line is read, while the turn runs.
            if await eventually({ dir.read("stdin")?.hasSuffix("\n") == true }) { live.send(input) }
        }
        let lines = try Self.userLines(run.stdin)
        #expect(lines.count == 2)
        #expect(lines.first?["message"]?["content"] == .string(Self.fake.prompt))
        let written = try JSONValue(jsonText: ClaudeCode.userMessageLine(input.promptText))
        #expect(lines.last == written)
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.result == Self.secondTurn.text)
        #expect(run.outcome.usage.costUSD == Self.secondTurn.cost, "the last result's total, not the sum of both")
        #expect(run.outcome.usage.tokensOut == 637)
        #expect(run.outcome.usage.agentSessionID == Self.session)
        #expect(run.events.events("result").map { $0.data["text"] } == [.string(Self.firstTurn.text), .string(Self.secondTurn.text)])
        #expect(run.events.events("session").count == 2, "each turn starts with an init line, the same session")
    }

    @Test("a CLI that folds the input into the running turn (Claude Code 2.1.283) answers both with one result; stdin closes there, nothing waits")
    func inputFoldedIntoTheTurn() async throws {
        let live = LiveFeed()
        live.send(Self.message("Change of plan: reply with exactly the word STEERED-s1-none."))
        let run = try await Self.fake.replay("real_stream_input", variables: ["FAKE_CLAUDE_HOLD_FIRST_RESULT": "1"], live: live)
        #expect(try Self.userLines(run.stdin).count == 2)
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.result == Self.firstTurn.text)
        #expect(run.events.events("result").count == 1)
        #expect(run.outcome.usage.exitCode == 0)
    }

    @Test("an input handed over while the run ends live input is written before stdin closes, and answered")
    func inputUnderWayAtTheEnd() async throws {
        let input = Self.message("One more thing.")
        let live = LiveFeed(underWay: [input])
        let run = try await Self.fake.replay("real_stream_input", live: live)
        let lines = try Self.userLines(run.stdin)
        #expect(lines.count == 2)
        #expect(lines.last?["message"]?["content"] == .string("One more thing."))
        #expect(run.outcome.result == Self.secondTurn.text)
        #expect(run.events.events("result").count == 2)
    }

    @Test("a resumed live session: --resume and the continuation prompt as the first user line")
    func resumeLive() async throws {
        let context = ResumeContext(sessionID: ClaudeCodeRunnerTests.resumeSession, fromAttempt: 1, followUp: "The answer is 42.")
        let run = try await Self.fake.replay("resume", resume: context, live: LiveFeed())
        #expect(run.argv.contains("--resume=\(ClaudeCodeRunnerTests.resumeSession)"))
        #expect(run.argv.contains("--input-format=stream-json"))
        #expect(run.stdin == ClaudeCode.userMessageLine("The answer is 42.") + "\n")
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.result == "Migration and its test are in place; all tests pass.")
    }

    @Test("takesLiveInput answers for input = live only; another value fails validation naming the key and the accepted values")
    func config() async throws {
        let runner = AgentCLIRunner<ClaudeCode>(environment: [:])
        let agent = { (config: JSONValue) in Agent(name: "tester", runner: .claudeCode, config: config) }
        #expect(runner.takesLiveInput(agent(["input": "live"])))
        #expect(!runner.takesLiveInput(agent([:])))
        #expect(!runner.takesLiveInput(agent(["input": "resume"])))
        #expect(!runner.takesLiveInput(agent(["input": "sometimes"])))
        try await Self.fake.expectBadConfig(["input": "sometimes"], key: "input")
        let error = #expect(throws: NightshiftError.self) { try runner.validate(agent(["input": "sometimes"])) }
        #expect(error?.message.contains("one of resume, live, got 'sometimes'") == true, "\(error?.message ?? "")")
        // Codex has no live input: the key is unknown there.
        let codex = AgentCLIRunner<Codex>(environment: [:])
        let codexAgent = Agent(name: "tester", runner: .codex, config: ["input": "live"])
        #expect(!codex.takesLiveInput(codexAgent))
        #expect(throws: NightshiftError.self) { try codex.validate(codexAgent) }
    }
}
