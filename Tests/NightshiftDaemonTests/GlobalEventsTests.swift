import AsyncHTTPClient
import Foundation
import Nightshift
import NightshiftTestSupport
import NightshiftDaemon
import NIOCore
import NIOHTTP1
import NightshiftRunners
import Testing

/// `GET /v1/events`: the global hook stream over HTTP, live (SSE) and by pages.
@Suite("Global event stream")
struct GlobalEventsTests {
    static let handlers: [String: BuiltinRunner.Handler] = [
        "ok": { _, context in
            context.emit("log", ["message": "working"])
            return .succeeded("ok")
        },
        "other": { _, _ in .succeeded("other") },
    ]

    /// Opens the global stream at `query` (resuming after `lastEventID`).
    static func open(_ api: APIHarness, _ query: String = "", lastEventID: Int64? = nil) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: api.base + "/v1/events" + query)
        request.headers.add(name: "Authorization", value: "Bearer \(APIHarness.token)")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: String(lastEventID)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        #expect(response.status == .ok)
        #expect(response.headers.first(name: "content-type") == "text/event-stream")
        return response
    }

    /// Reads `response`'s events until `enough` says so; the connection is dropped then.
    static func read(_ response: HTTPClientResponse, until enough: ([HookSSEParser.Event]) -> Bool) async throws -> [HookSSEParser.Event] {
        var parser = HookSSEParser()
        var events: [HookSSEParser.Event] = []
        for try await chunk in response.body {
            events += parser.feed(String(buffer: chunk))
            if enough(events) { break }
        }
        return events
    }

    @Test("a client that drops mid-stream while tasks are submitted and run, and resumes with Last-Event-ID, gets every hook event exactly once, in order")
    func resumeWithoutGapOrRepeat() async throws {
        // With a one-minute poll, only the store's push brings the events within the timeouts.
        try await APIHarness.with(handlers: Self.handlers, streamPoll: .seconds(60)) { api in
            let tasks = 20
            // queued, started, done for each task.
            let expected = tasks * 3
            let received = try await withThrowingTaskGroup(of: [HookSSEParser.Event].self) { group in
                group.addTask {
                    for index in 0..<tasks {
                        let answer = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"\#(index)"}"#)
                        #expect(answer.status == 201, "\(answer.body)")
                    }
                    return []
                }
                let first = try await Self.read(try await Self.open(api)) { $0.count >= 7 }
                let second = try await Self.read(try await Self.open(api, lastEventID: first.last?.id)) { first.count + $0.count >= expected }
                var all: [HookSSEParser.Event] = first + second
                for try await more in group { all += more }
                return all
            }
            let stored = try await api.store.hookEvents(after: 0, limit: 1000)
            #expect(stored.count == expected)
            #expect(received.map(\.id) == stored.map(\.seq))
            #expect(received.map(\.type) == stored.map(\.type))
            #expect(received.map { $0.data["task_id"]?.stringValue } == stored.map(\.taskID.rawValue))
        }
    }

    @Test("filters by agent, state and task are applied on the server, live and by pages")
    func filters() async throws {
        try await APIHarness.with(handlers: Self.handlers, streamPoll: .seconds(60)) { api in
            let live = try await Self.open(api, "?agent=ok&state=done,error")
            var ours: [String] = []
            for index in 0..<3 {
                ours.append(try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"\#(index)"}"#).json?["id"]?.stringValue))
                _ = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"other","prompt":"\#(index)"}"#)
            }
            let done = try await Self.read(live) { $0.count >= 3 }
            #expect(done.map(\.type) == ["task.done", "task.done", "task.done"])
            #expect(Set(done.compactMap { $0.data["task_id"]?.stringValue }) == Set(ours))
            #expect(done.allSatisfy { $0.data["data"]?["agent"] == "ok" })
            // By pages, once every task has ended (no event comes after): one task's events, and
            // next_after past the events left out.
            #expect(try await eventually {
                let counts = try await api.store.countsByState()
                return counts[.done, default: 0] + counts[.error, default: 0] == 6
            })
            let page = try await api.request(.GET, "/v1/events?task=\(ours[0])&limit=1000")
            #expect(page.status == 200, "\(page.body)")
            guard case .array(let events)? = page.json?["events"] else { Issue.record("no events: \(page.body)"); return }
            #expect(events.map { $0["type"]?.stringValue } == ["task.queued", "task.started", "task.done"])
            let all = try await api.store.hookEvents(after: 0, limit: 1000)
            #expect(page.json?["next_after"] == .int(all.last!.seq))
        }
    }

    @Test("bad filters and cursors are refused, naming the parameter")
    func validation() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            for (query, field) in [
                ("?state=bogus", "state"), ("?state=done,", "state"), ("?task=not-an-id", "task"), ("?agent=no%20spaces", "agent"),
                ("?after=-1", "after"), ("?limit=0", "limit"),
            ] {
                let answer = try await api.request(.GET, "/v1/events" + query, headers: [("Accept", "text/event-stream")])
                #expect(answer.status == 422, "\(query): \(answer.body)")
                #expect(answer.json?["error"]?["field"]?.stringValue == field, "\(query): \(answer.body)")
            }
            let header = try await api.request(.GET, "/v1/events", headers: [("Accept", "text/event-stream"), ("Last-Event-ID", "x")])
            #expect(header.status == 422)
            #expect(header.json?["error"]?["field"] == "after")
        }
    }
}

/// Splits an SSE byte stream into events: `id:`, `event:` and the `data:` JSON.
struct HookSSEParser {
    struct Event {
        var id: Int64
        var type: String
        var data: JSONValue
    }

    private var buffer = ""

    mutating func feed(_ text: String) -> [Event] {
        buffer += text
        var events: [Event] = []
        while let end = buffer.range(of: "\n\n") {
            let block = buffer[..<end.lowerBound]
            buffer = String(buffer[end.upperBound...])
            var id: Int64?
            var type = ""
            var data: JSONValue?
            for line in block.split(separator: "\n") {
                if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
                if line.hasPrefix("event: ") { type = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data = try? JSONValue(jsonText: String(line.dropFirst(6))) }
            }
            if let id, let data { events.append(Event(id: id, type: type, data: data)) }
        }
        return events
    }
}
