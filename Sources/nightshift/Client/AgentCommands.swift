import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift agents`: the configured agents (`list`, the default) and whether their CLIs run here (`check`).
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
        abstract: "List the agents tasks can run on, or check that their CLIs are installed.",
        subcommands: [AgentsListCommand.self, AgentsCheckCommand.self],
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
        let status = try await options.client().status(refresh: true)
        guard case .array(let agents)? = status["agents"] else {
            throw NightshiftClient.APIError.invalidResponse("no \"agents\" array in the status")
        }
        if options.json {
            CLIOutput.json(["agents": .array(agents)])
        } else {
            var table = CLITable(["AGENT", "RUNNER", "AVAILABLE", "PATH", "VERSION"])
            for agent in agents {
                let available = agent["available"] == .bool(true)
                table.add([
                    .init(CLIOutput.text(agent["agent"]), style: "1"), .init(CLIOutput.text(agent["runner"])),
                    .init(available ? "yes" : "no", style: available ? "32" : "31"),
                    .init(CLIOutput.text(agent["path"])), .init(CLIOutput.text(agent["version"])),
                ])
            }
            table.print()
            // A problem ("not found … searched PATH=…") is too long for a cell: one line each, under the table.
            let problems = agents.compactMap { agent in
                agent["problem"]?.stringValue.map { (CLIOutput.text(agent["agent"]), $0) }
            }
            if !problems.isEmpty { CLIOutput.line("") }
            for (name, problem) in problems {
                CLIOutput.line(CLIOutput.bold(name) + ": " + CLIOutput.paint(problem, "31"))
            }
        }
        if agents.contains(where: { $0["available"] != .bool(true) }) { throw ExitCode.failure }
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
            CLIOutput.json(["agents": .array(agents)])
            return
        }
        guard !agents.isEmpty else {
            CLIOutput.line("no agents")
            return
        }
        var table = CLITable(["NAME", "RUNNER", "CONCURRENCY", "TIMEOUT", "ATTEMPTS", "COMMAND"], rightAligned: [2, 3, 4])
        for agent in agents {
            var command = "-"
            if case .array(let argv)? = agent["config"]?["command"] {
                command = argv.map { CLIOutput.text($0) }.joined(separator: " ")
            } else if let config = agent["config"], config != .null, config != .object([:]) {
                command = config.jsonText
            }
            table.add([
                .init(CLIOutput.text(agent["name"]), style: "1"), .init(CLIOutput.text(agent["runner"])),
                .init(CLIOutput.text(agent["concurrency"])),
                .init(agent["timeout"]?.doubleValue.map { CLIOutput.duration($0) } ?? "-"),
                .init(CLIOutput.text(agent["max_attempts"])),
                .init(CLIOutput.short(command, width: 60)),
            ])
        }
        table.print()
    }
}
