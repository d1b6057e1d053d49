import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

@Suite("HTTP API: an agent's run stats")
struct AgentRunStatsAPITests {
    static let handlers: [String: BuiltinRunner.Handler] = [
        "metered": { _, _ in
            .succeeded("ok", usage: RunUsage(tokensIn: 5, tokensOut: 7, cacheReadTokens: 11, cacheWriteTokens: 13, costUSD: 0.125, turns: 3, toolCalls: ["Bash": 2, "Read": 1]))
        },
    ]

    @Test("GET /v1/agents/{name}/stats sums today's runs by default; runs carry their tool calls; a range without runs has none")
    func stats() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            var ids: [String] = []
            for prompt in ["a", "b"] {
                ids.append(try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"metered","prompt":"\#(prompt)"}"#).json?["id"]?.stringValue))
            }
            for id in ids {
                #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            }
            let runs = try await api.request(.GET, "/v1/tasks/\(ids[0])/runs").json?["runs"]
            #expect(runs?.arrayValue?.first?["tool_calls"] == ["Bash": 2, "Read": 1])

            let answer = try await api.request(.GET, "/v1/agents/metered/stats")
            #expect(answer.status == 200, "\(answer.body)")
            let stats = try #require(answer.json)
            let today = WireRunFigures.dayText(Date())
            let tomorrow = AgentRunStats.startOfDay(Date()).addingTimeInterval(86_400)
            #expect(stats["agent"] == "metered")
            #expect(stats["to"] == .string(JSONTime.text(tomorrow)), "by default up to the end of today")
            #expect(stats["from"] == .string(JSONTime.text(tomorrow.addingTimeInterval(-7 * 86_400))), "and the 7 days before")
            let days = try #require(stats["days"]?.arrayValue)
            #expect(days.count == 1, "one day with runs: \(days)")
            let day = try #require(days.first)
            #expect(day["day"] == .string(today))
            #expect(day["runs"] == 2 && day["succeeded"] == 2 && day["failed"] == 0 && day["outcomes"] == ["succeeded": 2])
            #expect(day["tokens_in"] == 10 && day["tokens_out"] == 14 && day["cache_read_tokens"] == 22 && day["cache_write_tokens"] == 26)
            #expect(day["cost_usd"]?.doubleValue == 0.25 && day["turns"] == 6)
            #expect(day["tool_calls"] == ["Bash": 4, "Read": 2])
            #expect((day["run_seconds"]?.doubleValue ?? -1) >= 0 && (day["longest_run_seconds"]?.doubleValue ?? -1) >= 0)
            var totals = try #require(stats["totals"]?.objectValue)
            #expect(totals.removeValue(forKey: "day") == .null)
            var dayMembers = try #require(day.objectValue)
            dayMembers["day"] = nil
            #expect(totals == dayMembers, "one day: the totals are that day's")

            let past = try #require(try await api.request(.GET, "/v1/agents/metered/stats?from=2020-01-01&to=2020-01-07").json)
            #expect(past["from"] == "2020-01-01T00:00:00.000Z" && past["to"] == "2020-01-08T00:00:00.000Z", "the day `to` names counts")
            #expect(past["days"] == [] && past["totals"]?["runs"] == 0 && past["totals"]?["tool_calls"] == [:])
            let oneDay = try #require(try await api.request(.GET, "/v1/agents/metered/stats?from=2020-01-01&to=2020-01-01").json)
            #expect(oneDay["to"] == "2020-01-02T00:00:00.000Z", "from and to the same day: that day")
            let times = try #require(try await api.request(
                .GET, "/v1/agents/metered/stats?from=2020-01-01T06:00:00Z&to=2020-01-02T06:30:00.5Z").json)
            #expect(times["from"] == "2020-01-01T06:00:00.000Z" && times["to"] == "2020-01-02T06:30:00.500Z", "times are taken as they are")
        }
    }

    @Test("a bad date is refused naming it, so is a from not before to; an unknown agent is not found")
    func badRequests() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            for (query, field) in [
                ("from=yesterday", "from"), ("to=2026-13-01", "to"), ("from=2026-02-30", "from"),
                ("from=2027-01-02&to=2027-01-01", "from"), ("from=2027-01-01T12:00:00Z&to=2027-01-01T11:00:00Z", "from"),
                ("from=2027-01-01T12:00:00Z&to=2027-01-01T12:00:00Z", "from"),
            ] {
                let answer = try await api.request(.GET, "/v1/agents/metered/stats?\(query)")
                #expect(answer.status == 422, "\(query): \(answer.body)")
                #expect(answer.json?["error"]?["field"] == .string(field), "\(query): \(answer.body)")
            }
            let unknown = try await api.request(.GET, "/v1/agents/nobody/stats")
            #expect(unknown.status == 404 && unknown.json?["error"]?["field"] == "name", "\(unknown.body)")
        }
    }
}
