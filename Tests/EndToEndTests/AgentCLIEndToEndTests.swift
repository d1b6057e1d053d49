import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

/// The fake agent CLIs under `Tests/Fixtures/`.
enum AgentFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures", isDirectory: true)

    /// The path of fake `name`, made executable (a checkout may lose the bit).
    static func path(_ name: String) throws -> String {
        let path = directory.appendingPathComponent(name).path
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }
}

@Suite("Agent CLIs through the daemon")
struct AgentCLIEndToEndTests {
    /// Starts `serve` with `config` and `environment` added to this process's.
    private func start(config: String, environment: [String: String]) async throws -> (DaemonProcess, CLIRunner) {
        let home = try makeHome()
        let port = try freePort()
        try config.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        return try await startDaemon(home: home, port: port, arguments: ["--listen", "127.0.0.1:\(port)"], environment: environment)
    }

    @Test("submit to a claude_code agent, follow its live events, see result, cost and session id on the task")
    func claudeCodeThroughDaemon() async throws {
        let claude = try AgentFixtures.path("claude")
        let (daemon, cli) = try await start(
            config: """
                [agents.claude]
                runner = "claude_code"
                executable = "\(claude)"
                env = ["PATH", "FAKE_CLAUDE_SCENARIO", "FAKE_CLAUDE_DELAY"]
                model = "claude-sonnet-4-5"
                max_turns = 8
                [agents.absent]
                runner = "claude_code"
                executable = "claude-not-installed-here"
                """,
            environment: ["FAKE_CLAUDE_SCENARIO": "success_tool_use", "FAKE_CLAUDE_DELAY": "0.1"])
        let id = try #require(try await cli.json(["submit", "fix the invoice rounding", "--agent", "claude", "--json"])["id"]?.stringValue)
        // Follow while it runs: the fake writes a line every 0.1 s.
        let follow = try cli.start(["logs", id, "--follow", "--json"])
        let followed = try await follow.finish()
        #expect(followed.status == 0, "\(followed)")
        let types = followed.stdout.split(separator: "\n").compactMap { line in
            (try? JSONValue(jsonText: String(line)))?["type"]?.stringValue
        }
        for expected in ["session", "assistant", "tool_call", "tool_result", "result"] {
            #expect(types.contains(expected), "\(expected) in \(types)")
        }
        #expect(types.firstIndex(of: "session")! < types.firstIndex(of: "result")!)

        let task = try await cli.json(["show", id, "--json"])
        #expect(task["state"] == "done")
        #expect(task["result"]?.stringValue?.hasPrefix("Fixed: `Invoice.rounded` now uses banker's rounding") == true)
        #expect(task["cost_usd"]?.doubleValue == 0.04437585)
        let token = try String(contentsOf: cli.home.appendingPathComponent("token"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let run = try #require(try await NightshiftClient(baseURL: cli.url, token: token).runs(task: id).last)
        #expect(run.agentSessionID == "8f3c2a71-5d4e-4b9a-a6c1-2e7f90d4b318")
        #expect(run.tokensOut == 612)
        #expect(run.cacheReadTokens == 41877)

        // Availability: the fake resolves with its version; the absent CLI does not.
        let check = try await cli.run(["agents", "check", "--json"])
        #expect(check.status == 1, "an absent CLI makes the check fail: \(check)")
        guard case .array(let reports)? = try JSONValue(jsonText: check.stdout)["agents"] else {
            Issue.record("no agents in \(check)")
            return
        }
        let present = try #require(reports.first { $0["agent"] == "claude" })
        #expect(present["available"] == true && present["path"]?.stringValue == claude)
        #expect(present["version"] == "2.1.52 (Claude Code)")
        let absent = try #require(reports.first { $0["agent"] == "absent" })
        #expect(absent["available"] == false)
        #expect(absent["problem"]?.stringValue?.hasPrefix("agent CLI not found: claude-not-installed-here (searched PATH=") == true)

        // A task for the absent CLI fails at once, without a retry.
        let failed = try await cli.run(["submit", "anything", "--agent", "absent", "--wait", "--json"])
        let failedTask = try JSONValue(jsonText: failed.stdout)
        #expect(failedTask["state"] == "error", "\(failed)")
        #expect(failedTask["attempt"] == .int(1))
        #expect(failedTask["error"]?.stringValue?.hasPrefix("agent CLI not found: claude-not-installed-here (searched PATH=") == true)
        #expect(await daemon.stop(SIGTERM) == 0, "daemon log:\n\(daemon.output)")
    }

    @Test("real captures through the daemon: totals and a denied call in show, a permanent failure not retried, subagents indented in logs, the quota in status")
    func realCapturesThroughDaemon() async throws {
        let claude = try AgentFixtures.path("claude")
        // One agent per capture: a wrapper that fixes the fake's scenario.
        let bin = try makeHome().appendingPathComponent("bin", isDirectory: true)
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        var config = ""
        for (agent, scenario) in [("denied", "real_permission_denied"), ("nologin", "real_not_logged_in"),
                                  ("subagent", "real_subagent"), ("quota", "real_rate_limit_allowed")]
        {
            let wrapper = bin.appendingPathComponent(agent).path
            try "#!/bin/sh\nFAKE_CLAUDE_SCENARIO=\(scenario) exec '\(claude)' \"$@\"\n"
                .write(toFile: wrapper, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
            config += "[agents.\(agent)]\nrunner = \"claude_code\"\nexecutable = \"\(wrapper)\"\nenv = [\"PATH\"]\n"
        }
        let (daemon, cli) = try await start(config: config, environment: [:])
        func run(_ agent: String) async throws -> (id: String, task: JSONValue) {
            let waited = try await cli.run(["submit", "do it", "--agent", agent, "--wait", "--json"])
            let task = try JSONValue(jsonText: waited.stdout)
            return (try #require(task["id"]?.stringValue), task)
        }

        // A success whose tool call was denied: the denial and the totals are in `show`.
        let denied = try await run("denied")
        #expect(denied.task["state"] == "done")
        #expect(denied.task["tokens_used"] == .int(8 + 421 + 60567 + 19688))
        #expect(denied.task["turns"] == 2)
        let shown = try await cli.run(["show", denied.id])
        #expect(shown.stdout.contains("warnings of attempt 1"), "\(shown)")
        #expect(shown.stdout.contains("permission denied: AskUserQuestion"), "\(shown)")
        #expect(shown.stdout.contains("80684 (in 8, out 421, cache read 60567, cache write 19688)"), "\(shown)")

        // Not logged in: an error after one attempt (the default allows two), in the CLI's words.
        let nologin = try await run("nologin")
        #expect(nologin.task["state"] == "error")
        #expect(nologin.task["attempt"] == .int(1))
        #expect(nologin.task["error"] == "claude: Not logged in · Please run /login")

        // A subagent's events are indented under the call that started it.
        let subagent = try await run("subagent")
        let logs = try await cli.run(["logs", subagent.id])
        #expect(logs.stdout.split(separator: "\n").contains { $0.contains("↳") && $0.contains("tool_call") }, "\(logs)")

        // The quota status the run saw is the agent's latest in `status`; its stats sum its task.
        _ = try await run("quota")
        let status = try await cli.json(["status", "--json"])
        guard case .array(let agents)? = status["agents"] else {
            Issue.record("no agents in status")
            return
        }
        let quota = try #require(agents.first { $0["agent"] == "quota" })
        #expect(quota["quota"]?["status"]?["status"] == "allowed")
        #expect(quota["stats"]?["tasks"] == 1)
        #expect(quota["stats"]?["tokens_used"] == .int(9923 + 197 + 34904 + 14392))
        let table = try await cli.run(["status"])
        #expect(table.stdout.contains("allowed five_hour"), "\(table)")
        #expect(await daemon.stop(SIGTERM) == 0, "daemon log:\n\(daemon.output)")
    }

    @Test("ask = on-miss through the daemon: the deferred call shows in show; approve --tool resumes it through the daemon's own hook; a runner without a hook is refused")
    func approvalBridgeThroughDaemon() async throws {
        let fake = try FakeClaude(scenario: "hooked_bash")
        defer { fake.cleanup() }
        let (daemon, cli) = try await start(
            config: """
                [agents.claude]
                runner = "claude_code"
                executable = "\(FakeClaude.path)"
                env = ["PATH", "FAKE_CLAUDE_SCENARIO", "FAKE_CLAUDE_RECORD_DIR"]
                ask = "on-miss"
                allowed_tools = ["Read"]
                """,
            environment: fake.environment)
        let id = try #require(try await cli.json(["submit", "print the probe", "--agent", "claude", "--json"])["id"]?.stringValue)
        #expect(try await eventually(timeout: .seconds(20)) { try await cli.json(["show", id, "--json"])["state"] == "waiting" })
        let task = try await cli.json(["show", id, "--json"])
        #expect(task["waiting_for"]?["tool_use_id"] == "toolu_01AYmzQsLpv4eaMXPvmWem35")
        #expect(task["waiting_for"]?["tool"] == "Bash")
        let show = try await cli.run(["show", id])
        #expect(show.stdout.contains("an approval of this call") && show.stdout.contains("echo realmkeeper-defer-probe"), "\(show)")
        let listed = try await cli.run(["list", "--state", "waiting"])
        #expect(listed.stdout.contains("approval: tool Bash"), "\(listed)")

        let approve = try await cli.run(["approve", id, "--tool", "--json"])
        #expect(approve.status == 0, "\(approve)")
        let input = try JSONValue(jsonText: approve.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(input["decisions"] == ["scope": "tool", "tool_use_id": "toolu_01AYmzQsLpv4eaMXPvmWem35", "tool": "Bash"], "\(input)")
        #expect(try await eventually(timeout: .seconds(20)) { try await cli.json(["show", id, "--json"])["state"] == "done" })
        let hooks = try fake.hooks()
        #expect(hooks.map { $0["output"]?["permissionDecision"]?.stringValue } == ["defer", "allow"])

        let refused = try await cli.run([
            "agents", "add", "shell", "--runner", "command", "--config", #"{"command":["true"]}"#, "--ask", "on-miss",
        ])
        #expect(refused.status != 0 && refused.stderr.contains("ask") && refused.stderr.contains("claude_code"), "\(refused)")
        #expect(await daemon.stop(SIGTERM) == 0, "daemon log:\n\(daemon.output)")
    }

    @Test("a runner config with an unknown key or a wrong type stops start-up naming the agent and the key")
    func badRunnerConfig() async throws {
        for (line, key) in [("max_turnz = 3", "agents.claude.max_turnz"), ("max_turns = \"many\"", "agents.claude.max_turns")] {
            let home = try makeHome()
            try """
                [agents.claude]
                runner = "claude_code"
                \(line)
                """.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
            let daemon = try DaemonProcess(home: home, arguments: ["--listen", "127.0.0.1:\(try freePort())"])
            #expect(try await eventually(timeout: .seconds(30)) { !daemon.process.isRunning })
            #expect(daemon.process.terminationStatus != 0)
            #expect(daemon.output.contains(key), "\(daemon.output)")
            #expect(daemon.output.contains("agent claude"), "\(daemon.output)")
        }
    }
}
