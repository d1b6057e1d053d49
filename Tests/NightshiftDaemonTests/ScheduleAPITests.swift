import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import NIOHTTP1
import Testing

/// `/v1/schedules` over real loopback HTTP: the routes, every refusal, workspaces, and a schedule
/// firing through the engine.
@Suite("HTTP API: schedules")
struct ScheduleAPITests {
    static let weekdays = #"{"name":"standup","cron":"0 9 * * 1-5","timezone":"Europe/Berlin","task":{"agent":"echo","prompt":"standup notes","labels":["daily"]}}"#

    @Test("create, list, get by id and name, replace, pause, resume, trigger and delete")
    func lifecycle() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let created = try await api.request(.POST, "/v1/schedules", body: Self.weekdays)
            #expect(created.status == 201, "\(created.body)")
            let schedule = try #require(created.json)
            let id = try #require(schedule["id"]?.stringValue)
            #expect(schedule["name"] == "standup" && schedule["timezone"] == "Europe/Berlin" && schedule["source"] == "api")
            #expect(schedule["missed"] == "skip" && schedule["overlap"] == "allow" && schedule["paused"] == false)
            #expect(schedule["task"]?["labels"] == ["daily"] && schedule["task"]?["payload"] == [:])
            #expect(schedule["last_run_at"] == .null && schedule["last_task_id"] == .null)
            let next = try JSONTime.date(try #require(schedule["next_run_at"]), field: "next_run_at")
            var berlin = Calendar(identifier: .gregorian)
            berlin.timeZone = try #require(TimeZone(identifier: "Europe/Berlin"))
            #expect(berlin.component(.hour, from: next) == 9 && berlin.component(.minute, from: next) == 0)
            #expect((2...6).contains(berlin.component(.weekday, from: next)), "a weekday")

            let listed = try await api.request(.GET, "/v1/schedules")
            #expect(listed.status == 200 && listed.json?["schedules"]?.arrayValue?.first?["id"]?.stringValue == id, "\(listed.body)")
            for key in [id, "standup"] {
                let got = try await api.request(.GET, "/v1/schedules/\(key)")
                #expect(got.status == 200 && got.json?["id"]?.stringValue == id, "\(key): \(got.body)")
            }

            // PUT replaces the whole: an absent name keeps the schedule's.
            let replaced = try await api.request(
                .PUT, "/v1/schedules/standup", body: #"{"cron":"@every 1h","task":{"agent":"echo","prompt":"hourly"},"overlap":"skip"}"#)
            #expect(replaced.status == 200, "\(replaced.body)")
            #expect(replaced.json?["id"]?.stringValue == id && replaced.json?["name"] == "standup")
            #expect(replaced.json?["cron"] == "@every 1h" && replaced.json?["timezone"] == "UTC" && replaced.json?["overlap"] == "skip")
            #expect(replaced.json?["task"]?["labels"] == [], "replaced whole")

            let paused = try await api.request(.POST, "/v1/schedules/\(id)/pause")
            #expect(paused.status == 200 && paused.json?["paused"] == true && paused.json?["next_run_at"] == .null, "\(paused.body)")
            let resumed = try await api.request(.POST, "/v1/schedules/standup/resume")
            #expect(resumed.status == 200 && resumed.json?["paused"] == false && resumed.json?["next_run_at"] != .null, "\(resumed.body)")

            let triggered = try await api.request(.POST, "/v1/schedules/standup/trigger", headers: [("Idempotency-Key", "by-hand-1")])
            #expect(triggered.status == 201, "\(triggered.body)")
            let task = try #require(triggered.json?["id"]?.stringValue)
            #expect(triggered.json?["schedule_id"]?.stringValue == id && triggered.json?["scheduled_for"] != .null)
            #expect(triggered.json?["prompt"] == "hourly")
            let repeated = try await api.request(.POST, "/v1/schedules/standup/trigger", headers: [("Idempotency-Key", "by-hand-1")])
            #expect(repeated.status == 200 && repeated.json?["id"]?.stringValue == task, "an idempotent repeat: \(repeated.body)")
            #expect(try await api.request(.GET, "/v1/schedules/\(id)").json?["last_task_id"]?.stringValue == task)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(task)").json?["state"] == "done" })

            // The task listing filters by schedule.
            _ = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"unscheduled"}"#)
            let filtered = try await api.request(.GET, "/v1/tasks?schedule_id=\(id)")
            #expect(filtered.json?["tasks"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [task], "\(filtered.body)")
            #expect(try await api.request(.GET, "/v1/tasks").json?["tasks"]?.arrayValue?.first?["schedule_id"] == .null, "a task not fired by a schedule")

            #expect(try await api.request(.DELETE, "/v1/schedules/\(id)").status == 204)
            #expect(try await api.request(.DELETE, "/v1/schedules/\(id)").status == 404)
            #expect(try await api.request(.GET, "/v1/tasks/\(task)").status == 200, "its tasks stay")
        }
    }

    @Test("refusals name the field: cron with the position, zone, task member, unknown keys, a taken name, an unknown schedule")
    func refusals() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let cases: [(body: String, status: Int, field: String, mentions: String)] = [
                (#"{"cron":"0 25 * * *","task":{"agent":"echo","prompt":"p"}}"#, 422, "cron", "position 3"),
                (#"{"cron":"@every 0s","task":{"agent":"echo","prompt":"p"}}"#, 422, "cron", "position"),
                (#"{"cron":"@daily","timezone":"Mars/Olympus","task":{"agent":"echo","prompt":"p"}}"#, 422, "timezone", "Mars/Olympus"),
                (#"{"cron":"@daily","task":{"agent":"echo","prompt":"   "}}"#, 422, "task.prompt", "non-empty"),
                (#"{"cron":"@daily","task":{"agent":"echo","prompt":"p","colour":"red"}}"#, 422, "task.colour", "unknown field"),
                (#"{"cron":"@daily","task":{"agent":"echo","prompt":"p"},"every":"1h"}"#, 422, "every", "unknown field"),
                (#"{"cron":"@daily","task":{"agent":"echo","prompt":"p"},"missed":"all"}"#, 422, "missed", "once"),
                (#"{"cron":"@daily","task":{"agent":"echo","prompt":"p","ask":"sometimes"}}"#, 422, "task.ask", "always"),
                (#"{"cron":"@daily","task":{"agent":"echo","prompt":"p"},"starts_at":"2027-01-02T00:00:00Z","ends_at":"2027-01-01T00:00:00Z"}"#, 422, "ends_at", "after starts_at"),
                (#"{"cron":"@daily","task":{"agent":"echo","prompt":"p"},"starts_at":"tomorrow"}"#, 422, "starts_at", "RFC 3339"),
                (#"{"cron":"@daily"}"#, 422, "task", "required"),
                (#"{"name":"standup","cron":"@daily","task":{"agent":"echo","prompt":"p"}}"#, 409, "name", "standup"),
            ]
            #expect(try await api.request(.POST, "/v1/schedules", body: Self.weekdays).status == 201)
            for (body, status, field, mentions) in cases {
                let answer = try await api.request(.POST, "/v1/schedules", body: body)
                #expect(answer.status == status, "\(body): \(answer.body)")
                #expect(answer.json?["error"]?["field"]?.stringValue == field, "\(body): \(answer.body)")
                #expect(answer.json?["error"]?["message"]?.stringValue?.contains(mentions) == true, "\(body): \(answer.body)")
            }
            #expect(try await api.request(.GET, "/v1/schedules").json?["schedules"]?.arrayValue?.count == 1, "nothing else was made")

            let badPut = try await api.request(.PUT, "/v1/schedules/standup", body: #"{"cron":"* * * * 8","task":{"agent":"echo","prompt":"p"}}"#)
            #expect(badPut.status == 422 && badPut.json?["error"]?["message"]?.stringValue?.contains("position 9") == true, "\(badPut.body)")
            for (method, path) in [
                (HTTPMethod.GET, "/v1/schedules/nope"), (.PUT, "/v1/schedules/nope"), (.DELETE, "/v1/schedules/nope"),
                (.POST, "/v1/schedules/nope/pause"), (.POST, "/v1/schedules/nope/resume"), (.POST, "/v1/schedules/nope/trigger"),
            ] {
                let body = method == .PUT ? #"{"cron":"@daily","task":{"agent":"echo","prompt":"p"}}"# : nil
                let answer = try await api.request(method, path, body: body)
                #expect(answer.status == 404 && answer.json?["error"]?["code"] == "not_found", "\(method.rawValue) \(path): \(answer.body)")
            }
            // A trigger whose task the store refuses (no such agent) says so and makes nothing.
            let ghost = try await api.request(.POST, "/v1/schedules", body: #"{"name":"ghost","cron":"@daily","task":{"agent":"nobody","prompt":"p"}}"#)
            #expect(ghost.status == 201, "the agent is checked when a task is submitted: \(ghost.body)")
            let refused = try await api.request(.POST, "/v1/schedules/ghost/trigger")
            #expect(refused.status == 422 && refused.json?["error"]?["field"] == "agent", "\(refused.body)")
        }
    }

    @Test("a token of another workspace does not see, change or trigger the schedule")
    func workspaces() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let other = try await WorkspaceAPITests.token(api, workspace: "other", role: "member")
            #expect(try await api.request(.POST, "/v1/schedules", body: Self.weekdays).status == 201)
            #expect(try await api.request(.GET, "/v1/schedules", token: other).json?["schedules"] == [])
            for (method, path) in [
                (HTTPMethod.GET, "/v1/schedules/standup"), (.DELETE, "/v1/schedules/standup"), (.POST, "/v1/schedules/standup/pause"),
                (.POST, "/v1/schedules/standup/trigger"),
            ] {
                #expect(try await api.request(method, path, token: other).status == 404, "\(method.rawValue) \(path)")
            }
            // The other workspace may use the same name: names are per workspace.
            let theirs = try await api.request(.POST, "/v1/schedules", body: Self.weekdays, token: other)
            #expect(theirs.status == 201 && theirs.json?["workspace_id"] == "other", "\(theirs.body)")
            #expect(try await api.request(.GET, "/v1/schedules/standup").json?["workspace_id"] == "default")
            let reader = try await WorkspaceAPITests.token(api, workspace: "other", role: "read_only", createWorkspace: false)
            #expect(try await api.request(.GET, "/v1/schedules", token: reader).status == 200)
            #expect(try await api.request(.POST, "/v1/schedules/standup/pause", token: reader).status == 403)
        }
    }

    @Test("an @every 1s schedule fires through the engine: tasks carrying schedule_id and scheduled_for")
    func fires() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let created = try await api.request(
                .POST, "/v1/schedules", body: #"{"name":"tick","cron":"@every 1s","task":{"agent":"echo","prompt":"tick"}}"#)
            let id = try #require(created.json?["id"]?.stringValue, "\(created.body)")
            var fired: [JSONValue] = []
            #expect(try await eventually {
                fired = try await api.request(.GET, "/v1/tasks?schedule_id=\(id)").json?["tasks"]?.arrayValue ?? []
                return fired.count >= 2
            })
            let keys = Set(fired.compactMap { $0["idempotency_key"]?.stringValue })
            #expect(keys.count == fired.count && keys.allSatisfy { $0.hasPrefix("schedule:\(id):") }, "\(keys)")
            #expect(fired.allSatisfy { $0["schedule_id"]?.stringValue == id && $0["scheduled_for"] != .null })
            #expect(try await api.request(.POST, "/v1/schedules/tick/pause").status == 200)
            #expect(try await api.request(.GET, "/v1/schedules/tick").json?["last_task_id"] != .null)
        }
    }
}
