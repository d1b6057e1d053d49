import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

@Suite("Codex runner", .timeLimit(.minutes(1)))
struct CodexRunnerTests {
    /// The session id the recorded sessions start (and the resume scenario expects).
    static let threadID = "0199a7e2-5d1c-7f10-9a3b-4be1c2d3e4f5"
    /// The price table of the default config.
    static let prices: JSONValue = ["gpt-5-codex": ["input": 1.25, "cached_input": 0.125, "output": 10.0]]

    /// The fake `codex` (Tests/Fixtures/codex), with the default config of its runs.
    static let fake = FakeAgentCLI<Codex>(
        name: "codex", resumeSession: threadID, config: ["model": "gpt-5-codex", "prices": prices], prompt: "Fix the failing parser test.")

    @Test("a two-turn session succeeds with the last agent message, the thread's token totals and a priced cost")
    func success() async throws {
        let run = try await Self.fake.replay("success")
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.result?.hasPrefix("Fixed the off-by-one in `Parser.swift`") == true)
        let usage = run.outcome.usage
        // The second turn.completed carries the thread's running total: 51230 input (43520 cached), 2894 output.
        #expect(usage.tokensIn == 51230 - 43520)
        #expect(usage.cacheReadTokens == 43520)
        #expect(usage.tokensOut == 2894)
        #expect(abs(usage.costUSD - (7710 * 1.25 + 43520 * 0.125 + 2894 * 10.0) / 1_000_000) < 1e-12)
        #expect(usage.costEstimated)
        #expect(usage.agentSessionID == Self.threadID)
        #expect(usage.exitCode == 0)

        let events = run.events
        #expect(events.events("session").map(\.data) == [["session_id": .string(Self.threadID), "model": "gpt-5-codex"]])
        #expect(events.events("turn").compactMap { $0.data["phase"]?.stringValue } == ["started", "completed", "started", "completed"])
        #expect(events.events("turn")[1].data["usage"] == ["input_tokens": 24763, "cached_input_tokens": 20096, "output_tokens": 1530])
        let calls = events.events("tool_call")
        #expect(calls.count == 2)
        #expect(calls.first?.data == ["id": "item_1", "name": "command", "input": ["command": "bash -lc 'swift test --filter ParserTests'"]])
        let results = events.events("tool_result").map(\.data)
        #expect(results.map { $0["is_error"] } == [true, false])
        #expect(results.map { $0["exit_code"] } == [1, 0])
        #expect(results.first?["content"]?.stringValue?.contains("XCTAssertEqual failed") == true)
        #expect(events.events("file_change").first?.data["changes"] == [["path": "/work/repo/Sources/Parser/Parser.swift", "kind": "update"]])
        #expect(events.events("todo").count == 2)
        #expect(events.events("thinking").map(\.data) == [["text": "**Reproducing the failing parser test**"]])
        #expect(events.events("assistant").count == 2)
        #expect(events.events("log").isEmpty)
        #expect(run.stdin == "Fix the failing parser test.")
    }

    @Test("turn.failed fails the run, retryably, with its message")
    func turnFailed() async throws {
        let run = try await Self.fake.replay("turn_failed")
        #expect(run.outcome.resolution == .failed(retryable: true))
        #expect(run.outcome.error == "codex: turn failed (exit status 1): exceeded retry limit, last status: 429 Too Many Requests")
        #expect(run.outcome.usage.agentSessionID == "0199a7e9-0b44-7c33-8d2e-61f0a9b8c7d6")
        #expect(run.outcome.usage.exitCode == 1)
        #expect(run.events.events("turn").last?.data == ["phase": "failed", "error": "exceeded retry limit, last status: 429 Too Many Requests"])
        // The reconnect notice is a retry, not an error.
        #expect(run.events.events("error").count == 1)
        #expect(run.events.events("retry").count == 1)
        #expect(run.events.lines("stderr") == ["ERROR: exceeded retry limit, last status: 429 Too Many Requests"])
    }

    @Test("a CLI killed mid-stream fails retryably and keeps the thread id for a resume")
    func killed() async throws {
        let run = try await Self.fake.replay("killed")
        #expect(run.outcome.resolution == .failed(retryable: true))
        #expect(run.outcome.error == "codex: stream ended without turn.completed (killed by signal 9)")
        #expect(run.outcome.usage.agentSessionID == "0199a7f0-3e21-7a05-b6c4-0d9e8f7a6b5c")
        #expect(run.outcome.usage.tokensIn == 0)
        #expect(run.events.events("tool_call").map { $0.data["name"] } == ["command"])
    }

    @Test("lines that are no events are logged and skipped; unknown types are logged, not dropped")
    func noise() async throws {
        let run = try await Self.fake.replay("noise", config: ["model": "gpt-5-codex"])
        #expect(run.outcome == .succeeded(
            "Fixed the typo in README.md.",
            usage: RunUsage(
                tokensIn: 8120, tokensOut: 212, costEstimated: true, agentSessionID: "0199a7f4-92ab-7d61-a0e3-5f4e3d2c1b0a", exitCode: 0,
                turns: 1, model: "gpt-5-codex")))
        let logs = run.events.events("log").map(\.data)
        let warnings = logs.filter { $0["message"]?.stringValue?.hasPrefix("unparsed stream line: ") == true }
        #expect(warnings.compactMap { $0["line"]?.stringValue } == [
            "WARNING: proceeding, even though we could not update PATH: Operation not permitted (os error 1)",
            "[1,2,3]",
            #"{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"Done.""#,
        ])
        #expect(warnings.allSatisfy { $0["level"] == "warning" })
        let infos = logs.filter { $0["level"] == "info" }.compactMap { $0["message"]?.stringValue }
        #expect(infos == ["unknown event type token_count", "unknown item type plan"])
        #expect(logs.contains { $0 == ["level": "warning", "message": "no price for model gpt-5-codex; cost recorded as 0"] })
        #expect(run.events.events("assistant").map(\.data) == [["text": "Fixed the typo in README.md."]])
    }

    @Test("codex exec --json names no model: the usage carries the configured one, else none")
    func configuredModel() async throws {
        // A real capture (codex-cli 0.154): no line of it names the model.
        #expect(try await Self.fake.replay("real_cache_write_tokens").outcome.usage.model == "gpt-5-codex")
        #expect(try await Self.fake.replay("real_cache_write_tokens", config: [:]).outcome.usage.model == nil)
    }

    @Test("a line over 1 MiB is logged cut, and the run goes on")
    func hugeLine() async throws {
        try await Self.fake.expectHugeLineCut(
            prefix: #"{"type":"item.completed","item":{"id":"item_0","type":"command_execution""#,
            result: "The build log is large; the failure is a missing module map.")
    }

    @Test("a retry resumes the thread: `resume <thread_id> -` after the flags, the continuation prompt on stdin")
    func resume() async throws {
        let context = ResumeContext(sessionID: Self.threadID, fromAttempt: 1, hint: "PR #42 opened", previousError: "killed by signal 9")
        let run = try await Self.fake.replay("resume", resume: context)
        #expect(run.argv == ["exec", "--json", "--model=gpt-5-codex", "resume", Self.threadID, "-"])
        #expect(run.stdin == context.continuationPrompt)
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.result == "The fix from attempt 1 is in PR #42 and its checks pass; nothing left to do.")
        #expect(run.outcome.usage.agentSessionID == Self.threadID)
        let calls = run.events.events("tool_call").map(\.data)
        #expect(calls.first == ["id": "item_1", "name": "get_pull_request", "server": "github", "input": ["owner": "acme", "repo": "parser", "pull_number": 42]])
        #expect(calls.last?["name"] == "web_search")
        #expect(calls.last?["input"]?["query"] == "swift-format trailing comma rule")
        let result = try #require(run.events.events("tool_result").first?.data)
        #expect(result["content"] == #"PR #42 "Fix trailing comma" is open, 1 commit, checks passing."#)
        #expect(result["is_error"] == false)
        #expect(run.events.events("log").first?.data["message"] == .string("resuming session \(Self.threadID) of attempt 1"))
    }

    @Test("flags are single --flag=value tokens; with resume = false a retry starts a new thread")
    func arguments() async throws {
        let config: [String: JSONValue] = [
            "model": "o4-mini", "sandbox": "workspace-write", "full_auto": true, "skip_git_repo_check": true,
            "extra_args": ["--color=never"], "resume": false,
        ]
        let run = try await Self.fake.replay("success", config: config, resume: ResumeContext(sessionID: Self.threadID, fromAttempt: 1))
        #expect(run.argv == [
            "exec", "--json", "--model=o4-mini", "--sandbox=workspace-write", "--full-auto", "--skip-git-repo-check",
            "--color=never", "-",
        ])
        #expect(run.stdin == "Fix the failing parser test.")
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.usage.costUSD == 0)
        #expect(run.events.events("log").map(\.data) == [["level": "warning", "message": "no price for model o4-mini; cost recorded as 0"]])
    }

    @Test(
        "a bad config names the agent and the key",
        arguments: [
            (["sandbox_mode": "read-only"], "sandbox_mode"),
            (["prices": ["gpt-5-codex": 1.25]], "prices.gpt-5-codex"),
            (["prices": ["gpt-5-codex": ["input": 1.25]]], "prices.gpt-5-codex"),
            (["prices": ["gpt-5-codex": ["input": 1.25, "output": 10, "cache_write": 1]]], "prices.gpt-5-codex"),
            (["prices": "cheap"], "prices"),
            (["sandbox": "full"], "sandbox"),
            (["full_auto": "yes"], "full_auto"),
            (["skip_git_repo_check": 1], "skip_git_repo_check"),
        ] as [([String: JSONValue], String)]
    )
    func badConfig(config: [String: JSONValue], key: String) async throws {
        try await Self.fake.expectBadConfig(config, key: key)
    }
}
