import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift status`: what the daemon is doing.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show task counts, the queue, active and recent runs.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's status object."))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let status = try await options.client().status()
        if options.json {
            CLIOutput.json(status)
            return
        }
        let now = Date()
        let counts = status["counts"]?.objectValue ?? [:]
        let known = TaskState.allCases.map(\.rawValue)
        var states = CLITable(["STATE", "TASKS"], rightAligned: [1])
        for state in known + counts.keys.filter({ !known.contains($0) }).sorted() {
            states.add([.init(state, style: CLIOutput.stateStyle(state)), .init(CLIOutput.text(counts[state] ?? 0))])
        }
        states.print()
        let totals = status["totals"]
        CLIOutput.line("")
        CLIOutput.line(
            "queue depth \(CLIOutput.text(status["queue_depth"]))   invocations \(CLIOutput.text(totals?["invocations"]))"
                + "   succeeded \(CLIOutput.text(totals?["succeeded"]))   failed \(CLIOutput.text(totals?["failed"]))")

        if case .array(let active)? = status["active_runs"], !active.isEmpty {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("Active runs"))
            var runs = CLITable(["TASK", "AGENT", "ATTEMPT", "PID", "STARTED", "RUNNING FOR"], rightAligned: [2, 3])
            for run in active {
                runs.add([
                    .init(CLIOutput.text(run["task_id"])), .init(CLIOutput.text(run["agent"])),
                    .init(CLIOutput.text(run["attempt"])), .init(CLIOutput.text(run["pid"])),
                    .init(CLIOutput.relative(run["started_at"], now: now)),
                    .init(run["duration_s"]?.doubleValue.map { CLIOutput.duration($0) } ?? "-"),
                ])
            }
            runs.print()
        }
        if case .array(let recent)? = status["recent_runs"], !recent.isEmpty {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("Recent runs"))
            var runs = CLITable(["TASK", "ATTEMPT", "OUTCOME", "EXIT", "FINISHED", "ERROR"], rightAligned: [1, 3])
            for run in recent {
                let outcome = CLIOutput.text(run["outcome"])
                runs.add([
                    .init(CLIOutput.text(run["task_id"])), .init(CLIOutput.text(run["attempt"])),
                    .init(outcome == "-" ? "running" : outcome,
                          style: outcome == "succeeded" ? "32" : outcome == "-" ? "36" : "31"),
                    .init(CLIOutput.text(run["exit_code"])),
                    .init(CLIOutput.relative(run["finished_at"], now: now)),
                    .init(CLIOutput.short(CLIOutput.text(run["error"]), width: 50)),
                ])
            }
            runs.print()
        }
    }
}

/// `nightshift agents`: the configured agents.
struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents",
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
