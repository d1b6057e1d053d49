import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

@Suite("Gemini runner", .timeLimit(.minutes(1)))
struct GeminiRunnerTests {
    /// The session id the recorded sessions start (and the resume scenario expects).
    static let sessionID = "c4f1e2d3-8b7a-4c6d-9e0f-1a2b3c4d5e6f"
    /// The price table of the default config.
    static let prices: JSONValue = ["gemini-2.5-pro": ["input": 1.25, "cached_input": 0.31, "output": 10.0]]

    /// The fake `gemini` (Tests/Fixtures/gemini), with the default config of its runs.
    static let fake = FakeAgentCLI<Gemini>(
        name: "gemini", resumeSession: sessionID, config: ["prices": prices], prompt: "Fix the failing parser test.")

    @Test("a session with tool use succeeds with the last turn's text, the result's tokens and a cost priced per model")
    func success() async throws {
        let run = try await Self.fake.replay("success")
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.result == "Fixed the off-by-one in `Parser.swift`; the parser tests pass now.")
        let usage = run.outcome.usage
        #expect(usage.tokensIn == 14366)
        #expect(usage.cacheReadTokens == 21504)
        // 1,204 output tokens and 1,137 thought tokens (total_tokens − input_tokens − output_tokens).
        #expect(usage.tokensOut == 1204 + 1137)
        // Only gemini-2.5-pro has a price (its thoughts: 36420 − 34310 − 1090); the router's
        // gemini-2.5-flash-lite tokens cost 0.
        #expect(abs(usage.costUSD - (12806 * 1.25 + 21504 * 0.31 + (1090 + 1020) * 10.0) / 1_000_000) < 1e-12)
        #expect(usage.costEstimated)
        #expect(usage.agentSessionID == Self.sessionID)
        #expect(usage.exitCode == 0)

        let events = run.events
        #expect(events.events("session").map(\.data) == [["session_id": .string(Self.sessionID), "model": "gemini-2.5-pro"]])
        #expect(events.events("assistant").count == 4)
        #expect(events.events("assistant").first?.data == ["text": "I'll run the parser tests first", "delta": true])
        let calls = events.events("tool_call").map(\.data)
        #expect(calls.compactMap { $0["name"]?.stringValue } == ["run_shell_command", "replace", "read_file"])
        #expect(calls.first?["input"] == ["command": "swift test --filter ParserTests", "description": "Run the parser tests"])
        #expect(calls.first?["id"] == "run_shell_command-1760433126901-2f6a1c9e8d7b4")
        let results = events.events("tool_result").map(\.data)
        #expect(results.compactMap { $0["name"]?.stringValue } == ["run_shell_command", "replace", "read_file"])
        #expect(results.map { $0["is_error"] } == [false, false, true])
        #expect(results.last?["content"] == "Error: File not found.")
        let result = try #require(events.events("result").first?.data)
        #expect(result["is_error"] == false)
        #expect(result["text"] == .string(run.outcome.result ?? ""))
        #expect(result["usage"] == ["input_tokens": 14366, "output_tokens": 2341, "cache_read_tokens": 21504, "cache_write_tokens": 0])
        #expect(result["duration_ms"] == 22384)
        #expect(events.events("log").map(\.data) == [
            ["level": "warning", "message": "no price for model gemini-2.5-flash-lite; cost recorded as 0"],
        ])
        #expect(run.stdin == "Fix the failing parser test.")
    }

    @Test("a result of status error fails the run, retryably, with the error's message")
    func errorResult() async throws {
        let run = try await Self.fake.replay("error")
        #expect(run.outcome.resolution == .failed(retryable: true))
        let message = try #require(run.outcome.error)
        // The API's JSON body is unwrapped to its message; the status kept.
        #expect(message == "gemini (exit 1): The model is overloaded. Please try again later. (HTTP 503)")
        #expect(run.events.events("error").map(\.data) == [["message": "Loop detected, stopping execution", "severity": "warning"]])
        #expect(run.events.events("result").first?.data["subtype"] == "Error")
        #expect(run.outcome.usage.agentSessionID == "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d")
    }

    @Test("exit 53, the turn limit, is a failure no retry can fix")
    func turnLimit() async throws {
        let run = try await Self.fake.replay("turn_limit")
        #expect(run.outcome.resolution == .failed(retryable: false))
        #expect(run.outcome.error == "gemini: turn limit reached (exit 53): Reached max session turns for this session. Increase the number of turns by specifying maxSessionTurns in settings.json.")
        #expect(run.outcome.usage.tokensIn == 9410)
        #expect(run.outcome.usage.exitCode == 53)
    }

    @Test("exit 42, an input error, is a failure no retry can fix")
    func inputError() async throws {
        let run = try await Self.fake.replay("input_error")
        #expect(run.outcome.resolution == .failed(retryable: false))
        #expect(run.outcome.error == "gemini: input error (exit 42): Exiting due to an error processing the @ command.")
        #expect(run.events.lines("stderr") == ["Path /work/repo/notes.md does not exist."])
    }

    @Test("a CLI killed mid-stream fails retryably and keeps the session id for a resume")
    func killed() async throws {
        let run = try await Self.fake.replay("killed")
        #expect(run.outcome.resolution == .failed(retryable: true))
        #expect(run.outcome.error == "gemini: killed by signal 9")
        #expect(run.outcome.usage.agentSessionID == "7c8d9e0f-1a2b-4c3d-9e4f-5a6b7c8d9e0f")
        #expect(run.events.events("tool_call").count == 1)
    }

    @Test("lines that are no events are logged and skipped; unknown types are logged, not dropped")
    func noise() async throws {
        let run = try await Self.fake.replay("noise", config: ["model": "gemini-2.5-flash"])
        #expect(run.outcome == .succeeded(
            "Fixed the typo in README.md.",
            usage: RunUsage(tokensIn: 6011, tokensOut: 97 + 132, costEstimated: true, agentSessionID: "3d4e5f6a-7b8c-4d9e-a0f1-b2c3d4e5f6a7", exitCode: 0,
                model: "gemini-2.5-flash")))
        let logs = run.events.events("log").map(\.data)
        let warnings = logs.filter { $0["message"]?.stringValue?.hasPrefix("unparsed stream line: ") == true }
        #expect(warnings.compactMap { $0["line"]?.stringValue } == [
            "Loaded cached credentials.", "[1,2,3]", #"{"type":"message","timestamp":"2025-10-14T12:30:46."#,
        ])
        #expect(logs.filter { $0["level"] == "info" }.compactMap { $0["message"]?.stringValue } == ["unknown event type thought"])
        #expect(logs.contains { $0 == ["level": "warning", "message": "no price for model gemini-2.5-flash; cost recorded as 0"] })
    }

    @Test("the usage names the model that did most of the work by the result's stats, over init's router alias and the configured model")
    func reportedModel() async throws {
        // Real captures: init names the router alias auto-gemini-3; the stats name the models it
        // routed to (gemini-3-flash-preview with 13,406 tokens, gemini-2.5-flash-lite with 883).
        #expect(try await Self.fake.replay("real_thought_tokens", config: ["model": "auto"]).outcome.usage.model == "gemini-3-flash-preview")
        // A failed run whose stats name its one model, at 0 tokens.
        #expect(try await Self.fake.replay("real_model_not_found").outcome.usage.model == "gemini-2.5-pro-exp-03-25")
        // Stats without a breakdown by model (a quota error): init's model, over the configured one.
        #expect(try await Self.fake.replay("real_quota", config: ["model": "gemini-2.5-flash"]).outcome.usage.model == "gemini-2.5-pro")
        // Nothing on stdout (an authentication failure): the configured model, else none.
        #expect(try await Self.fake.replay("real_auth_error", config: ["model": "gemini-2.5-flash"]).outcome.usage.model == "gemini-2.5-flash")
        #expect(try await Self.fake.replay("real_auth_error").outcome.usage.model == nil)
    }

    @Test("a line over 1 MiB is logged cut, and the run goes on")
    func hugeLine() async throws {
        try await Self.fake.expectHugeLineCut(
            prefix: #"{"type":"tool_result","#,
            result: "The build log is large; the failure is a missing module map.")
    }

    @Test("a retry resumes the session with --resume=<id> and the continuation prompt on stdin")
    func resume() async throws {
        let context = ResumeContext(sessionID: Self.sessionID, fromAttempt: 1, previousError: "killed by signal 9")
        let run = try await Self.fake.replay("resume", config: ["model": "gemini-2.5-pro", "prices": Self.prices], resume: context)
        #expect(run.argv == ["--output-format=stream-json", "--model=gemini-2.5-pro", "--resume=\(Self.sessionID)"])
        #expect(run.stdin == context.continuationPrompt)
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.result == "The fix from the previous attempt is in place and the tests pass.")
        #expect(run.outcome.usage.agentSessionID == Self.sessionID)
        #expect(abs(run.outcome.usage.costUSD - (2850 * 1.25 + 40960 * 0.31 + (74 + 218) * 10.0) / 1_000_000) < 1e-12)
    }

    @Test("flags are single --flag=value tokens, extra_args last; no --prompt: the prompt is stdin")
    func arguments() async throws {
        let config: [String: JSONValue] = [
            "model": "gemini-2.5-flash", "approval_mode": "auto_edit", "sandbox": true,
            "extra_args": ["--include-directories=/srv/shared"],
        ]
        let run = try await Self.fake.replay("success", config: config)
        #expect(run.argv == [
            "--output-format=stream-json", "--model=gemini-2.5-flash", "--approval-mode=auto_edit", "--sandbox",
            "--include-directories=/srv/shared",
        ])
        #expect(run.stdin == "Fix the failing parser test.")
        // The stream's `init` names the model actually used; no price table: cost 0, still an estimate.
        #expect(run.events.events("session").first?.data["model"] == "gemini-2.5-pro")
        #expect(run.outcome.usage.costUSD == 0)
        #expect(run.outcome.usage.costEstimated)
        #expect(run.events.events("log").count == 2)
    }

    @Test(
        "a bad config names the agent and the key",
        arguments: [
            (["approval-mode": "yolo"], "approval-mode"),
            (["approval_mode": "auto"], "approval_mode"),
            (["sandbox": "docker"], "sandbox"),
            (["prices": ["gemini-2.5-pro": [1.25, 10]]], "prices.gemini-2.5-pro"),
            (["prices": ["gemini-2.5-pro": ["input": -1, "output": 10]]], "prices.gemini-2.5-pro"),
            (["prices": [["gemini-2.5-pro"]]], "prices"),
        ] as [([String: JSONValue], String)]
    )
    func badConfig(config: [String: JSONValue], key: String) async throws {
        try await Self.fake.expectBadConfig(config, key: key)
    }
}
