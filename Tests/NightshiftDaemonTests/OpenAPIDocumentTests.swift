import Foundation
import Nightshift
import NightshiftDaemon
import NIOHTTP1
import NightshiftTestSupport
import Testing

/// The OpenAPI document says what the server does: the members it answers, the request members
/// it takes, the statuses, content types and bounds. (`scripts/api-conformance` checks a real
/// daemon's answers against it; these check what a fuzzer cannot see.)
@Suite("OpenAPI document")
struct OpenAPIDocumentTests {
    static let document = OpenAPIDocument.document

    /// A schema, with a `$ref` followed.
    static func resolve(_ schema: JSONValue?) -> JSONValue? {
        guard let reference = schema?["$ref"]?.stringValue else { return schema }
        return document["components"]?["schemas"]?[String(reference.split(separator: "/").last!)]
    }

    /// The component schema `name`.
    static func schema(_ name: String) -> JSONValue? {
        document["components"]?["schemas"]?[name]
    }

    static func operation(_ method: String, _ path: String) throws -> JSONValue {
        try #require(document["paths"]?[path]?[method], "\(method) \(path) is not documented")
    }

    static func statuses(_ method: String, _ path: String) throws -> Set<String> {
        Set(try operation(method, path)["responses"]?.objectValue?.keys.map { $0 } ?? [])
    }

    /// Every documented operation: method and path.
    static var operations: [(method: String, path: String)] {
        (document["paths"]?.objectValue ?? [:]).flatMap { path, methods in
            (methods.objectValue ?? [:]).keys.map { (method: $0, path: path) }
        }
    }

    /// Checks that `value`'s members are exactly the schema's properties, every one required,
    /// and so on into members whose schemas are objects too.
    static func expectDocuments(_ schema: JSONValue?, _ value: JSONValue?, _ name: String) {
        guard let schema = resolve(schema), let members = value?.objectValue else {
            Issue.record("\(name): no schema or no object (\(String(describing: value)))")
            return
        }
        let properties = schema["properties"]?.objectValue ?? [:]
        #expect(Set(members.keys) == Set(properties.keys), "\(name): answered \(members.keys.sorted()), documented \(properties.keys.sorted())")
        let required = Set(schema["required"].flatMap { value -> [String]? in
            guard case .array(let items) = value else { return nil }
            return items.compactMap(\.stringValue)
        } ?? [])
        #expect(required == Set(properties.keys), "\(name): not every member is required")
        for (key, property) in properties {
            let resolved = resolve(property)
            if resolved?["type"] == "object", resolved?["properties"] != nil {
                expectDocuments(resolved, members[key], "\(name).\(key)")
            } else if resolved?["type"] == "array", case .array(let items)? = members[key], let first = items.first,
                      resolve(resolved?["items"])?["properties"] != nil
            {
                expectDocuments(resolved?["items"], first, "\(name).\(key)[0]")
            }
        }
    }

    @Test("every member the server answers is documented, and every documented one answered (all required)")
    func answers() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let submitted = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"hi"}"#)
            let id = try #require(submitted.json?["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            let slow = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"slow","prompt":"busy"}"#)
            var status: JSONValue?
            #expect(try await eventually {
                status = try await api.request(.GET, "/v1/status").json
                return status?["active_runs"] != .array([])
            })
            let checkpoint = try await api.request(.POST, "/v1/checkpoints", body: #"{"schema_version":1,"agent":"echo","phase":"p"}"#)
            let memory = try await api.request(.PUT, "/v1/agents/echo/memories/k", body: #"{"summary":"s"}"#)
            let answers: [(String, JSONValue?)] = [
                ("Task", submitted.json), ("Task", try await api.request(.GET, "/v1/tasks/\(id)").json),
                ("TaskList", try await api.request(.GET, "/v1/tasks").json),
                ("EventList", try await api.request(.GET, "/v1/tasks/\(id)/events").json),
                ("RunList", try await api.request(.GET, "/v1/tasks/\(id)/runs").json),
                ("Status", status), ("AgentList", try await api.request(.GET, "/v1/agents").json),
                ("Agent", try await api.request(.GET, "/v1/agents/echo").json),
                ("Checkpoint", checkpoint.json), ("CheckpointList", try await api.request(.GET, "/v1/checkpoints").json),
                ("Memory", memory.json), ("MemoryList", try await api.request(.GET, "/v1/agents/echo/memories").json),
                ("CleanupResult", try await api.request(.POST, "/v1/checkpoints/cleanup", body: #"{"older_than_days":1}"#).json),
                ("Quarantined", WireQuarantined(QuarantinedCheckpoint(fileName: "a.json", quarantinedPath: "/q/a.json", error: "e", agent: "x", taskID: nil, time: Date())).json),
                ("Error", try await api.request(.GET, "/v1/tasks/\(UUID().uuidString.lowercased())").json),
                ("Health", try await api.request(.GET, "/healthz", token: nil).json),
                ("NewTokenAnswer", try await api.request(.POST, "/v1/tokens", body: #"{"role":"member","name":"n"}"#).json),
                ("TokenList", try await api.request(.GET, "/v1/tokens").json),
                ("Workspace", try await api.request(.POST, "/v1/workspaces", body: #"{"id":"w2"}"#).json),
                ("WorkspaceList", try await api.request(.GET, "/v1/workspaces").json),
                ("HookPoll", try await api.request(.GET, "/v1/hooks/poll?consumer=docs").json),
                ("HookConsumer", try await api.request(.POST, "/v1/hooks/ack", body: #"{"consumer":"docs","seq":1}"#).json),
                ("HookConsumerList", try await api.request(.GET, "/v1/hooks/consumers").json),
                ("AcceptedHookEvent", try await api.request(.POST, "/v1/events", body: #"{"task_id":"\#(id)","type":"docs_checked","data":{"n":1}}"#).json),
            ]
            for (name, value) in answers { Self.expectDocuments(Self.schema(name), value, name) }
            _ = try await api.request(.POST, "/v1/tasks/\(try #require(slow.json?["id"]?.stringValue))/cancel")
        }
    }

    @Test("request bodies refuse unknown members, and the server takes every documented one")
    func requestMembers() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let task = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"x"}"#).json?["id"]?.stringValue)
            var checked = 0
            for (method, path) in Self.operations {
                guard let body = try Self.operation(method, path)["requestBody"]?["content"]?["application/json"]?["schema"] else { continue }
                let schema = try #require(Self.resolve(body))
                #expect(schema["additionalProperties"] == false, "\(method) \(path)")
                let url = path.replacingOccurrences(of: "{id}", with: task).replacingOccurrences(of: "{name}", with: "echo")
                    .replacingOccurrences(of: "{key}", with: "k")
                // The checkpoint's version is read first: the rest is read only for version 1.
                let base: [String: JSONValue] = path == "/v1/checkpoints" ? ["schema_version": 1] : [:]
                var unknown = base
                unknown["zz_unknown"] = 1
                let refused = try await api.request(HTTPMethod(rawValue: method.uppercased()), url, body: JSONValue.object(unknown).jsonText)
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == "zz_unknown", "\(method) \(path): \(refused.body)")
                for key in (schema["properties"]?.objectValue ?? [:]).keys {
                    var members = base
                    members[key] = members[key] ?? .null
                    let answer = try await api.request(HTTPMethod(rawValue: method.uppercased()), url, body: JSONValue.object(members).jsonText)
                    #expect(answer.json?["error"]?["message"]?.stringValue?.contains("unknown field") != true, "\(method) \(path) \(key): \(answer.body)")
                }
                checked += 1
            }
            #expect(checked == 22)
        }
    }

    @Test("statuses: every route the HTTP layer's, /v1 routes 401 and 503, body routes invalid_json, 413 and 422, and each its own")
    func statuses() throws {
        for (method, path) in Self.operations {
            let statuses = try Self.statuses(method, path)
            #expect(statuses.isSuperset(of: ["400", "431"]), "\(method) \(path)")
            if path.hasPrefix("/v1/") { #expect(statuses.isSuperset(of: ["401", "503"]), "\(method) \(path)") }
            if path == "/healthz" { #expect(!statuses.contains("503"), "healthz answers while the daemon drains") }
            if try Self.operation(method, path)["requestBody"] != nil {
                #expect(statuses.isSuperset(of: ["413", "422"]), "\(method) \(path)")
                #expect(try Self.operation(method, path)["responses"]?["400"]?["description"]?.stringValue?.contains("invalid_json") == true)
            }
            for (code, answer) in try Self.operation(method, path)["responses"]?.objectValue ?? [:] where code >= "400" {
                #expect(Self.resolve(answer["content"]?["application/json"]?["schema"]) == Self.schema("Error"), "\(method) \(path) \(code)")
            }
        }
        #expect(try Self.statuses("post", "/v1/tasks").isSuperset(of: ["200", "201", "402", "429"]))
        #expect(try Self.statuses("post", "/v1/tasks/{id}/retry").contains("429"))
        #expect(try Self.statuses("post", "/v1/checkpoints").isSuperset(of: ["200", "201"]))
        #expect(try !Self.statuses("post", "/v1/checkpoints").contains("501"), "every store keeps checkpoints")
        // 403 exactly where a read-only token is refused: every write, and every token route.
        for (method, path) in Self.operations where path.hasPrefix("/v1/") {
            let refused = method != "get" || path.hasPrefix("/v1/tokens") || path.hasPrefix("/v1/workspaces")
            #expect(try Self.statuses(method, path).contains("403") == refused, "\(method) \(path)")
        }
        #expect(try Self.statuses("put", "/v1/agents/{name}/memories/{key}").contains("409"))
        #expect(try Self.statuses("delete", "/v1/agents/{name}").contains("204"))
        let events = try Self.operation("get", "/v1/tasks/{id}/events")["responses"]?["200"]?["content"]?.objectValue?.keys.sorted()
        #expect(events == ["application/json", "text/event-stream"])
    }

    @Test("bounds and defaults are the server's")
    func bounds() throws {
        func parameter(_ method: String, _ path: String, _ name: String) throws -> JSONValue? {
            guard case .array(let parameters)? = try Self.operation(method, path)["parameters"] else { return nil }
            return parameters.first { $0["name"]?.stringValue == name }?["schema"]
        }
        let events = try parameter("get", "/v1/tasks/{id}/events", "limit")
        #expect(events?["default"] == 100 && events?["minimum"] == 1 && events?["maximum"] == 1000)
        let tasks = try parameter("get", "/v1/tasks", "limit")
        #expect(tasks?["default"] == .int(Int64(TaskQuery().limit)) && tasks?["maximum"] == .int(Int64(TaskQuery.maxLimit)))
        #expect(try parameter("get", "/v1/checkpoints", "limit")?["maximum"] == .int(Int64(CheckpointQuery.maxLimit)))
        let newTask = try #require(Self.schema("NewTask")?["properties"])
        #expect(newTask["delay"]?["maximum"] == JSONValue.double(NewTask.maxDelay) && newTask["delay"]?["minimum"] == 0)
        #expect(newTask["priority"]?["minimum"] == 0 && newTask["max_attempts"]?["minimum"] == 1)
        #expect(newTask["budget_usd"]?["exclusiveMinimum"] == 0 && newTask["timeout"]?["exclusiveMinimum"] == 0)
        #expect(Self.schema("Cleanup")?["properties"]?["older_than_days"]?["minimum"] == 1)
        #expect(Self.schema("TaskPatch")?["properties"]?["priority"]?["minimum"] == 0)
        // Every time answered is RFC 3339.
        for name in ["Task", "Run", "Event", "Checkpoint", "Memory", "Quarantined", "ActiveRun"] {
            for (key, property) in Self.schema(name)?["properties"]?.objectValue ?? [:] where key.hasSuffix("_at") || key == "time" {
                #expect(property["format"] == "date-time", "\(name).\(key)")
            }
        }
    }
}
