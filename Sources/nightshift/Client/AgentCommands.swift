import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift agents`: the configured agents (`list`, the default, and `show`), whether their CLIs
/// run here (`check`), creating, replacing and deleting them (`add`, `set`, `delete`), ending a
/// usage limit's park early (`unpark`), and their runs per day (`stats`).
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "List, show, check, add, replace and delete the agents tasks run on, and show their stats.",
        subcommands: [
            AgentsListCommand.self, AgentsShowCommand.self, AgentsCheckCommand.self, AgentsAddCommand.self, AgentsSetCommand.self,
            AgentsDeleteCommand.self, AgentsUnparkCommand.self, AgentsStatsCommand.self,
        ],
        defaultSubcommand: AgentsListCommand.self)
}

/// `nightshift agents check`: for each agent, whether its CLI resolves, its path and its version.
struct AgentsCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Show whether each agent's CLI is found on the daemon's PATH, where, and its --version.",
        discussion: CLIExitCodes.discussion(
            "Exits 1 when an agent's CLI is missing; what is wrong with it is printed under the table. "
                + "With --json, prints {\"agents\":[{agent, runner, available, path, version, problem}]}."))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let agents = try await options.client().status(refresh: true).agents
        if options.json {
            CLIOutput.json(["agents": .array(agents.map(\.json))])
        } else {
            var table = CLITable(["AGENT", "RUNNER", "AVAILABLE", "PATH", "VERSION"])
            for agent in agents {
                table.add([
                    .init(agent.agent, style: "1"), .init(agent.runner),
                    .init(agent.available ? "yes" : "no", style: agent.available ? "32" : "31"),
                    .init(CLIOutput.text(agent.path)), .init(CLIOutput.text(agent.version)),
                ])
            }
            table.print()
            // A problem ("not found … searched PATH=…") is too long for a cell: one line each, under the table.
            let problems = agents.compactMap { agent in agent.problem.map { (agent.agent, $0) } }
            if !problems.isEmpty { CLIOutput.line("") }
            for (name, problem) in problems {
                CLIOutput.line(CLIOutput.bold(name) + ": " + CLIOutput.paint(problem, "31"))
            }
        }
        if agents.contains(where: { !$0.available }) { throw ExitCode.failure }
    }
}

/// `nightshift agents list`: the configured agents.
struct AgentsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the agents tasks can run on.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's answer: {\"agents\":[..]}."))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let agents = try await options.client().agents()
        if options.json {
            CLIOutput.json(WireAgentList(agents: agents))
            return
        }
        guard !agents.isEmpty else {
            CLIOutput.line("no agents")
            return
        }
        // Only when an agent asks before its tasks run, or has a stall watchdog: otherwise the
        // column would say `off` or `-` throughout.
        let asks = agents.contains { $0.ask != AskPolicy.off.rawValue }
        let watches = agents.contains { $0.stallTimeout != nil }
        var table = CLITable(
            ["NAME", "RUNNER", "CONCURRENCY", "TIMEOUT"] + (watches ? ["STALL"] : []) + ["ATTEMPTS"] + (asks ? ["ASK"] : []) + ["COMMAND"],
            rightAligned: watches ? [2, 3, 4, 5] : [2, 3, 4])
        for agent in agents {
            var command = "-"
            if case .array(let argv)? = agent.config["command"] {
                command = argv.map { CLIOutput.text($0) }.joined(separator: " ")
            } else if agent.config != .null, agent.config != .object([:]) {
                command = agent.config.jsonText
            }
            var cells: [CLITable.Cell] = [
                .init(agent.name, style: "1"), .init(agent.runner),
                .init(CLIOutput.text(agent.concurrency)),
                .init(agent.timeout.map { CLIOutput.duration($0) } ?? "-"),
            ]
            if watches { cells.append(.init(agent.stallTimeout.map { CLIOutput.duration($0) } ?? "-")) }
            cells.append(.init(String(agent.maxAttempts)))
            if asks { cells.append(.init(agent.ask, style: agent.ask == AskPolicy.off.rawValue ? nil : "35")) }
            cells.append(.init(CLIOutput.short(command, width: 60)))
            table.add(cells)
        }
        table.print()
    }
}

/// `nightshift agents show NAME`: one agent, field by field.
struct AgentsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one agent's settings.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such agent. With --json, prints the API's agent object."))

    @Argument(help: "The agent's name.")
    var name: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let agent = try await options.client().agent(named: name)
        if options.json {
            CLIOutput.json(agent)
            return
        }
        let seconds = { (value: Double?) in value.map { CLIOutput.duration($0) } ?? "-" }
        let fields: [(String, String)] = [
            ("runner", agent.runner), ("config", agent.config.jsonText), ("concurrency", CLIOutput.text(agent.concurrency)),
            ("timeout", seconds(agent.timeout)), ("stall_timeout", seconds(agent.stallTimeout)),
            ("max_attempts", String(agent.maxAttempts)), ("initial_backoff", CLIOutput.duration(agent.initialBackoff)),
            ("max_backoff", CLIOutput.duration(agent.maxBackoff)),
            ("budget_usd", agent.budgetUSD.map(CLIOutput.formatNumber) ?? "-"), ("spent_usd", CLIOutput.formatNumber(agent.spentUSD)),
            ("inject_memories", agent.injectMemories ? "yes" : "no"), ("ask", agent.ask),
        ]
        CLIOutput.line(CLIOutput.bold(agent.name))
        for (key, value) in fields { CLIOutput.line("  \(key.padding(toLength: 16, withPad: " ", startingAt: 0))\(value)") }
    }
}

/// The fields of an agent as `agents add` and `agents set` take them: the API's agent object.
struct AgentFields: ParsableArguments {
    @Argument(help: "The agent's name.")
    var name: String

    @Option(help: "The runner: command, claude_code, codex or gemini.")
    var runner: String

    @Option(help: ArgumentHelp(
        "The runner's settings as a JSON object, e.g. '{\"command\":[\"make\",\"-C\",\"/src\"]}' for command.", valueName: "json"))
    var config: String?

    @Option(help: "Runs of this agent at once, on all nodes together (default: no limit).")
    var concurrency: Int?

    @Option(help: "Seconds a run may take.")
    var timeout: Double?

    @Option(help: ArgumentHelp(
        "Seconds a run may go without an event (an output line of its agent) before it is stopped as stalled and retried, resuming its session.",
        valueName: "seconds"))
    var stallTimeout: Double?

    @Option(help: "Attempts in all, the first included.")
    var maxAttempts: Int?

    @Option(help: "Seconds before the first retry.")
    var initialBackoff: Double?

    @Option(help: "Most seconds between retries.")
    var maxBackoff: Double?

    @Option(help: ArgumentHelp("The agent's spending limit in US dollars, all its runs together.", valueName: "usd"))
    var budget: Double?

    @Flag(help: "Put the agent's memories before each prompt.")
    var injectMemories = false

    @Option(help: ArgumentHelp(
        "always: each of its tasks waits for `nightshift approve` before its first run; on-miss (claude_code agents): a tool call outside its allowed_tools waits for an approval, and its own questions for an answer; off (the default): neither. A task's --ask overrides it.",
        valueName: "off|always|on-miss"))
    var ask: String?

    @Option(help: ArgumentHelp(
        "What its processes may do, as JSON: security, allow, workspace, network, hosts, sandbox, memory, cpu_seconds, max_processes, max_output_bytes (docs/sandbox.md).",
        valueName: "json"))
    var policy: String?

    func validate() throws {
        if let config {
            guard (try? JSONValue(jsonText: config))?.objectValue != nil else {
                throw ValidationError("--config: expected a JSON object, got '\(config)'")
            }
        }
        if let budget, !(budget > 0 && budget.isFinite) { throw ValidationError("--budget: expected US dollars > 0, got \(budget)") }
    }

    /// The request body; `name` is included for `POST /v1/agents`.
    func body(includingName: Bool) throws -> WireAgentWrite {
        WireAgentWrite(
            name: includingName ? name : nil, runner: runner, config: try config.map { try JSONValue(jsonText: $0) },
            concurrency: concurrency, timeout: timeout, maxAttempts: maxAttempts, initialBackoff: initialBackoff,
            maxBackoff: maxBackoff, budgetUSD: budget, injectMemories: injectMemories, ask: ask, stallTimeout: stallTimeout,
            policy: try policy.map { try JSONValue(jsonText: $0) })
    }

    /// `NAME  RUNNER`, and `ask ASK` unless it is off: the line `add` and `set` print.
    static func summary(_ agent: WireAgent) -> String {
        "\(CLIOutput.bold(agent.name))  \(agent.runner)" + (agent.ask == AskPolicy.off.rawValue ? "" : "  ask \(agent.ask)")
    }
}

/// `nightshift agents add NAME --runner KIND`.
struct AgentsAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Create an agent.",
        discussion: CLIExitCodes.discussion("""
            Exits 1 if an agent of that name exists (`agents set` replaces it); 2 if the daemon rejects a \
            field, naming it. Prints the agent's name and runner; with --json, the API's agent object. An \
            agent the config file defines is reset to the file's definition when the daemon restarts.
            """))

    @OptionGroup var fields: AgentFields

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let agent: WireAgent
        do {
            agent = try await options.client().createAgent(try fields.body(includingName: true))
        } catch let error as NightshiftClient.APIError where error.status == 409 {
            throw CLIFailure("agent '\(fields.name)' exists; `nightshift agents set \(fields.name) …` replaces it")
        }
        CLIOutput.line(options.json ? agent.json.jsonText : AgentFields.summary(agent))
    }
}

/// `nightshift agents set NAME --runner KIND`.
struct AgentsSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Create an agent or replace it whole.",
        discussion: CLIExitCodes.discussion("""
            Every field is replaced: an option not given takes its default (what the agent has spent is \
            kept). Exits 2 if the daemon rejects a field, naming it. Prints the agent's name and runner; \
            with --json, the API's agent object.
            """))

    @OptionGroup var fields: AgentFields

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let agent = try await options.client().putAgent(try fields.body(includingName: false), named: fields.name)
        CLIOutput.line(options.json ? agent.json.jsonText : AgentFields.summary(agent))
    }
}

/// `nightshift agents delete NAME`.
struct AgentsDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete an agent.",
        discussion: CLIExitCodes.discussion("""
            Exits 3 if there is no such agent. With --json, prints {"deleted":NAME}. An agent the config \
            file defines comes back when the daemon restarts.
            """),
        aliases: ["rm"])

    @Argument(help: "The agent's name.")
    var name: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.client().deleteAgent(named: name)
        if options.json { CLIOutput.json(["deleted": .string(name)]) } else { CLIOutput.line("deleted \(name)") }
    }
}

/// `nightshift agents unpark NAME`: ends the park of the agent's quota group now.
struct AgentsUnparkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unpark", abstract: "End the usage-limit park of an agent's quota group now.",
        discussion: CLIExitCodes.discussion("""
            A provider's usage limit parks every agent of the quota group until the reset; this lets their \
            queued tasks run at once (a task parked itself still waits for its own time). Exits 3 if there \
            is no such agent. With --json, prints the API's agent.
            """))

    @Argument(help: "The agent's name.")
    var name: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let agent = try await options.client().unparkAgent(named: name)
        if options.json {
            CLIOutput.json(agent)
        } else {
            CLIOutput.line("unparked \(agent.quotaGroup)" + (agent.quotaGroup == name ? "" : " (the quota group of \(name))"))
        }
    }
}
