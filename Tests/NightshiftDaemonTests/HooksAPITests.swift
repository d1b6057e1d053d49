import AsyncHTTPClient
import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

/// `/v1/hooks/…` and `POST /v1/events` over real loopback HTTP.
@Suite("HTTP API: hook consumers and application events")
struct HooksAPITests {
    @Test("poll, ack and lag: an ack never moves back (409 naming the ack), not past the stream (422), not for an unknown consumer (404)")
    func pollAndAck() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let id = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"hi"}"#).json?["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            let poll = try await api.request(.GET, "/v1/hooks/poll?consumer=ci&limit=2")
            #expect(poll.status == 200, "\(poll.body)")
            let events = try #require(poll.json?["events"]?.arrayValue)
            #expect(events.map { $0["type"] } == ["task.queued", "task.started"])
            #expect(poll.json?["derived"] == [] && poll.json?["consumer"]?["ack"] == 0 && poll.json?["consumer"]?["lag"] == 3)
            let second = try #require(events.last?["seq"]?.doubleValue.map { Int($0) })
            let acked = try await api.request(.POST, "/v1/hooks/ack", body: #"{"consumer":"ci","seq":\#(second)}"#)
            #expect(acked.status == 200 && acked.json?["ack"] == .int(Int64(second)) && acked.json?["lag"] == 1, "\(acked.body)")
            #expect(try await api.request(.GET, "/v1/hooks/poll?consumer=ci").json?["events"]?.arrayValue?.map { $0["type"] } == ["task.done"])
            #expect(try await api.request(.POST, "/v1/hooks/ack", body: #"{"consumer":"ci","seq":\#(second)}"#).status == 200, "the same seq again")
            let behind = try await api.request(.POST, "/v1/hooks/ack", body: #"{"consumer":"ci","seq":1}"#)
            #expect(behind.status == 409 && behind.json?["error"]?["field"] == "seq", "\(behind.body)")
            #expect(behind.json?["error"]?["message"]?.stringValue?.contains("at \(second)") == true)
            let beyond = try await api.request(.POST, "/v1/hooks/ack", body: #"{"consumer":"ci","seq":99}"#)
            #expect(beyond.status == 422 && beyond.json?["error"]?["field"] == "seq")
            let unknown = try await api.request(.POST, "/v1/hooks/ack", body: #"{"consumer":"nobody","seq":1}"#)
            #expect(unknown.status == 404 && unknown.json?["error"]?["field"] == "consumer")
            for (query, field) in [("", "consumer"), ("?consumer=a%20b", "consumer"), ("?consumer=ci&wait=2m", "wait"), ("?consumer=ci&wait=soon", "wait"), ("?consumer=ci&limit=0", "limit")] {
                let refused = try await api.request(.GET, "/v1/hooks/poll\(query)")
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == .string(field), "\(query): \(refused.body)")
            }
            for body in [#"{"consumer":"ci"}"#, #"{"consumer":"ci","seq":-1}"#, #"{"consumer":"ci","seq":"2"}"#, #"{"consumer":"ci","seq":2,"x":1}"#] {
                #expect(try await api.request(.POST, "/v1/hooks/ack", body: body).status == 422, "\(body)")
            }
            let listed = try await api.request(.GET, "/v1/hooks/consumers")
            #expect(listed.json?["consumers"]?.arrayValue?.map { [$0["name"], $0["ack"], $0["lag"]] } == [["ci", .int(Int64(second)), 1]])
            #expect(try await api.request(.DELETE, "/v1/hooks/consumers/ci").status == 204)
            #expect(try await api.request(.DELETE, "/v1/hooks/consumers/ci").status == 404)
        }
    }

    @Test("a long poll is answered by the next commit; a consumer reads only its token's workspace")
    func longPollAndScoping() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let other = try await WorkspaceAPITests.token(api, workspace: "b", role: "member")
            _ = try await api.request(.POST, "/v1/agents", body: #"{"name":"echo","runner":"builtin"}"#, token: other)
            #expect(try await api.request(.GET, "/v1/hooks/poll?consumer=watch", token: other).json?["events"] == [])
            let started = ContinuousClock.now
            async let waited = api.request(.GET, "/v1/hooks/poll?consumer=watch&wait=30s", token: other)
            // The default workspace's task is not b's: only b's own submit answers the poll.
            _ = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"not b's"}"#)
            let theirs = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"b's"}"#, token: other).json?["id"])
            let answer = try await waited
            #expect(ContinuousClock.now - started < .seconds(25), "answered by the commit")
            let events = try #require(answer.json?["events"]?.arrayValue)
            #expect(!events.isEmpty && events.allSatisfy { $0["task_id"] == theirs }, "\(answer.body)")
            #expect(try await api.request(.GET, "/v1/hooks/consumers").json == ["consumers": []], "b's consumer is not the default workspace's")
        }
    }

    @Test("an application's event: 202, in the stream (live too) between the task's moves; bad type or data 422 naming it; another workspace's task 404")
    func applicationEvents() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let id = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"hi"}"#).json?["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            var request = HTTPClientRequest(url: api.base + "/v1/hooks/poll?consumer=live")
            request.headers.add(name: "Authorization", value: "Bearer \(APIHarness.token)")
            request.headers.add(name: "Accept", value: "text/event-stream")
            let stream = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(stream.headers.first(name: "content-type") == "text/event-stream")
            let emitted = try await api.request(.POST, "/v1/events", body: #"{"task_id":"\#(id)","type":"feature_review_ready","data":{"pr":42}}"#)
            #expect(emitted.status == 202 && emitted.json == ["task_id": .string(id), "type": "feature_review_ready", "data": ["pr": 42]], "\(emitted.body)")
            let live = try await GlobalEventsTests.read(stream) { $0.count >= 4 }
            #expect(live.map(\.type) == ["task.queued", "task.started", "task.done", "feature_review_ready"])
            #expect(live.last?.data["data"] == ["pr": 42])
            for (body, field) in [
                (#"{"task_id":"\#(id)","type":"task.done"}"#, "type"), (#"{"task_id":"\#(id)","type":"Bad Type"}"#, "type"),
                (#"{"task_id":"\#(id)","type":"ok","data":[1]}"#, "data"), (#"{"task_id":"nope","type":"ok"}"#, "task_id"),
                (#"{"type":"ok"}"#, "task_id"), (#"{"task_id":"\#(id)","type":"ok","seq":3}"#, "seq"),
            ] {
                let refused = try await api.request(.POST, "/v1/events", body: body)
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == .string(field), "\(body): \(refused.body)")
            }
            let other = try await WorkspaceAPITests.token(api, workspace: "b", role: "member")
            let foreign = try await api.request(.POST, "/v1/events", body: #"{"task_id":"\#(id)","type":"leak"}"#, token: other)
            #expect(foreign.status == 404, "\(foreign.body)")
            let stored = try await api.store.hookEvents(after: 0, limit: 100).map(\.type)
            #expect(stored == ["task.queued", "task.started", "task.done", "feature_review_ready"], "nothing refused was written")
        }
    }
}
