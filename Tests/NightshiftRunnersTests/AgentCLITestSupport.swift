import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fake agent CLI of `Tests/Fixtures` (`claude`, `codex`, `gemini`), replaying
/// `<name>-sessions/<scenario>.jsonl`; it reads `FAKE_<NAME>_SCENARIO`, `…_RECORD_DIR` (where it
/// writes its argv, one argument a line, and stdin) and `…_EXPECT_RESUME`.
struct FakeAgentCLI<Dialect: AgentCLIDialect>: Sendable {
    /// What one run produced and received: the outcome, the events, the fake's argv and stdin.
    typealias Replay = (outcome: RunOutcome, events: EventRecorder, argv: [String], stdin: String?)

    /// The daemon's `PATH`.
    static var searchPath: String { ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin" }

    /// The fixture's name: `claude`, `codex` or `gemini`.
    let name: String
    /// The session id the `resume` scenario expects to be resumed with.
    let resumeSession: String
    /// The config keys of a run that names none, besides the executable and the environment allowlist.
    var config: [String: JSONValue] = [:]
    /// The task's prompt.
    var prompt: String

    /// The script's path, made executable in case the checkout lost the bit.
    var path: String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(name)").path
        chmod(path, 0o755)
        return path
    }

    /// The variables the fake reads, for `scenario`, recording into `dir`.
    func environment(_ scenario: String, recordingInto dir: TempDir) -> [String: String] {
        let prefix = "FAKE_\(name.uppercased())_"
        return [
            "PATH": Self.searchPath, prefix + "SCENARIO": scenario, prefix + "RECORD_DIR": dir.path("."),
            prefix + "EXPECT_RESUME": resumeSession,
        ]
    }

    /// An agent config running the fake with `extra` keys, passing `environment` through.
    func config(_ extra: [String: JSONValue], environment: [String: String] = [:]) -> JSONValue {
        var full = extra
        full["executable"] = .string(path)
        if !environment.isEmpty { full["env"] = .array(environment.keys.sorted().map { .string($0) }) }
        return .object(full)
    }

    /// Runs `scenario` through the real runner in a fresh directory, for an agent with `config`
    /// (default: ``config``); a `resume` context makes it attempt 2. `variables` are more of the
    /// fake's variables; `live` hands the run live inputs; `whileRunning` runs beside the run, with
    /// the directory the fake records into. The runner knows `nightshiftExecutable` as the
    /// `nightshift` program.
    func replay(
        _ scenario: String, config: [String: JSONValue]? = nil, resume: ResumeContext? = nil, budgetUSD: Double? = nil,
        variables: [String: String] = [:], live: LiveFeed? = nil, whileRunning: @escaping @Sendable (TempDir) async -> Void = { _ in },
        nightshiftExecutable: String? = nil
    ) async throws -> Replay {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let environment = environment(scenario, recordingInto: dir).merging(variables) { _, given in given }
        let request = Fixture.request(
            config: self.config(config ?? self.config, environment: environment), prompt: prompt, directory: dir.url,
            runner: Dialect.kind, attempt: resume == nil ? 1 : 2, resume: resume, budgetUSD: budgetUSD)
        let runner = AgentCLIRunner<Dialect>(
            killGrace: .seconds(2), limits: CommandLimits(), environment: environment, nightshiftExecutable: nightshiftExecutable)
        let events = EventRecorder()
        async let beside: Void = whileRunning(dir)
        let outcome = try await runner.run(request, context: events.context(live: live))
        await beside
        let argv = dir.read("argv").map { $0.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
        return (outcome, events, argv ?? [], dir.read("stdin"))
    }

    /// Checks that `config` fails validation naming the agent and `key`, and that a run fails with
    /// the same message, not retryable.
    func expectBadConfig(
        _ config: [String: JSONValue], key: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let request = Fixture.request(config: self.config(config), directory: dir.url, runner: Dialect.kind)
        let runner = AgentCLIRunner<Dialect>(killGrace: .seconds(2), limits: CommandLimits(), environment: [:])
        let error = #expect(throws: NightshiftError.self, sourceLocation: sourceLocation) { try runner.validate(request.agent) }
        #expect(error?.field == key, sourceLocation: sourceLocation)
        #expect(error?.message.contains("agent tester") == true, sourceLocation: sourceLocation)
        #expect(error?.message.contains("'\(key)'") == true, sourceLocation: sourceLocation)
        let outcome = try await runner.run(request, context: EventRecorder().context)
        #expect(outcome.resolution == .failed(retryable: false), sourceLocation: sourceLocation)
        #expect(outcome.error == error?.message, sourceLocation: sourceLocation)
    }

    /// Replays `huge_line`: the run succeeds with `result`, and its line over 1 MiB (a tool result
    /// starting with `prefix`) is one `log` warning quoting at most 2 KiB of it, not a `tool_result`.
    func expectHugeLineCut(
        prefix: String, result: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let run = try await replay("huge_line")
        #expect(run.outcome.resolution == .succeeded, sourceLocation: sourceLocation)
        #expect(run.outcome.result == result, sourceLocation: sourceLocation)
        let cut = run.events.events("log").map(\.data).filter { $0["truncated"] == true }
        #expect(cut.count == 1, sourceLocation: sourceLocation)
        let line = try #require(cut.first?["line"]?.stringValue, sourceLocation: sourceLocation)
        #expect(line.hasPrefix(prefix), sourceLocation: sourceLocation)
        #expect(line.utf8.count <= 2048, sourceLocation: sourceLocation)
        #expect(run.events.events("tool_result").isEmpty, sourceLocation: sourceLocation)
    }
}
