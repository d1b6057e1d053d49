import Foundation
import Hummingbird
import Nightshift

extension APIServer {
    /// `GET /v1/agents/{name}/stats?from=&to=`: the agent's runs that finished in the range, per
    /// UTC day and in total (see ``statsRange(from:to:now:)``); 404 for an unknown agent.
    func agentRunStats(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let agent = try await agent(context)
        let parameters = request.uri.queryParameters
        let range = try Self.statsRange(from: parameters["from"].map(String.init), to: parameters["to"].map(String.init), now: Date())
        let stats = try await scope(context).agentRunStats(agent: agent.name, from: range.lowerBound, to: range.upperBound)
        return Self.reply(WireAgentRunStats(stats))
    }

    /// The range of finish times a stats request asks for: `from` and `to` are dates (`2026-12-01`:
    /// from that day's start; to its end, so the day counts) or RFC 3339 times. Without `to`, up
    /// to the end of today (UTC); without `from`, the 7 days before `to`. A bad value is refused
    /// naming it, and so is a `from` that is not before `to` (a range without a moment in it).
    static func statsRange(from: String?, to: String?, now: Date) throws -> Range<Date> {
        let end = try to.map { try statsBound($0, field: "to", endOfDay: true) }
            ?? AgentRunStats.startOfDay(now).addingTimeInterval(AgentRunStats.secondsPerDay)
        let start = try from.map { try statsBound($0, field: "from", endOfDay: false) }
            ?? end.addingTimeInterval(-7 * AgentRunStats.secondsPerDay)
        guard start < end else {
            throw NightshiftError.invalid("from", "must be before to (\(JSONTime.text(end))), got \(JSONTime.text(start))")
        }
        return start..<end
    }

    /// A date (its day's start, or with `endOfDay` the next day's) or an RFC 3339 time.
    private static func statsBound(_ text: String, field: String, endOfDay: Bool) throws -> Date {
        guard text.wholeMatch(of: #/\d{4}-\d{2}-\d{2}/#) != nil else {
            guard let time = try? date(text, field: field) else {
                throw NightshiftError.invalid(field, "expected a date (2026-12-01) or an RFC 3339 time (2026-12-01T08:00:00Z), got '\(text)'")
            }
            return time
        }
        guard let day = try? Date(text + "T00:00:00Z", strategy: Date.ISO8601FormatStyle()), WireRunFigures.dayText(day) == text else {
            throw NightshiftError.invalid(field, "expected a date (2026-12-01), got '\(text)', which is not a day of the calendar")
        }
        return endOfDay ? day.addingTimeInterval(AgentRunStats.secondsPerDay) : day
    }
}
