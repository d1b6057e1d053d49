import Foundation
import Nightshift
import NightshiftDaemon
import Testing

@Suite struct ConfigTests {
    /// Writes `toml` to a fresh file under the temporary directory and returns its path.
    func write(_ toml: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-\(UUID().uuidString).toml")
        try toml.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func fullFileLoadsIntoAgentsDepthAndListen() throws {
        let path = try write("""
            [server]
            listen = "127.0.0.1:7777"
            keep_failed_workdirs = "12h"

            [queue]
            depth = 100000

            [agents.review]
            runner = "command"
            command = ["/usr/bin/env", "review-agent"]

            [agents.build]
            runner = "command"
            command = ["/bin/sh", "-c", "make"]
            workdir = "/srv/build"
            env = ["HOME", "PATH"]
            concurrency = 4
            timeout = "30m"
            max_attempts = 3
            initial_backoff = "2s"
            max_backoff = 600
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try NightshiftConfig.load(path: path, required: true)
        #expect(config.listen == ListenAddress(host: "127.0.0.1", port: 7777))
        #expect(config.keepFailedWorkdirs == 43_200, "12 hours, in seconds")
        #expect(config.queueDepth == 100_000)
        #expect(config.agents == [
            Agent(
                name: "build",
                runner: .command,
                config: .object([
                    "command": .array([.string("/bin/sh"), .string("-c"), .string("make")]),
                    "workdir": .string("/srv/build"),
                    "env": .array([.string("HOME"), .string("PATH")]),
                ]),
                concurrency: 4,
                timeout: 1800,
                retry: RetryPolicy(maxAttempts: 3, initialBackoff: 2, maxBackoff: 600)
            ),
            Agent(
                name: "review",
                runner: .command,
                config: .object(["command": .array([.string("/usr/bin/env"), .string("review-agent")])])
            ),
        ])
    }

    @Test("rate, quota_group and park_on_limit per agent; park_margin, park_default and park_max for the server; a bad rate names its key")
    func pacing() throws {
        let config = try NightshiftConfig(toml: """
            [server]
            park_margin = "2m"
            park_default = "10m"
            park_max = "4h"
            [agents.claude]
            runner = "claude_code"
            rate = "30/1h"
            quota_group = "anthropic"
            park_on_limit = false
            """, path: "nightshift.toml")
        #expect(config.parking == ParkPolicy(margin: 120, defaultDuration: 600, maxDuration: 14_400))
        let agent = try #require(config.agents.first)
        #expect(agent.rate == AgentRate(limit: 30, window: 3_600))
        #expect(agent.quotaGroup == "anthropic" && !agent.parkOnLimit)
        #expect(try NightshiftConfig(toml: "", path: "n.toml").parking == ParkPolicy())
        for rate in ["5/0s", "0/1h", "x"] {
            let error = #expect(throws: NightshiftError.self) {
                try NightshiftConfig(toml: "[agents.c]\nrunner = \"claude_code\"\nrate = \"\(rate)\"\n", path: "nightshift.toml")
            }
            #expect(error?.message.contains("agents.c.rate") == true, "\(error?.message ?? "")")
        }
        let shortCap = #expect(throws: NightshiftError.self) {
            try NightshiftConfig(toml: "[server]\npark_default = \"1h\"\npark_max = \"30m\"\n", path: "nightshift.toml")
        }
        #expect(shortCap?.message.contains("park_max") == true)
    }

    @Test("[server] metrics is open, token or off; absent, the daemon decides by its address; another value names the key")
    func metricsAccess() throws {
        #expect(try NightshiftConfig(toml: "[server]\nmetrics = \"token\"\n", path: "nightshift.toml").metricsAccess == .token)
        #expect(try NightshiftConfig(toml: "[server]\nmetrics = \"off\"\n", path: "nightshift.toml").metricsAccess == .off)
        #expect(try NightshiftConfig(toml: "", path: "nightshift.toml").metricsAccess == nil)
        let bad = #expect(throws: NightshiftError.self) { try NightshiftConfig(toml: "[server]\nmetrics = \"public\"\n", path: "nightshift.toml") }
        #expect(bad?.message.contains("server.metrics") == true, "\(bad?.message ?? "")")
        #expect(bad?.message.contains(#"expected one of "open", "token", "off""#) == true, "\(bad?.message ?? "")")
        #expect(ListenAddress(host: "127.0.0.1", port: 1).isLoopback && ListenAddress(host: "::1", port: 1).isLoopback)
        #expect(!ListenAddress(host: "0.0.0.0", port: 1).isLoopback)
    }

    @Test("[tracing] needs an http(s) endpoint; protocol, service_name, sample_ratio and export_delay load; bad ones name the key")
    func tracingSettings() throws {
        let config = try NightshiftConfig(toml: """
            [tracing]
            endpoint = "http://127.0.0.1:4318/v1/traces"
            protocol = "http/json"
            service_name = "night"
            sample_ratio = 0.5
            export_delay = "2s"
            """, path: "nightshift.toml")
        let tracing = try #require(config.tracing)
        #expect(tracing.endpoint == "http://127.0.0.1:4318/v1/traces" && tracing.encoding == .json && tracing.serviceName == "night")
        #expect(tracing.sampleRatio == 0.5 && tracing.exportDelay == 2)
        #expect(try NightshiftConfig(toml: "", path: "nightshift.toml").tracing == nil)
        for (toml, key) in [
            ("[tracing]\nprotocol = \"grpc\"\n", "tracing.endpoint"),
            ("[tracing]\nendpoint = \"udp://x\"\n", "tracing.endpoint"),
            ("[tracing]\nendpoint = \"http://x/v1/traces\"\nprotocol = \"grpc\"\n", "tracing.protocol"),
            ("[tracing]\nendpoint = \"http://x/v1/traces\"\nsample_ratio = 2\n", "tracing.sample_ratio"),
            ("[tracing]\nendpoint = \"http://x/v1/traces\"\nheaders = 1\n", "tracing.headers"),
        ] {
            let error = #expect(throws: NightshiftError.self) { try NightshiftConfig(toml: toml, path: "nightshift.toml") }
            #expect(error?.message.contains(key) == true, "\(error?.message ?? "")")
        }
    }

    @Test func laterRunnerNamesAreAccepted() throws {
        let config = try NightshiftConfig(toml: "[agents.claude]\nrunner = \"claude_code\"\n", path: "nightshift.toml")
        #expect(config.agents == [Agent(name: "claude", runner: RunnerKind("claude_code"))])
    }

    @Test("[server] stuck_queued_after and hook_retention load as seconds; a zero stuck_queued_after is refused")
    func hookSettings() throws {
        let config = try NightshiftConfig(toml: "[server]\nstuck_queued_after = \"15m\"\nhook_retention = \"72h\"\n", path: "nightshift.toml")
        #expect(config.stuckQueuedAfter == 900 && config.hookRetention == 259_200)
        let defaults = try NightshiftConfig(toml: "", path: "nightshift.toml")
        #expect(defaults.stuckQueuedAfter == nil && defaults.hookRetention == nil)
        #expect(throws: NightshiftError.self) { try NightshiftConfig(toml: "[server]\nstuck_queued_after = 0\n", path: "nightshift.toml") }
    }

    @Test("[webhooks.NAME] and [channels.NAME] load as webhooks (secret_env read from the environment); [server] public_url; bad ones name the key")
    func webhooksAndChannels() throws {
        let config = try NightshiftConfig(toml: """
            [server]
            public_url = "https://ns.example.com"
            [webhooks.ci]
            url = "https://ci.example.com/hook"
            events = ["task.done", "review_*"]
            secret_env = "CI_SECRET"
            max_attempts = 3
            timeout = "5s"
            [channels.ops]
            url = "https://hooks.slack.com/services/T/B/X"
            format = "slack"
            events = ["done", "failed"]
            """, path: "nightshift.toml", environment: ["CI_SECRET": "from-env"])
        #expect(config.publicURL == "https://ns.example.com")
        let ci = try #require(config.webhooks.first { $0.name == "ci" })
        #expect(ci.secret == "from-env" && ci.events == ["task.done", "review_*"] && ci.retry.maxAttempts == 3 && ci.timeout == 5)
        #expect(ci.channel == nil && ci.format == .event)
        let ops = try #require(config.webhooks.first { $0.name == "ops" })
        #expect(ops.channel == "ops" && ops.format == .slack && ops.events == ["done", "failed"] && !ops.secret.isEmpty)
        for (toml, key) in [
            ("[webhooks.ci]\nurl = \"ftp://x\"\nsecret = \"s\"\n", "webhooks.ci.url"),
            ("[webhooks.ci]\nurl = \"https://x\"\n", "webhooks.ci.secret"),
            ("[webhooks.ci]\nurl = \"https://x\"\nsecret_env = \"UNSET_VARIABLE\"\n", "webhooks.ci.secret_env"),
            ("[channels.ops]\nurl = \"https://x\"\nevents = [\"task.done\"]\n", "channels.ops.events"),
            ("[channels.ops]\nurl = \"https://x\"\nformat = \"xml\"\n", "channels.ops.format"),
            ("[server]\npublic_url = \"nowhere\"\n", "server.public_url"),
        ] {
            let error = #expect(throws: NightshiftError.self) { try NightshiftConfig(toml: toml, path: "nightshift.toml", environment: [:]) }
            #expect(error?.message.contains(key) == true, "\(toml): \(error?.message ?? "")")
        }
    }

    @Test func askSubtaskLimitsAndBlockedStaleAfter() throws {
        let config = try NightshiftConfig(toml: """
            [server]
            blocked_stale_after = "30m"
            [subtasks]
            max_depth = 2
            max_children = 0
            [agents.build]
            runner = "command"
            command = ["make"]
            ask = "always"
            [agents.claude]
            runner = "claude_code"
            ask = "off"
            """, path: "nightshift.toml")
        #expect(config.blockedStaleAfter == 1800)
        #expect(config.subtasks == SubtaskLimits(maxDepth: 2, maxChildren: 0))
        #expect(config.agents.map(\.ask) == [.always, .off])
        #expect(config.agents.last?.config == .object([:]), "ask is the agent's, not its runner's config")
        let defaults = try NightshiftConfig(toml: "[subtasks]\nmax_children = 7\n[agents.a]\nrunner = \"command\"\ncommand = [\"x\"]\n", path: "nightshift.toml")
        #expect(defaults.subtasks == SubtaskLimits(maxDepth: SubtaskLimits().maxDepth, maxChildren: 7))
        #expect(defaults.blockedStaleAfter == nil && defaults.agents.first?.ask == .off)
    }

    @Test("an agent's stall_timeout and the lanes' limits load; lanes sorted by name")
    func stallTimeoutAndLanes() throws {
        let path = try write("""
            [agents.build]
            runner = "command"
            command = ["make"]
            stall_timeout = "10m"

            [lanes.gpu]
            concurrency = 2

            [lanes.deploys]
            concurrency = 1
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try NightshiftConfig.load(path: path, required: true)
        #expect(config.agents.map(\.stallTimeout) == [600])
        #expect(config.lanes == [Lane(name: "deploys", concurrency: 1), Lane(name: "gpu", concurrency: 2)])
        #expect(try NightshiftConfig(toml: "", path: "x").lanes.isEmpty)
    }

    @Test func serverConnectionLimits() throws {
        let config = try NightshiftConfig(toml: "[server]\nidle_timeout = \"5s\"\nmax_connections = 64\n", path: "nightshift.toml")
        #expect(config.connectionLimits == ConnectionLimits(idleTimeout: 5, maxConnections: 64))
        #expect(try NightshiftConfig(toml: "", path: "nightshift.toml").connectionLimits == ConnectionLimits())
        for (body, key) in [("max_connections = 0", "server.max_connections"), ("idle_timeout = \"soon\"", "server.idle_timeout")] {
            let error = #expect(throws: NightshiftError.self) { try NightshiftConfig(toml: "[server]\n\(body)\n", path: "nightshift.toml") }
            #expect(error?.message.contains(key) == true, "\(error?.message ?? "")")
        }
    }

    @Test func emptyFileIsEmptyConfig() throws {
        #expect(try NightshiftConfig(toml: "", path: "nightshift.toml") == NightshiftConfig())
    }

    @Test(arguments: [
        ("45s", 45.0), ("30m", 1800), ("2h", 7200), ("1h30m", 5400), ("1.5h", 5400), ("90", 90), ("2.5", 2.5),
        ("1h2m3s", 3723), ("0s", 0),
    ])
    func durationsParse(text: String, seconds: Double) {
        #expect(NightshiftConfig.parseDuration(text) == seconds)
    }

    @Test(arguments: ["", "s", "-5s", "30m1h", "1h30", "1hh", "5 m", "1e3", ".5s", "1.s", "5d", "inf"])
    func badDurationsDoNotParse(text: String) {
        #expect(NightshiftConfig.parseDuration(text) == nil)
    }

    @Test func integerDurationIsSeconds() throws {
        let config = try NightshiftConfig(
            toml: "[agents.a]\nrunner = \"command\"\ncommand = [\"x\"]\ntimeout = 90\n", path: "nightshift.toml")
        #expect(config.agents.first?.timeout == 90)
    }

    static let agentHeader = "[agents.build]\nrunner = \"command\"\n"

    @Test(arguments: [
        // (file body, key that must be named, expectation and finding that must be named)
        ("[server]\nlisten = \"127.0.0.1:7777\"\n[agents.build\n", "line 3", "invalid TOML"),
        ("[queue]\ndepth = \"many\"\n", "queue.depth", "expected an integer ≥ 1, found \"many\" (a string)"),
        ("[queue]\ndepth = 0\n", "queue.depth", "expected an integer ≥ 1, found 0 (an integer)"),
        ("[agents.build]\ncommand = [\"x\"]\n", "agents.build.runner", "missing; expected one of \"claude_code\""),
        ("[agents.build]\nrunner = \"shell\"\n", "agents.build.runner", "expected one of \"claude_code\", \"codex\", \"command\", \"gemini\", found \"shell\""),
        (agentHeader, "agents.build.command", "missing; expected a non-empty array of strings"),
        (agentHeader + "command = []\n", "agents.build.command", "expected a non-empty array of strings, found [] (an array)"),
        (agentHeader + "command = \"make\"\n", "agents.build.command", "expected a non-empty array of strings, found \"make\" (a string)"),
        (agentHeader + "command = [\"make\", 1]\n", "agents.build.command", "expected a non-empty array of strings"),
        (agentHeader + "command = [\"x\"]\nenv = \"PATH\"\n", "agents.build.env", "expected an array of strings, found \"PATH\""),
        (agentHeader + "command = [\"x\"]\nworkdir = 5\n", "agents.build.workdir", "expected a string, found 5 (an integer)"),
        (agentHeader + "command = [\"x\"]\nconcurrency = 0\n", "agents.build.concurrency", "expected an integer ≥ 1, found 0"),
        (agentHeader + "command = [\"x\"]\nconcurrency = -2\n", "agents.build.concurrency", "expected an integer ≥ 1, found -2"),
        (agentHeader + "command = [\"x\"]\nmax_attempts = 0\n", "agents.build.max_attempts", "expected an integer ≥ 1, found 0"),
        (agentHeader + "command = [\"x\"]\ntimeout = 5.5\n", "agents.build.timeout", "expected a duration > 0 like \"30m\", \"1h30m\" or a whole number of seconds, found 5.5 (a float)"),
        (agentHeader + "command = [\"x\"]\ntimeout = \"5 minutes\"\n", "agents.build.timeout", "expected a duration > 0 like \"30m\""),
        (agentHeader + "command = [\"x\"]\ntimeout = \"0s\"\n", "agents.build.timeout", "expected a duration > 0 like \"30m\", \"1h30m\" or a whole number of seconds, found \"0s\" (a string)"),
        (agentHeader + "command = [\"x\"]\ninitial_backoff = -1\n", "agents.build.initial_backoff", "expected a duration like \"30m\""),
        (agentHeader + "command = [\"x\"]\ninitial_backoff = \"10m\"\nmax_backoff = \"1m\"\n", "agents.build.max_backoff", "≥ initial_backoff"),
        (agentHeader + "comand = [\"x\"]\n", "agents.build.comand", "unknown key; expected one of artifacts, ask, base, budget_usd, command, concurrency, env,"),
        (agentHeader + "command = [\"x\"]\nask = \"sometimes\"\n", "agents.build.ask", "expected one of \"off\", \"always\", \"on-miss\", found \"sometimes\" (a string)"),
        (agentHeader + "command = [\"x\"]\nask = true\n", "agents.build.ask", "expected one of \"off\", \"always\", \"on-miss\", found true (a boolean)"),
        (agentHeader + "command = [\"x\"]\nask = \"on-miss\"\n", "agents.build.ask", "needs a runner with a tool-approval hook"),
        (agentHeader + "command = [\"x\"]\nstall_timeout = \"soon\"\n", "agents.build.stall_timeout", "expected a duration > 0 like \"30m\""),
        (agentHeader + "command = [\"x\"]\nstall_timeout = 0\n", "agents.build.stall_timeout", "expected a duration > 0 like \"30m\", \"1h30m\" or a whole number of seconds, found 0 (an integer)"),
        ("[lanes.deploys]\nconcurrency = 0\n", "lanes.deploys.concurrency", "expected an integer ≥ 1, found 0 (an integer)"),
        ("[lanes.deploys]\nconcurrency = 1.5\n", "lanes.deploys.concurrency", "expected an integer ≥ 1, found 1.5 (a float)"),
        ("[lanes.deploys]\nconcurrency = \"2\"\n", "lanes.deploys.concurrency", "expected an integer ≥ 1, found \"2\" (a string)"),
        ("[lanes.deploys]\n", "lanes.deploys.concurrency", "missing; expected an integer ≥ 1"),
        ("[lanes.deploys]\nconcurrency = 1\nlimit = 2\n", "lanes.deploys.limit", "unknown key; expected one of concurrency"),
        ("[lanes]\ngpu = 2\n", "lanes.gpu", "expected a table, found 2 (an integer)"),
        ("[lanes.\(String(repeating: "x", count: 129))]\nconcurrency = 1\n", "lanes.\(String(repeating: "x", count: 129))", "the lane's name: expected at most 128 bytes"),
        ("[subtasks]\nmax_depth = -1\n", "subtasks.max_depth", "expected an integer ≥ 0, found -1 (an integer)"),
        ("[subtasks]\nmax_children = \"many\"\n", "subtasks.max_children", "expected an integer ≥ 0, found \"many\" (a string)"),
        ("[subtasks]\ndepth = 3\n", "subtasks.depth", "unknown key; expected one of max_children, max_depth"),
        ("[server]\nblocked_stale_after = \"soon\"\n", "server.blocked_stale_after", "expected a duration like \"30m\""),
        ("[server]\nblocked_stale_after = -5\n", "server.blocked_stale_after", "found -5 (an integer)"),
        ("[agents]\nbuild = 5\n", "agents.build", "expected a table, found 5 (an integer)"),
        ("[agents.\"bad name\"]\nrunner = \"command\"\ncommand = [\"x\"]\n", "agents.bad name", "expected 1 to 64 characters: an ASCII letter or digit"),
        ("[srever]\nlisten = \"127.0.0.1:7777\"\n", "srever", "unknown key; expected one of agents, channels, detectors, lanes, queue, schedules, server, subtasks, tracing, webhooks, workflows"),
        ("[server]\nport = 7777\n", "server.port", "unknown key; expected one of blocked_stale_after, hook_retention, idle_timeout, keep_failed_workdirs, listen, max_connections"),
        ("[server]\nkeep_failed_workdirs = \"a day\"\n", "server.keep_failed_workdirs", "expected a duration like \"30m\""),
        ("[server]\nlisten = \"localhost\"\n", "server.listen", "expected HOST:PORT like \"127.0.0.1:7777\", found \"localhost\" (a string)"),
        ("[server]\nlisten = \"127.0.0.1:99999\"\n", "server.listen", "expected HOST:PORT"),
        ("server = 1\n", "server", "expected a table, found 1 (an integer)"),
    ])
    func badInputNamesFileKeyAndExpectation(toml: String, key: String, expectation: String) throws {
        let path = try write(toml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: NightshiftError.self) { try NightshiftConfig.load(path: path, required: true) }
        #expect(error.code == .invalidInput)
        #expect(error.message.hasPrefix(path + ": "), "\(error.message)")
        #expect(error.message.contains(key), "\(error.message)")
        #expect(error.message.contains(expectation), "\(error.message)")
        if !key.hasPrefix("line ") { #expect(error.field == key) }
    }

    @Test func syntaxErrorNamesLineAndColumn() {
        #expect {
            try NightshiftConfig(toml: "[queue]\ndepth = = 1\n", path: "nightshift.toml")
        } throws: { error in
            let message = (error as? NightshiftError)?.message ?? ""
            return message.hasPrefix("nightshift.toml: line 2, column ") && message.contains("invalid TOML")
        }
    }

    @Test func missingOptionalFileIsEmptyConfig() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString).toml").path
        #expect(try NightshiftConfig.load(path: path, required: false) == NightshiftConfig())
    }

    @Test func missingRequiredFileNamesPath() {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString).toml").path
        #expect {
            try NightshiftConfig.load(path: path, required: true)
        } throws: { error in
            (error as? NightshiftError)?.message.contains(path) == true
        }
    }

    @Test(arguments: [
        ("127.0.0.1:7777", ListenAddress(host: "127.0.0.1", port: 7777)),
        ("localhost:0", ListenAddress(host: "localhost", port: 0)),
        ("[::1]:8080", ListenAddress(host: "::1", port: 8080)),
    ])
    func listenAddressesParse(text: String, address: ListenAddress) throws {
        #expect(try ListenAddress.parse(text) == address)
        #expect(address.description == text)
    }

    @Test(arguments: ["7777", ":7777", "host:", "host:port", "host:70000", "::1:7777", "[]:7777"])
    func badListenAddressesThrow(text: String) {
        #expect(throws: NightshiftError.self) { try ListenAddress.parse(text) }
    }
}

/// The API token's files: rotation by hand or with `nightshift token rotate`, seen without a restart.
@Suite("API token")
struct TokenAuthorityTests {
    @Test("a token written into <home>/token replaces the old one at once; rotate makes a new one; deleting the token file keeps the hash")
    func rotation() throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("ns-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        let authority = try TokenAuthority.load(home: home)
        let first = try String(contentsOf: home.appendingPathComponent("token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(first.hasPrefix("ns_") && authority.accepts(first))
        #expect(!authority.accepts("ns_guess"))

        try "by-hand-token\n".write(to: home.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        #expect(authority.accepts("by-hand-token"), "the running authority sees the new token")
        #expect(!authority.accepts(first), "and refuses the old one")
        #expect(try TokenAuthority.load(home: home).accepts("by-hand-token"), "the token file wins over the old hash at start too")

        let rotated = try TokenAuthority.rotate(home: home)
        #expect(rotated != "by-hand-token" && authority.accepts(rotated) && !authority.accepts("by-hand-token"))
        for name in ["token", "token.sha256"] {
            let mode = try FileManager.default.attributesOfItem(atPath: home.appendingPathComponent(name).path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(name)")
        }
        try FileManager.default.removeItem(at: home.appendingPathComponent("token"))
        #expect(try TokenAuthority.load(home: home).accepts(rotated), "the hash alone still decides")
    }

    @Test("[workflows.NAME] loads its steps in order; a bad step names workflows.NAME.steps[i] and what is wrong")
    func workflows() throws {
        let agents = "[agents.a]\nrunner = \"command\"\ncommand = [\"/bin/true\"]\n"
        let config = try NightshiftConfig(toml: agents + """
            [workflows.fix]
            steps = [
              { name = "one", agent = "a", prompt = "Reproduce: {{ input }}" },
              { name = "two", agent = "a", prompt = "Fix {{steps.one.result}}", timeout = "30m", max_attempts = 2 },
              { name = "test", command = ["swift", "test", "--filter", "{{steps.two.result}}"], max_attempts = 3 },
            ]
            """, path: "n.toml")
        #expect(config.workflows == [WorkflowSpec(name: "fix", steps: [
            WorkflowSpec.Step(name: "one", agent: "a", prompt: "Reproduce: {{ input }}"),
            WorkflowSpec.Step(name: "two", agent: "a", prompt: "Fix {{steps.one.result}}", timeout: 1800, maxAttempts: 2),
            WorkflowSpec.Step(name: "test", command: ["swift", "test", "--filter", "{{steps.two.result}}"], maxAttempts: 3),
        ])])
        for (steps, field, words) in [
            (#"[{ name = "one", agent = "a", prompt = "{{steps.two.result}}" }, { name = "two", agent = "a", prompt = "x" }]"#,
             "workflows.w.steps[0]", "names no earlier step"),
            (#"[{ name = "one", agent = "a", prompt = "{{steps.one.output}}" }]"#, "workflows.w.steps[0]", "unknown reference {{steps.one.output}}"),
            (#"[{ name = "one", agent = "a", prompt = "x" }, { name = "one", agent = "a", prompt = "y" }]"#, "workflows.w.steps[1]", "named twice"),
            (#"[{ name = "one", agent = "a", prompt = "x", retries = 2 }]"#, "workflows.w.steps[0].retries", "unknown key"),
            (#"[{ name = "one", prompt = "x" }]"#, "workflows.w.steps[0].agent", "missing"),
            (#"[{ name = "one", command = ["make"], agent = "a" }]"#, "workflows.w.steps[0].agent", "a command step has no agent"),
            (#"[{ name = "one", command = [] }]"#, "workflows.w.steps[0]", "expected a command"),
            (#"[{ name = "one", command = "make" }]"#, "workflows.w.steps[0].command", "an array of strings"),
            (#"[{ name = "one", command = ["echo", "{{steps.later.result}}"] }]"#, "workflows.w.steps[0]", "names no earlier step"),
            (#"[]"#, "workflows.w.steps", "at least one step"),
            (#""one""#, "workflows.w.steps", "an array of tables"),
        ] {
            let error = #expect(throws: NightshiftError.self) { try NightshiftConfig(toml: agents + "[workflows.w]\nsteps = \(steps)\n", path: "n.toml") }
            #expect(error?.field == field && error?.message.contains(words) == true, "\(steps): \(String(describing: error))")
        }
        let clash = #expect(throws: NightshiftError.self) {
            try NightshiftConfig(toml: agents + "[workflows.a]\nsteps = [{ name = \"one\", agent = \"a\", prompt = \"x\" }]\n", path: "n.toml")
        }
        #expect(clash?.message.contains("an agent has this name already") == true, "\(String(describing: clash))")
        #expect(WorkflowSpec.render("a {{input}} b {{ steps.one.result }} c", input: "IN", results: ["one": "R"]) == "a IN b R c")
    }

    @Test("[detectors.NAME] loads with its defaults; a bad prompt, key or name is named with what is wrong")
    func detectors() throws {
        let agents = "[agents.a]\nrunner = \"command\"\ncommand = [\"/bin/true\"]\n"
        let config = try NightshiftConfig(toml: agents + """
            [detectors.todo]
            command = ["/bin/cat", "items"]
            agent = "a"
            prompt = "Fix {{item.key}}: {{ item.payload.title }}"
            [detectors.slow]
            command = ["scan"]
            agent = "a"
            prompt = "{{item.payload}}"
            every = "1h"
            timeout = "30s"
            process = ["sh", "-c", "cat >> done"]
            """, path: "n.toml")
        #expect(config.detectors == [
            DetectorSpec(name: "slow", agent: "a", command: ["scan"], prompt: "{{item.payload}}", every: 3600, process: ["sh", "-c", "cat >> done"], timeout: 30),
            DetectorSpec(name: "todo", agent: "a", command: ["/bin/cat", "items"], prompt: "Fix {{item.key}}: {{ item.payload.title }}", every: 300, process: nil, timeout: 300),
        ])
        for (body, field, words) in [
            ("command = [\"x\"]\nagent = \"a\"\nprompt = \"{{item.title}}\"\n", "detectors.d.prompt", "unknown reference {{item.title}}"),
            ("command = [\"x\"]\nagent = \"a\"\nprompt = \"x\"\nevery = 0\n", "detectors.d.every", "a duration > 0"),
            ("command = []\nagent = \"a\"\nprompt = \"x\"\n", "detectors.d.command", "a non-empty array of strings"),
            ("agent = \"a\"\nprompt = \"x\"\n", "detectors.d.command", "missing"),
            ("command = [\"x\"]\nagent = \"a\"\nprompt = \"x\"\nschedule = \"5m\"\n", "detectors.d.schedule", "unknown key"),
        ] {
            let error = #expect(throws: NightshiftError.self) { try NightshiftConfig(toml: agents + "[detectors.d]\n" + body, path: "n.toml") }
            #expect(error?.field == field && error?.message.contains(words) == true, "\(body): \(String(describing: error))")
        }
        let clash = #expect(throws: NightshiftError.self) {
            try NightshiftConfig(toml: agents + "[detectors.a]\ncommand = [\"x\"]\nagent = \"a\"\nprompt = \"x\"\n", path: "n.toml")
        }
        #expect(clash?.message.contains("an agent or workflow has this name already") == true, "\(String(describing: clash))")
        let item = WorkItem(key: "k", priority: 2, payload: ["title": "crash", "labels": ["a"], "n": 3])
        #expect(item.render("{{item.key}}/{{item.priority}}: {{item.payload.title}} {{item.payload.labels}} {{item.payload.n}} [{{item.payload.none}}] [{{x}}]")
                == #"k/2: crash ["a"] 3 [] []"#)
    }
}
