import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

/// The fixture folders of the fake CLIs.
enum AgentFixturePaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures", isDirectory: true)
    static let gemini = root.appendingPathComponent("gemini-sessions", isDirectory: true)
}

/// Real captures of the agent CLIs (`real_*` under Tests/Fixtures/*-sessions, sources in their
/// READMEs), replayed through the real runners with their real stderr and exit codes.
@Suite("Real agent CLI captures", .timeLimit(.minutes(1)))
struct RealCaptureTests {
    static let claude = FakeAgentCLI<ClaudeCode>(name: "claude", resumeSession: "", prompt: "Do the task.")
    static let codex = FakeAgentCLI<Codex>(name: "codex", resumeSession: "", prompt: "Do the task.")
    static let gemini = FakeAgentCLI<Gemini>(name: "gemini", resumeSession: "", prompt: "Do the task.")

    // MARK: Claude Code

    @Test("error_max_turns with is_error false is a failure, not retried, whatever is_error says")
    func claudeMaxTurnsNotError() async throws {
        let run = try await Self.claude.replay("real_max_turns_not_error")
        #expect(run.outcome.resolution == .failed(retryable: false))
        #expect(run.outcome.error == "max turns reached (16 turns taken)")
        #expect(run.outcome.usage.turns == 16)
        #expect(run.outcome.usage.costUSD == 0.2149339)
        // modelUsage is empty in this capture: the result's own usage is the run's.
        #expect(run.outcome.usage.tokensOut == 5938)
        #expect(run.outcome.usage.cacheReadTokens == 841604)
    }

    @Test("permanent failures fail at once with the provider's words", arguments: [
        ("real_not_logged_in", "claude: Not logged in · Please run /login"),
        ("real_invalid_api_key", "claude: Invalid API key · Please run /login"),
        ("real_model_not_found",
         "claude: There's an issue with the selected model (no-such-model). It may not exist or you may not have access to it. Run --model to pick a different model. (HTTP 404)"),
        ("real_api_retry", "claude: Failed to authenticate. API Error: 401 Invalid authentication credentials"),
    ])
    func claudePermanent(scenario: String, error: String) async throws {
        let run = try await Self.claude.replay(scenario)
        #expect(run.outcome.resolution == .failed(retryable: false))
        #expect(run.outcome.label == "failed")
        #expect(run.outcome.error == error)
        #expect(run.outcome.usage.exitCode == 1)
    }

    @Test("an api_retry is a retry notice, counted on the result")
    func claudeAPIRetry() async throws {
        let run = try await Self.claude.replay("real_api_retry")
        #expect(run.events.events("retry").count == 1)
        #expect(run.events.events("retry").first?.data["error_status"] == 401)
        #expect(run.events.events("result").first?.data["api_retries"] == 1)
        #expect(run.events.events("log").allSatisfy { $0.data["message"]?.stringValue?.hasPrefix("unknown") != true })
    }

    @Test("a usage limit is its own kind, with the reset time of the rejected quota")
    func claudeUsageLimit() async throws {
        let run = try await Self.claude.replay("real_usage_limit")
        #expect(run.outcome.label == "usage_limit")
        #expect(run.outcome.resolution == .failed(retryable: true))
        #expect(run.outcome.error == "claude: You've hit your limit · resets 2pm (Asia/Shanghai)")
        #expect(run.outcome.resetsAt == Date(timeIntervalSince1970: 1778565600))
        #expect(run.events.events("rate_limit").first?.data["status"] == "rejected")
        #expect(run.events.quotas.map { $0["status"] } == ["rejected"])
    }

    @Test("a usage-limit text alone gives the reset time of day in its zone")
    func usageLimitText() throws {
        let now = Date(timeIntervalSince1970: 1778547600)  // 2026-05-12T01:00:00Z = 09:00 in Shanghai
        let failure = ProviderFailure.classify("You've hit your limit · resets 2pm (Asia/Shanghai)", now: now)
        #expect(failure.kind == .usageLimit)
        #expect(failure.resetsAt == Date(timeIntervalSince1970: 1778565600))  // 06:00Z = 14:00 in Shanghai
        let legacy = ProviderFailure.classify("Claude AI usage limit reached|1760043600", now: now)
        #expect(legacy.resetsAt == Date(timeIntervalSince1970: 1760043600))
        let gemini = ProviderFailure.classify("You have exhausted your capacity on this model. Your quota will reset after 3h5m30s.", now: now)
        #expect(gemini.resetsAt == now.addingTimeInterval(3 * 3600 + 5 * 60 + 30))
        // A per-minute quota is a rate limit: retried as usual.
        #expect(ProviderFailure.classify("Quota exceeded for quota metric 'Requests per minute'", status: 429).kind == .transient)
    }

    @Test("a reset at a time of day with minutes in an IANA zone, and 'tomorrow' at a time, are read")
    func usageLimitTomorrow() throws {
        let now = Date(timeIntervalSince1970: 1778547600)  // 2026-05-12T01:00:00Z = 06:30 in Colombo (UTC+5:30)
        let colombo = ProviderFailure.classify("You've hit your limit · resets 2:30pm (Asia/Colombo)", now: now)
        #expect(colombo.kind == .usageLimit)
        #expect(colombo.resetsAt == Date(timeIntervalSince1970: 1778576400))  // 09:00Z = 14:30 in Colombo
        // At 01:00 in Colombo, 02:00 tomorrow: 2026-05-13T02:00+05:30 = 2026-05-12T20:30Z, not the 02:00 an hour on.
        let tomorrow = ProviderFailure.classify("5-hour limit reached · resets tomorrow 02:00 (Asia/Colombo)", now: Date(timeIntervalSince1970: 1778527800))
        #expect(tomorrow.resetsAt == Date(timeIntervalSince1970: 1778617800))
        let at = ProviderFailure.classify("Usage limit reached, resets tomorrow at 9am (UTC)", now: now)
        #expect(at.resetsAt == Date(timeIntervalSince1970: 1778662800))  // 2026-05-13T09:00Z
    }

    @Test("quota status allowed is no event; it is reported to the context as the agent's latest")
    func claudeRateLimitAllowed() async throws {
        let run = try await Self.claude.replay("real_rate_limit_allowed")
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.events.events("rate_limit").isEmpty)
        #expect(run.events.events("quota").isEmpty)
        #expect(run.events.quotas.map { $0["status"] } == ["allowed"])
        #expect(run.events.quotas.first?["resetsAt"] == 1783159800)
        #expect(run.events.quotas.first?["rateLimitType"] == "five_hour")
        // Tokens are modelUsage's sums (two models), the scope of total_cost_usd.
        #expect(run.outcome.usage.tokensIn == 9923)
        #expect(run.outcome.usage.tokensOut == 197)
        #expect(run.events.events("result").first?.data["terminal_reason"] == "completed")
        #expect(run.outcome.usage.cacheReadTokens == 34904)
        #expect(run.outcome.usage.cacheWriteTokens == 14392)
        #expect(run.outcome.usage.costUSD == 0.42642399999999997)
    }

    @Test("a subagent's lines carry their parent tool call; the result is the main agent's")
    func claudeSubagent() async throws {
        let run = try await Self.claude.replay("real_subagent")
        #expect(run.outcome.result == "SMOKE-SUBAGENT-OK")
        let attributed = run.events.all.filter { $0.data["parent_tool_use_id"] != nil }
        #expect(!attributed.isEmpty)
        let parents = Set(attributed.compactMap { $0.data["parent_tool_use_id"]?.stringValue })
        let calls = Set(run.events.events("tool_call").filter { $0.data["parent_tool_use_id"] == nil }.compactMap { $0.data["id"]?.stringValue })
        #expect(parents.isSubset(of: calls))
        #expect(run.outcome.usage.tokensIn == 9923)
        #expect(run.outcome.usage.turns == 2)
    }

    @Test("partial-message lines are not logged as unknown")
    func claudePartialMessages() async throws {
        let run = try await Self.claude.replay("real_partial_messages")
        #expect(run.outcome.resolution == .succeeded)
        #expect(!run.events.events("log").contains { $0.data["message"]?.stringValue?.contains("unknown") == true })
        #expect(run.events.events("assistant").count == 1)
    }

    @Test("a success with a denied tool call keeps the denial as the run's warning")
    func claudePermissionDenied() async throws {
        let run = try await Self.claude.replay("real_permission_denied")
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.warnings.count == 1)
        #expect(run.outcome.warnings.first?.hasPrefix("permission denied: AskUserQuestion {") == true)
        let denials = run.events.events("result").first?.data["permission_denials"]
        guard case .array(let items)? = denials else { Issue.record("no permission_denials on the result"); return }
        #expect(items.first?["tool_name"] == "AskUserQuestion")
        // modelUsage (two models) covers more than the last message's usage.
        #expect(run.outcome.usage.tokensOut == 421)
        #expect(run.outcome.usage.cacheReadTokens == 60567)
    }

    @Test("a crash without a result quotes stderr's meaningful line, not the stack trace")
    func claudeStderrTrace() async throws {
        let run = try await Self.claude.replay("real_stderr_trace")
        #expect(run.outcome.resolution == .failed(retryable: true))
        #expect(run.outcome.error == "claude ended without a result (exit status 1): EPERM: operation not permitted, open '/Users/USERNAME/.codemachine/claude/.claude.json'")
        #expect(run.events.events("stderr").count > 5)
    }

    // MARK: Codex

    @Test("an unsupported model fails at once, its JSON-encoded message unwrapped", arguments: [
        ("real_unsupported_model", "The 'gpt-5.4' model is not supported when using Codex with a ChatGPT account. (invalid_request_error) (HTTP 400)"),
        ("real_unsupported_model_detail", "The 'gpt-5.6-sol' model is not supported when using Codex with a ChatGPT account."),
    ])
    func codexUnsupportedModel(scenario: String, message: String) async throws {
        let run = try await Self.codex.replay(scenario, config: ["skip_git_repo_check": true])
        #expect(run.outcome.resolution == .failed(retryable: false))
        #expect(run.outcome.error == "codex: turn failed (exit status 1): \(message)")
        #expect(run.events.events("error").allSatisfy { $0.data["message"]?.stringValue?.hasPrefix("{") == false })
    }

    @Test("reconnect notices are retries; a run that recovers shows no error")
    func codexReconnectRecovers() async throws {
        let run = try await Self.codex.replay("real_reconnecting_recovers")
        #expect(run.outcome.resolution == .succeeded)
        #expect(run.outcome.result == "OK")
        #expect(run.events.events("error").isEmpty)
        #expect(run.events.events("retry").map(\.data) == [
            ["message": "Reconnecting... 5/5 (request timed out)", "attempt": 5, "max_attempts": 5, "reason": "request timed out"],
        ])
    }

    @Test("refused credentials fail at once")
    func codexUnauthorized() async throws {
        let run = try await Self.codex.replay("real_unauthorized")
        #expect(run.outcome.resolution == .failed(retryable: false))
        #expect(run.outcome.error?.contains("401 Unauthorized") == true)
        #expect(run.events.events("retry").count == 5)
    }

    @Test("a usage limit is its own kind with the time of day it resets")
    func codexUsageLimit() async throws {
        let run = try await Self.codex.replay("real_usage_limit")
        #expect(run.outcome.label == "usage_limit")
        let reset = try #require(run.outcome.resetsAt)
        let parts = Calendar.current.dateComponents([.hour, .minute], from: reset)
        #expect(parts.hour == 12 && parts.minute == 16)
        #expect(reset > Date() && reset < Date().addingTimeInterval(86_400))
    }

    @Test("cache_write_input_tokens are mapped; reasoning is within output")
    func codexCacheWrite() async throws {
        let run = try await Self.codex.replay("real_cache_write_tokens")
        #expect(run.outcome.result == "готово")
        #expect(run.outcome.usage.tokensIn == 17382 - 12416)
        #expect(run.outcome.usage.cacheReadTokens == 12416)
        #expect(run.outcome.usage.cacheWriteTokens == 0)
        #expect(run.outcome.usage.tokensOut == 6)
        #expect(run.outcome.usage.turns == 1)
    }

    @Test("a failed file change is an error result and the run's warning")
    func codexFileChangeFailed() async throws {
        let run = try await Self.codex.replay("real_file_change_failed")
        let failed = run.events.events("file_change").filter { $0.data["is_error"] == true }
        #expect(failed.count == 2)
        #expect(run.outcome.warnings.count == 2)
        #expect(run.outcome.warnings.first?.hasPrefix("file change failed: ") == true)
    }

    // MARK: Tool calls

    @Test("a run's tool calls are counted by tool from each CLI's stream (counts read off the captures)")
    func toolCallsCounted() async throws {
        // Claude Code: the main agent's Agent call and its subagent's Read.
        #expect(try await Self.claude.replay("real_subagent").outcome.usage.toolCalls == ["Agent": 1, "Read": 1])
        // Codex: six commands, two file changes (both failed: still calls).
        #expect(try await Self.codex.replay("real_file_change_failed").outcome.usage.toolCalls == ["command": 6, "file_change": 2])
        // Gemini: four tools once each, one of them failing.
        #expect(try await Self.gemini.replay("real_tool_error").outcome.usage.toolCalls == [
            "write_file": 1, "list_directory": 1, "run_shell_command": 1, "read_file": 1,
        ])
    }

    // MARK: Gemini

    @Test("an authentication failure (exit 41, nothing on stdout) fails at once with stderr's words", arguments: [
        ("real_auth_error", "gemini: authentication error (exit 41): Please set an Auth method"),
        ("real_auth_signed_out", "gemini: authentication error (exit 41): Manual authorization is required"),
    ])
    func geminiAuth(scenario: String, prefix: String) async throws {
        let run = try await Self.gemini.replay(scenario)
        #expect(run.outcome.resolution == .failed(retryable: false))
        #expect(run.outcome.error?.hasPrefix(prefix) == true)
        #expect(run.outcome.error?.contains("\u{1B}") == false)
        #expect(run.outcome.error?.contains(" at ") == false)
    }

    @Test("thought tokens are output tokens")
    func geminiThoughts() async throws {
        let run = try await Self.gemini.replay("real_thought_tokens")
        #expect(run.outcome.usage.tokensOut == 14289 - 13945)
        #expect(run.outcome.usage.tokensIn == 8166)
        #expect(run.outcome.usage.cacheReadTokens == 5779)
    }

    @Test("a tool error keeps its type")
    func geminiToolError() async throws {
        let run = try await Self.gemini.replay("real_tool_error")
        let failed = run.events.events("tool_result").filter { $0.data["is_error"] == true }
        #expect(failed.count == 1)
        #expect(failed.first?.data["error_type"] == "file_not_found")
        #expect(failed.first?.data["name"] == "read_file")
    }

    @Test("a missing model (exit 148 = 404) fails at once")
    func geminiModelNotFound() async throws {
        let run = try await Self.gemini.replay("real_model_not_found")
        #expect(run.outcome.resolution == .failed(retryable: false))
        #expect(run.outcome.error == "gemini (exit 148): Requested entity was not found. (HTTP 404)")
    }

    @Test("a spent quota is a usage limit with its reset", arguments: ["real_quota", "real_stderr_trace", "real_quota_free_tier"])
    func geminiQuota(scenario: String) async throws {
        let before = Date()
        let run = try await Self.gemini.replay(scenario)
        #expect(run.outcome.label == "usage_limit")
        if scenario == "real_quota" {
            let reset = try #require(run.outcome.resetsAt)
            let seconds: Double = 3 * 3600 + 5 * 60 + 30
            // The reset is counted from when the line was read: between the replay's start and end
            // (which a loaded machine can stretch to seconds).
            let waited = reset.timeIntervalSince(before)
            #expect(waited >= seconds - 1)
            #expect(waited <= seconds + Date().timeIntervalSince(before) + 1)
        }
    }

    @Test("an overloaded model is transient: the CLI's own retry succeeded; the same stderr would be retried")
    func geminiTransient() async throws {
        let run = try await Self.gemini.replay("real_transient")
        // Gemini retried the 503 itself and the run succeeded (exit 0, a success result).
        #expect(run.outcome.resolution == .succeeded)
        #expect(!run.events.lines("stderr").isEmpty)
        // Had it failed with that stderr, the failure would be retryable and no usage limit.
        let stderr = try String(contentsOf: AgentFixturePaths.gemini.appendingPathComponent("real_transient.stderr"), encoding: .utf8)
        let failure = try #require(AgentStderr.failure(stderr))
        #expect(failure.kind == .transient)
        #expect(failure.status == 503)
        #expect(failure.retryable)
    }

    @Test("message content that is not a string is rendered")
    func geminiContent() {
        #expect(GeminiStreamInterpreter.text(of: [["text": "a"], ["text": "b"]]) == "ab")
        #expect(GeminiStreamInterpreter.text(of: ["text": "c"]) == "c")
        #expect(GeminiStreamInterpreter.text(of: 7) == "7")
    }
}

/// Cases no real capture was found for (see the fixtures' REAL_CAPTURES.md): hand-made lines in
/// the real shape.
@Suite("Agent stream parsers, hand-made lines")
struct HandMadeLineTests {
    @Test("several result lines without modelUsage: tokens summed, cost the last (cumulative) figure")
    func severalResults() {
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        for (cost, tokens) in [(0.1, 10), (0.3, 20)] {
            let line = #"{"type":"result","subtype":"success","is_error":false,"result":"r","session_id":"s","num_turns":1,"total_cost_usd":\#(cost),"usage":{"input_tokens":\#(tokens),"output_tokens":\#(tokens),"cache_read_input_tokens":1,"cache_creation_input_tokens":2}}"#
            _ = parser.handle(OutputLine(text: line, truncated: false), now: Date())
        }
        #expect(parser.usage.tokensIn == 30)
        #expect(parser.usage.tokensOut == 30)
        #expect(parser.usage.cacheReadTokens == 2)
        #expect(parser.usage.cacheWriteTokens == 4)
        #expect(parser.usage.costUSD == 0.3)
    }

    @Test("Codex cache writes (non-zero in no real capture): counted apart from uncached input, priced as input")
    func codexCacheWrite() {
        let prices = PriceTable(models: ["m": .init(input: 1, cachedInput: 0.1, output: 10)])
        var codex = CodexStreamInterpreter(model: "m", prices: prices, lineLimit: 1 << 20)
        let line = #"{"type":"turn.completed","usage":{"input_tokens":1000,"cached_input_tokens":600,"cache_write_input_tokens":300,"output_tokens":50,"reasoning_output_tokens":20}}"#
        _ = codex.handle(OutputLine(text: line, truncated: false), now: Date())
        #expect(codex.usage.tokensIn == 100)
        #expect(codex.usage.cacheReadTokens == 600)
        #expect(codex.usage.cacheWriteTokens == 300)
        #expect(codex.usage.tokensOut == 50)
        // 100 uncached and 300 written at the input price, 600 read at the cached price.
        let expected: Double = (400 * 1 + 600 * 0.1 + 50 * 10) / 1_000_000
        #expect(abs(codex.usage.costUSD - expected) < 1e-15)
    }

    @Test("Gemini's config error (exit 52, text from gemini-cli's errors.ts; no real capture) fails at once, quoting stderr")
    func geminiConfigError() {
        let stderr = "Error in /home/dev/.gemini/settings.json: Unexpected token } in JSON at position 120\nPlease fix the configuration file(s) and try again."
        let stream = GeminiStreamInterpreter(model: nil, prices: PriceTable(), lineLimit: 1 << 20)
        let outcome = Gemini.outcome(
            ProcessReport(status: .exited(52), stdout: stream, stderrTail: stderr),
            settings: Gemini.Settings(approvalMode: nil, sandbox: false, prices: PriceTable()))
        #expect(outcome.resolution == .failed(retryable: false))
        #expect(outcome.error == "gemini: config error (exit 52): Error in /home/dev/.gemini/settings.json: Unexpected token } in JSON at position 120")
    }

    @Test("a line with a result missing its fields is kept and the run goes on")
    func resultMissingFields() {
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        let events = parser.handle(OutputLine(text: #"{"type":"result"}"#, truncated: false), now: Date())
        #expect(events.map(\.type) == ["result"])
        #expect(parser.result?.isError == true)
    }
}
