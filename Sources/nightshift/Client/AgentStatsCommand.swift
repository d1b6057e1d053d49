import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift agents stats NAME`: the agent's runs per UTC day (a table and sparklines).
struct AgentsStatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show an agent's runs, tokens, cost and tool calls per day.",
        discussion: CLIExitCodes.discussion("""
            Counts the runs that finished in the range (by default the last 7 days, today included; days \
            are UTC): a row per day with runs and the totals, then a sparkline per day of the runs and of \
            the cost, and the tool calls by tool. Exits 3 if there is no such agent; 2 if a date is not \
            one, naming it. With --json, prints the API's answer: {agent, from, to, days, totals}.
            """))

    @Argument(help: "The agent's name.")
    var name: String

    @Option(help: ArgumentHelp("The first day (2026-12-01, UTC) or an RFC 3339 time (default: 7 days before --to).", valueName: "date"))
    var from: String?

    @Option(help: ArgumentHelp("The last day, included (2026-12-07, UTC), or an RFC 3339 time, excluded (default: today).", valueName: "date"))
    var to: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let stats = try await options.client().agentRunStats(named: name, from: from, to: to)
        if options.json {
            CLIOutput.json(stats)
            return
        }
        for line in Self.render(stats) { CLIOutput.line(line) }
    }

    /// The lines printed for `stats`: a title, the table (or `no runs`), the sparklines, the tool calls.
    static func render(_ stats: WireAgentRunStats) -> [String] {
        let last = stats.to.addingTimeInterval(-0.001)
        var lines = ["\(CLIOutput.bold(stats.agent))  \(WireRunFigures.dayText(stats.from)) to \(WireRunFigures.dayText(last)) (UTC)"]
        guard stats.totals.runs > 0 else { return lines + ["no runs"] }
        var table = CLITable(
            ["DAY", "RUNS", "OK", "FAILED", "IN", "OUT", "CACHE-R", "CACHE-W", "COST", "TURNS", "TIME"], rightAligned: Set(1...10))
        for figures in stats.days + [stats.totals] {
            let total = figures.day == nil
            table.add([
                .init(figures.day ?? "total", style: total ? "1" : nil), .init(String(figures.runs)),
                .init(String(figures.succeeded), style: figures.succeeded > 0 ? "32" : nil),
                .init(String(figures.failed), style: figures.failed > 0 ? "31" : nil),
                .init(count(figures.tokensIn)), .init(count(figures.tokensOut)), .init(count(figures.cacheReadTokens)),
                .init(count(figures.cacheWriteTokens)), .init(dollars(figures.costUSD)), .init(String(figures.turns)),
                .init(CLIOutput.duration(figures.runSeconds)),
            ])
        }
        lines += table.render()
        // Every day of the range, those without runs too.
        var byDay: [String: WireRunFigures] = [:]
        for figures in stats.days { byDay[figures.day ?? ""] = figures }
        var days: [WireRunFigures?] = []
        var day = AgentRunStats.startOfDay(stats.from)
        while day < stats.to {
            days.append(byDay[WireRunFigures.dayText(day)])
            day.addTimeInterval(AgentRunStats.secondsPerDay)
        }
        let runs = days.map { Double($0?.runs ?? 0) }
        let cost = days.map { $0?.costUSD ?? 0 }
        lines.append("")
        lines.append("runs  \(CLIOutput.sparkline(runs))  max \(Int(runs.max() ?? 0))")
        lines.append("cost  \(CLIOutput.sparkline(cost))  max \(dollars(cost.max() ?? 0))")
        if !stats.totals.toolCalls.isEmpty {
            let calls = stats.totals.toolCalls.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
            lines.append("tools " + calls.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        return lines
    }

    /// A token count: `950`, `12.3k`, `4.1M`.
    static func count(_ value: Int) -> String {
        switch value {
        case ..<1000: String(value)
        case ..<1_000_000: String(format: "%.1fk", Double(value) / 1000)
        default: String(format: "%.1fM", Double(value) / 1_000_000)
        }
    }

    /// US dollars: four decimals under a dollar, two from one on.
    static func dollars(_ value: Double) -> String {
        "$" + String(format: value < 1 ? "%.4f" : "%.2f", value)
    }
}
