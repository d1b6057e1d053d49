import Foundation
import Nightshift

extension NightshiftClient {
    /// `GET /v1/events`: one page of the global hook stream after the hook seq `after`, filtered by
    /// task, agent and new state. Each event is `{"seq","time","task_id","type","data"}`;
    /// `nextAfter` is where the read stopped (past events the filter left out).
    public func hookEventPage(
        after: Int64 = 0, task: String? = nil, agent: String? = nil, states: [String]? = nil, limit: Int? = nil
    ) async throws -> EventPage {
        var query = [("after", String(after))]
        if let task { query.append(("task", task)) }
        if let agent { query.append(("agent", agent)) }
        if let states { query.append(("state", states.joined(separator: ","))) }
        if let limit { query.append(("limit", String(limit))) }
        let answer = try await request(.GET, "/v1/events", query: query)
        guard case .array(let events)? = answer["events"], case .int(let nextAfter)? = answer["next_after"] else {
            throw APIError.invalidResponse("no \"events\" array or \"next_after\" in the hook event page")
        }
        return EventPage(events: events, nextAfter: nextAfter)
    }
}
