import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift status`: what the daemon is doing.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show task counts, the queue, active and recent runs, tasks blocked too long, and detectors.",
        discussion: CLIExitCodes.discussion("""
            Tasks that have waited longer than the daemon's [server] blocked_stale_after (an hour by default) \
            are listed under "Blocked", longest waiting first, with what they wait for; the work detectors \
            under "Detectors", with their last scans. With --json, prints the API's status object.
            """))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let status = try await options.client().status()
        if options.json {
            CLIOutput.json(status)
            return
        }
        let now = Date()
        let known = TaskState.allCases.map(\.rawValue)
        var states = CLITable(["STATE", "TASKS"], rightAligned: [1])
        for state in known + status.counts.keys.filter({ !known.contains($0) }).sorted() {
            states.add([.init(state, style: CLIOutput.stateStyle(state)), .init(String(status.counts[state] ?? 0))])
        }
        states.print()
        let totals = status.totals
        CLIOutput.line("")
        CLIOutput.line(
            "queue depth \(status.queueDepth)   invocations \(totals.invocations)"
                + "   succeeded \(totals.succeeded)   failed \(totals.failed)")

        let paced = status.agents.compactMap { agent in agent.pacing?.summary.map { (agent.agent, $0) } }
        if !paced.isEmpty {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("Pacing"))
            for (agent, summary) in paced {
                CLIOutput.line(CLIOutput.bold(agent) + ": " + CLIOutput.paint(summary, summary.hasPrefix("parked") ? "33" : "0"))
            }
        }
        if status.agents.contains(where: { $0.stats.tasks > 0 || $0.quota != nil }) {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("Agents"))
            var table = CLITable(["AGENT", "TASKS", "TOKENS", "COST", "TURNS", "RUN TIME", "QUOTA"], rightAligned: [1, 2, 3, 4, 5])
            for agent in status.agents {
                let stats = agent.stats
                table.add([
                    .init(agent.agent, style: "1"), .init(String(stats.tasks)),
                    .init(String(stats.tokensUsed)),
                    .init(String(format: "$%.4f", stats.costUSD)), .init(String(stats.turns)),
                    .init(CLIOutput.duration(stats.runSeconds)), .init(Self.quota(agent.quota)),
                ])
            }
            table.print()
        }
        if !status.activeRuns.isEmpty {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("Active runs"))
            var runs = CLITable(["TASK", "AGENT", "ATTEMPT", "PID", "STARTED", "RUNNING FOR"], rightAligned: [2, 3])
            for run in status.activeRuns {
                runs.add([
                    .init(run.taskID), .init(run.agent),
                    .init(String(run.attempt)), .init(CLIOutput.text(run.pid)),
                    .init(CLIOutput.relative(run.startedAt, now: now)),
                    .init(CLIOutput.duration(run.durationS)),
                ])
            }
            runs.print()
        }
        if !status.blockedStale.isEmpty {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("Blocked"))
            var blocked = CLITable(["TASK", "AGENT", "WAITING SINCE", "WAITING FOR"])
            for task in status.blockedStale {
                blocked.add([
                    .init(task.taskID), .init(task.agent),
                    .init(CLIOutput.relative(task.waitingSince, now: now), style: "35"),
                    .init(CLIOutput.short(task.waitingFor?.summary ?? "-", width: 60)),
                ])
            }
            blocked.print()
        }
        if !status.detectors.isEmpty {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("Detectors"))
            DetectorsCommand.table(status.detectors, now: now).print()
        }
        // A run in progress here is in both lists: shown once, among the active ones.
        let activeIDs = Set(status.activeRuns.map(\.runID))
        let recent = status.recentRuns.filter { !activeIDs.contains($0.id) }
        if !recent.isEmpty {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("Recent runs"))
            var runs = CLITable(["TASK", "ATTEMPT", "OUTCOME", "EXIT", "FINISHED", "ERROR"], rightAligned: [1, 3])
            for run in recent {
                let outcome = CLIOutput.text(run.outcome)
                runs.add([
                    .init(run.taskID), .init(String(run.attempt)),
                    .init(outcome == "-" ? "running" : outcome,
                          style: outcome == "succeeded" ? "32" : outcome == "-" ? "36" : "31"),
                    .init(CLIOutput.text(run.exitCode)),
                    .init(CLIOutput.relative(run.finishedAt, now: now)),
                    .init(CLIOutput.short(CLIOutput.text(run.error), width: 50)),
                ])
            }
            runs.print()
        }
    }
}

extension StatusCommand {
    /// An agent's latest quota status in a cell: `allowed five_hour 72% resets 14:00`, or `-`.
    static func quota(_ quota: WireQuota?) -> String {
        guard let status = quota?.status, status != .null else { return "-" }
        var parts = [status["status"], status["rateLimitType"]].compactMap { $0?.stringValue }
        if let utilization = status["utilization"]?.doubleValue {
            parts.append("\(Int((utilization <= 1 ? utilization * 100 : utilization).rounded()))%")
        }
        if let reset = status["resetsAt"]?.doubleValue {
            parts.append("resets " + CLIOutput.clock(Date(timeIntervalSince1970: reset > 1e11 ? reset / 1000 : reset)))
        }
        return parts.joined(separator: " ")
    }
}
