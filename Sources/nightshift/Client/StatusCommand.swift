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

        if case .array(let agents)? = status["agents"], agents.contains(where: { ($0["stats"]?["tasks"]?.doubleValue ?? 0) > 0 || $0["quota"] != .null }) {
            CLIOutput.line("")
            CLIOutput.line(CLIOutput.bold("Agents"))
            var table = CLITable(["AGENT", "TASKS", "TOKENS", "COST", "TURNS", "RUN TIME", "QUOTA"], rightAligned: [1, 2, 3, 4, 5])
            for agent in agents {
                let stats = agent["stats"]
                table.add([
                    .init(CLIOutput.text(agent["agent"]), style: "1"), .init(CLIOutput.text(stats?["tasks"])),
                    .init(CLIOutput.text(stats?["tokens_used"])),
                    .init(String(format: "$%.4f", stats?["cost_usd"]?.doubleValue ?? 0)), .init(CLIOutput.text(stats?["turns"])),
                    .init(CLIOutput.duration(stats?["run_seconds"]?.doubleValue ?? 0)), .init(Self.quota(agent["quota"])),
                ])
            }
            table.print()
        }
        let active: [JSONValue] = if case .array(let runs)? = status["active_runs"] { runs } else { [] }
        if !active.isEmpty {
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
        // A run in progress here is in both lists: shown once, among the active ones.
        let activeIDs = Set(active.compactMap { $0["run_id"]?.stringValue })
        let recent: [JSONValue] = if case .array(let runs)? = status["recent_runs"] {
            runs.filter { !activeIDs.contains($0["id"]?.stringValue ?? "") }
        } else { [] }
        if !recent.isEmpty {
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

extension StatusCommand {
    /// An agent's latest quota status in a cell: `allowed five_hour 72% resets 14:00`, or `-`.
    static func quota(_ quota: JSONValue?) -> String {
        guard let status = quota?["status"], status != .null else { return "-" }
        var parts = [status["status"], status["rateLimitType"]].compactMap { $0?.stringValue }
        if let utilization = status["utilization"]?.doubleValue {
            parts.append("\(Int((utilization <= 1 ? utilization * 100 : utilization).rounded()))%")
        }
        if let reset = status["resetsAt"]?.doubleValue {
            parts.append("resets " + CLIOutput.clock(APIJSON.time(Date(timeIntervalSince1970: reset > 1e11 ? reset / 1000 : reset))))
        }
        return parts.joined(separator: " ")
    }
}
