import NIOHTTP1
import Nightshift
import NightshiftDaemon
import Synchronization
import Testing

/// The chat tools without a daemon: their schemas, the check of a call's arguments, the requests
/// they send and how an API error answers.
@Suite("Chat tools")
struct ChatToolsTests {
    /// An API that records each request and answers `answer` (or throws `failure`).
    final class RecordingAPI: APIRequestSender {
        struct Sent: Sendable, Equatable {
            var method: String
            var path: String
            var query: [String]
            var body: JSONValue?
            var headers: [String]
        }

        let sent = Mutex<[Sent]>([])
        let answer: JSONValue
        let failure: NightshiftClient.APIError?

        init(answer: JSONValue = ["id": "t1", "state": "done", "result": "ok"], failure: NightshiftClient.APIError? = nil) {
            self.answer = answer
            self.failure = failure
        }

        func apiRequest(
            _ method: HTTPMethod, _ path: String, query: [(String, String)], body: JSONValue?, headers: [(String, String)]
        ) async throws -> JSONValue {
            sent.withLock {
                $0.append(Sent(
                    method: method.rawValue, path: path, query: query.map { "\($0.0)=\($0.1)" }, body: body,
                    headers: headers.map { "\($0.0): \($0.1)" }))
            }
            if let failure { throw failure }
            return answer
        }
    }

    @Test("every tool has a description and an object schema that allows only its arguments and requires what it must have")
    func schemas() {
        for tool in ChatTools.tools {
            let schema = tool.inputSchema
            #expect(schema["type"] == "object" && schema["additionalProperties"] == false, "\(tool.name)")
            let properties = Set(schema["properties"]?.objectValue?.keys.map { $0 } ?? [])
            #expect(properties == Set(tool.arguments.map(\.name)), "\(tool.name)")
            for required in schema["required"]?.arrayValue ?? [] {
                #expect(properties.contains(required.stringValue ?? ""), "\(tool.name): \(required)")
            }
            #expect(tool.description.count > 40 && tool.arguments.allSatisfy { !$0.description.isEmpty }, "\(tool.name)")
        }
        #expect(ChatTools.tool(named: "task_events")?.inputSchema["properties"]?["limit"] == [
            "type": "integer", "minimum": 1, "maximum": 1000, "description": "At most this many events (default 100).",
        ])
    }

    @Test(
        "a call whose arguments do not fit is refused naming the argument, before any request",
        arguments: [
            ("submit_task", ["agent": "a", "prompt": "p", "labels": "db"], #"labels: expected an array of strings, got a string ("db")"#),
            ("submit_task", ["agent": "a", "prompt": "p", "labels": ["db", 3]], "labels: expected an array of strings, got an array"),
            ("submit_task", ["agent": "a"], "prompt: required (a string)"),
            ("submit_task", ["agent": "a", "prompt": "p", "priority": -1], "priority: expected an integer ≥ 0, got an integer (-1)"),
            ("submit_task", ["agent": "a", "prompt": "p", "priority": 1.5], "priority: expected an integer ≥ 0, got a number (1.5)"),
            ("submit_task", ["agent": "a", "prompt": "p", "budget_usd": 0], "budget_usd: expected a number > 0, got an integer (0)"),
            ("submit_task", ["agent": "a", "prompt": "p", "origin": "ops"], #"origin: expected an object, got a string ("ops")"#),
            ("submit_task", ["agent": "a", "prompt": "p", "origin": ["session": "C1"]], "origin.channel: required (a string)"),
            ("submit_task", ["agent": "a", "prompt": "p", "origin": ["channel": "ops", "room": 1]], "origin.room: no such argument"),
            ("task_events", ["task_id": "t1", "limit": 1001], "limit: expected an integer from 1 to 1000, got an integer (1001)"),
            ("send_input", ["task_id": "t1", "text": "x", "kind": "approve"], #"kind: expected one of message, answer, got a string ("approve")"#),
            ("approve", ["task_id": true], "task_id: expected a string, got a boolean (true)"),
            ("list_agents", ["verbose": true], "verbose: no such argument"),
        ] as [(String, JSONValue, String)])
    func refused(tool: String, arguments: JSONValue, problem: String) async throws {
        let api = RecordingAPI()
        let answer = try #require(await ChatTools.call(tool, arguments: arguments, api: api))
        #expect(answer.isError && answer.value == nil)
        #expect(answer.text.hasPrefix("\(tool) not called: \(problem)"), "\(answer.text)")
        #expect(api.sent.withLock { $0 }.isEmpty)
    }

    @Test("each tool sends its API request: the body, query and headers its arguments make")
    func requests() async throws {
        let api = RecordingAPI()
        let submit: JSONValue = ["agent": "a", "prompt": "p", "labels": ["x"], "origin": ["channel": "ops"], "lane": .null]
        _ = await ChatTools.call("submit_task", arguments: submit, api: api)
        _ = await ChatTools.call("task_events", arguments: ["task_id": "a/b", "after": 3.0], api: api)
        _ = await ChatTools.call("send_input", arguments: ["task_id": "t1", "text": "dev", "idempotency_key": "k1"], api: api)
        _ = await ChatTools.call("approve", arguments: ["task_id": "t1", "decision": "reject", "comment": "no"], api: api)
        _ = await ChatTools.call("cancel_task", arguments: ["task_id": "t1"], api: api)
        _ = await ChatTools.call("list_tasks", arguments: ["state": "waiting,running"], api: api)
        #expect(api.sent.withLock { $0 } == [
            .init(method: "POST", path: "/v1/tasks", query: [], body: ["agent": "a", "prompt": "p", "labels": ["x"], "origin": ["channel": "ops"]], headers: []),
            .init(method: "GET", path: "/v1/tasks/a%2Fb/events", query: ["after=3"], body: nil, headers: []),
            .init(method: "POST", path: "/v1/tasks/t1/inputs", query: [], body: ["kind": "message", "text": "dev"], headers: ["Idempotency-Key: k1"]),
            .init(method: "POST", path: "/v1/tasks/t1/inputs", query: [], body: ["kind": "reject", "text": "no"], headers: []),
            .init(method: "POST", path: "/v1/tasks/t1/cancel", query: [], body: nil, headers: []),
            .init(method: "GET", path: "/v1/tasks", query: ["state=waiting,running", "limit=20"], body: nil, headers: []),
        ])
    }

    @Test("task_result answers the outcome and whether the task has finished; an API error is a tool error with the API's message")
    func resultAndErrors() async throws {
        let waiting = RecordingAPI(answer: ["id": "t1", "state": "waiting", "waiting_for": ["kind": "input"], "prompt": "long"])
        let answer = try #require(await ChatTools.call("task_result", arguments: ["task_id": "t1"], api: waiting))
        #expect(answer.value?["finished"] == false && answer.value?["waiting_for"] == ["kind": "input"] && answer.value?["prompt"] == nil)
        let done = try #require(await ChatTools.call("task_result", arguments: ["task_id": "t1"], api: RecordingAPI()))
        #expect(done.value?["finished"] == true && done.value?["result"] == "ok" && done.text == done.value?.jsonText)

        let missing = RecordingAPI(failure: .http(status: 404, code: "not_found", message: "no task with id t9", field: "id"))
        let refused = try #require(await ChatTools.call("task_status", arguments: ["task_id": "t9"], api: missing))
        #expect(refused.isError && refused.text == "no task with id t9 (not_found, field id)")
        #expect(await ChatTools.call("delete_everything", arguments: [:], api: missing) == nil)
    }

    @Test("a log URI names its task, percent-encoded; anything else is no log")
    func logURIs() {
        #expect(ChatTools.Log.uri(task: "0193-ab") == "nightshift://tasks/0193-ab/log")
        #expect(ChatTools.Log.taskID(uri: ChatTools.Log.uri(task: "a b/c")) == "a b/c")
        for uri in ["nightshift://tasks//log", "nightshift://tasks/a/b/log", "nightshift://tasks/a/events", "file:///tasks/a/log"] {
            #expect(ChatTools.Log.taskID(uri: uri) == nil, "\(uri)")
        }
    }

    @Test("a log is read a page at a time: every event, one JSON object a line")
    func logPages() async throws {
        let pages = Pages()
        let text = try await ChatTools.Log.text(task: "t1", api: pages)
        #expect(text.split(separator: "\n").map(String.init) == (1...3).map { #"{"seq":\#($0),"type":"log"}"# })
        #expect(pages.afters.withLock { $0 } == ["0", "2", "3"])
    }

    /// Three events in pages of two.
    final class Pages: APIRequestSender {
        let afters = Mutex<[String]>([])

        func apiRequest(
            _ method: HTTPMethod, _ path: String, query: [(String, String)], body: JSONValue?, headers: [(String, String)]
        ) async throws -> JSONValue {
            let after = Int(query.first { $0.0 == "after" }?.1 ?? "0") ?? 0
            afters.withLock { $0.append(String(after)) }
            let events = (1...3).filter { $0 > after }.prefix(2).map { JSONValue.object(["seq": .int(Int64($0)), "type": "log"]) }
            return ["events": .array(events), "next_after": .int(Int64(after + events.count))]
        }
    }
}
