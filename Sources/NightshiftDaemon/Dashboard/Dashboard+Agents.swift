import Foundation
import Hummingbird
import Nightshift

/// `/agents`: each agent's availability, concurrency in use, rate-limit tokens, parking, budget
/// and cost per day; the lanes; the schedules with their next fire; the webhooks' health.
extension Dashboard {
    /// The days the cost chart and the success rate cover.
    static let statsDays = 14

    func agentsPage(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let scope = try server.scope(context)
        let now = Date()
        let agents = try await scope.agents()
        let availability = Dictionary(try await scope.availability().map { ($0.agent, $0) }) { first, _ in first }
        let pacing = Dictionary(try await scope.agentPacing().map { ($0.agent.name, $0) }) { first, _ in first }
        var running: [String: Int] = [:]
        var query = TaskQuery()
        query.states = [.running]
        query.limit = TaskQuery.maxLimit
        for task in try await scope.listTasks(query).tasks { running[task.agent, default: 0] += 1 }
        let from = AgentRunStats.startOfDay(now.addingTimeInterval(-Double(Self.statsDays - 1) * AgentRunStats.secondsPerDay))
        var cards: [HTML] = []
        for agent in agents {
            let stats = try await scope.agentRunStats(agent: agent.name, from: from, to: now.addingTimeInterval(1))
            cards.append(Self.agentCard(
                agent, availability: availability[agent.name], pacing: pacing[agent.name], running: running[agent.name] ?? 0, stats: stats, now: now))
        }
        let lanes = try await scope.lanes()
        let schedules = try await scope.schedules()
        let webhooks = try await scope.webhooks()
        let head = try await server.engine.store.lastHookSeq()

        let body: HTML = """
            <h1>Agents &amp; queues</h1>
            \(cards.isEmpty ? HTML("<section class=\"panel\"><p class=\"muted\">No agents yet.</p></section>") : HTML(joining: cards))
            <h2>Lanes</h2>\(Self.lanesTable(lanes))
            <h2>Schedules</h2>\(Self.schedulesTable(schedules, now: now))
            <h2>Webhooks</h2>\(Self.webhooksTable(webhooks, head: head, now: now))
            """
        return DashboardLayout.page("Agents & queues", section: .agents, request: request, principal: context.principal, body: body)
    }

    /// One agent: its facts, a budget bar and a cost-per-day chart.
    static func agentCard(
        _ agent: Agent, availability: AgentAvailability?, pacing: AgentPacing?, running: Int, stats: AgentRunStats, now: Date
    ) -> HTML {
        let available: HTML = switch availability?.available {
        case true?: "<span class=\"badge state-done\">available</span>"
        case false?: "<span class=\"badge state-error\">unavailable</span> <span class=\"small\">\(availability?.problem ?? "")</span>"
        case nil: "<span class=\"badge\">unknown</span>"
        }
        let limit = agent.concurrency.map { " of \($0)" } ?? " (no limit)"
        let rate: HTML = switch (pacing?.rate, pacing?.tokens) {
        case let (rate?, tokens?): "\(tokens) of \(rate.limit) tokens (\(rate.description))"
        case let (rate?, nil): "\(rate.description)"
        default: "no limit"
        }
        let parked: HTML = pacing?.parkedUntil.map { until in
            "<span class=\"badge state-waiting\">parked</span> until \(DashboardFormat.time(until, now: now))\(pacing?.parkReason.map { ": " + $0 } ?? "")"
        } ?? "no"
        let budget: HTML = agent.budgetUSD.map { cap in
            """
            <meter min="0" max="\(String(format: "%.4f", cap))" value="\(String(format: "%.4f", min(agent.spentUSD, cap)))" high="\(String(format: "%.4f", cap * 0.8))"></meter> \
            \(DashboardFormat.cost(agent.spentUSD)) of \(DashboardFormat.cost(cap))
            """
        } ?? "\(DashboardFormat.cost(agent.spentUSD)) spent, no budget"
        let totals = stats.totals
        let finished = totals.succeeded + totals.failed
        let success = finished == 0 ? "–" : String(format: "%.0f%% of %d runs", Double(totals.succeeded) / Double(finished) * 100, finished)
        return """
            <section class="panel agent" id="agent-\(Conversation.idSafe(agent.name))"><h2>\(agent.name) <span class="muted small">\(agent.runner.rawValue)</span></h2>
            <div class="grid"><dl class="facts">
            <dt>Availability</dt><dd>\(available)</dd>
            <dt>Running</dt><dd>\(running)\(limit)</dd>
            <dt>Rate limit</dt><dd>\(rate)</dd>
            <dt>Parked</dt><dd>\(parked)</dd>
            <dt>Budget</dt><dd>\(budget)</dd>
            <dt>Success</dt><dd>\(success) <span class="muted small">(\(Self.statsDays) days)</span></dd>
            <dt>Cost</dt><dd>\(DashboardFormat.cost(totals.costUSD)) <span class="muted small">(\(Self.statsDays) days)</span></dd>
            </dl><div>\(CostChart(stats: stats, days: Self.statsDays, until: now).svg)</div></div></section>
            """
    }

    static func lanesTable(_ lanes: [Lane]) -> HTML {
        guard !lanes.isEmpty else { return "<section class=\"panel\"><p class=\"muted\">No lanes.</p></section>" }
        let rows = HTML(joining: lanes.map { lane in
            let meter: HTML = lane.concurrency.map { "<meter min=\"0\" max=\"\($0)\" value=\"\(min(lane.running, $0))\"></meter>" } ?? .empty
            return "<tr><td><a href=\"/?lane=\(lane.name)\">\(lane.name)</a></td><td class=\"num\">\(lane.running)\(lane.concurrency.map { " of \($0)" } ?? "")</td><td>\(meter)</td></tr>"
        })
        return "<div class=\"table-wrap\"><table><thead><tr><th>Lane</th><th class=\"num\">Running</th><th>Use</th></tr></thead><tbody>\(rows)</tbody></table></div>"
    }

    static func schedulesTable(_ schedules: [Schedule], now: Date) -> HTML {
        guard !schedules.isEmpty else { return "<section class=\"panel\"><p class=\"muted\">No schedules.</p></section>" }
        let rows = HTML(joining: schedules.map { schedule in
            let spec = schedule.spec
            let last: HTML = schedule.lastTaskID.map { "<a href=\"/tasks/\($0.rawValue)\">\(DashboardFormat.time(schedule.lastRunAt, now: now))</a>" }
                ?? DashboardFormat.time(schedule.lastRunAt, now: now)
            let error: HTML = schedule.lastError.map { "<div class=\"line error\">\($0)</div>" } ?? .empty
            return """
                <tr><td>\(spec.name ?? schedule.id)\(error)</td><td><code>\(spec.cron)</code> <span class="muted small">\(spec.timezone)</span></td>\
                <td>\(spec.task.agent)</td><td>\(spec.paused ? HTML("<span class=\"badge state-paused\">paused</span>") : DashboardFormat.time(schedule.nextRunAt, now: now))</td><td class="opt">\(last)</td></tr>
                """
        })
        return """
            <div class="table-wrap"><table><thead><tr><th>Schedule</th><th>When</th><th>Agent</th><th>Next fire</th><th class="opt">Last fire</th></tr></thead>\
            <tbody>\(rows)</tbody></table></div>
            """
    }

    static func webhooksTable(_ webhooks: [Webhook], head: Int64, now: Date) -> HTML {
        guard !webhooks.isEmpty else { return "<section class=\"panel\"><p class=\"muted\">No webhooks.</p></section>" }
        let rows = HTML(joining: webhooks.map { webhook in
            let health: HTML = if !webhook.spec.enabled { "<span class=\"badge\">disabled</span>" }
                else if webhook.attempts > 0 { "<span class=\"badge state-error\">failing</span> \(webhook.attempts) attempts" }
                else { "<span class=\"badge state-done\">healthy</span>" }
            let retry: HTML = webhook.nextAttemptAt.map { " · next try \(DashboardFormat.time($0, now: now))" } ?? .empty
            let error: HTML = webhook.lastError.map { "<div class=\"line error\">\($0)</div>" } ?? .empty
            return """
                <tr><td>\(webhook.spec.name)<div class="muted small">\(webhook.spec.url)</div></td><td>\(health)\(retry)\(error)</td>\
                <td class="num">\(DashboardFormat.count(Int(webhook.delivered)))</td><td class="num">\(DashboardFormat.count(Int(webhook.dead)))</td>\
                <td class="num">\(DashboardFormat.count(Int(max(0, head - webhook.cursor))))</td></tr>
                """
        })
        return """
            <div class="table-wrap"><table><thead><tr><th>Webhook</th><th>Health</th><th class="num">Delivered</th><th class="num">Dead</th>\
            <th class="num">Behind</th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
    }
}

/// A bar chart of an agent's cost per UTC day, drawn by the server as inline SVG (no script, no
/// image request): one bar a day, the highest day's cost as the scale.
struct CostChart {
    let stats: AgentRunStats
    let days: Int
    let until: Date

    /// The chart.
    var svg: HTML {
        let (width, height, top, bottom) = (280.0, 110.0, 14.0, 16.0)
        let byDay = Dictionary(stats.days.map { (AgentRunStats.startOfDay($0.day), $0.costUSD) }) { $0 + $1 }
        let last = AgentRunStats.startOfDay(until)
        let series = (0..<days).map { offset in
            let day = last.addingTimeInterval(-Double(days - 1 - offset) * AgentRunStats.secondsPerDay)
            return (day, byDay[day] ?? 0)
        }
        let highest = max(series.map(\.1).max() ?? 0, 0.000_001)
        let slot = width / Double(days)
        let bars = HTML(joining: series.enumerated().map { index, point in
            let barHeight = (height - top - bottom) * point.1 / highest
            let x = Double(index) * slot + 1
            let y = height - bottom - barHeight
            let label = "\(JSONTime.text(point.0).prefix(10)): \(DashboardFormat.cost(point.1))"
            return """
                <rect class="bar" x="\(Self.number(x))" y="\(Self.number(y))" width="\(Self.number(slot - 2))" height="\(Self.number(barHeight))"><title>\(label)</title></rect>
                """
        })
        let first = JSONTime.text(series.first?.0 ?? until).prefix(10)
        return """
            <svg class="chart" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="cost per day, the last \(days) days">\
            <line x1="0" y1="\(Self.number(height - bottom))" x2="\(Int(width))" y2="\(Self.number(height - bottom))"></line>\(bars)\
            <text x="0" y="10">max \(DashboardFormat.cost(highest == 0.000_001 ? 0 : highest))/day</text>\
            <text x="0" y="\(Int(height - 3))">\(String(first))</text><text x="\(Int(width))" y="\(Int(height - 3))" text-anchor="end">today</text></svg>
            """
    }

    private static func number(_ value: Double) -> String { String(format: "%.1f", value) }
}
