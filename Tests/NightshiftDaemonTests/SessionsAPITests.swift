import Foundation
import Nightshift
import NightshiftDaemon
import NIOHTTP1
import NightshiftTestSupport
import Testing

@Suite("HTTP API: checkpoints and memories")
struct SessionsAPITests {
    @Test("checkpoints: post, get, list with filters, resolve (idempotent), cleanup")
    func checkpoints() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let created = try await api.request(.POST, "/v1/checkpoints", body: """
                {"schema_version":1,"agent":"coder","session_id":"s-1","phase":"implementing",
                 "progress":{"tasks_remaining":["tests"]},"resume_hint":"run the tests"}
                """)
            #expect(created.status == 201, "\(created.body)")
            let checkpoint = try #require(created.json)
            let id = try #require(checkpoint["id"]?.stringValue)
            #expect(checkpoint["status"] == "active")
            #expect(checkpoint["progress"]?["tasks_remaining"] == ["tests"])
            #expect(checkpoint["context"]?["work_items"] == [])
            #expect(checkpoint["created_at"]?.stringValue?.hasSuffix("Z") == true)

            let old = try await api.request(.POST, "/v1/checkpoints", body: """
                {"schema_version":1,"agent":"reviewer","phase":"review","status":"resolved",
                 "created_at":"2020-01-01T00:00:00Z","updated_at":"2020-01-01T00:00:00Z"}
                """)
            #expect(old.status == 201)
            let oldID = try #require(old.json?["id"]?.stringValue)

            #expect(try await api.request(.GET, "/v1/checkpoints/\(id)").json == checkpoint)
            #expect(try await api.request(.GET, "/v1/checkpoints/01a1fd4e-f656-70f5-9507-84af15236666").status == 404)
            #expect(try await ids(api, "/v1/checkpoints") == [id, oldID])
            #expect(try await ids(api, "/v1/checkpoints?agent=coder") == [id])
            #expect(try await ids(api, "/v1/checkpoints?status=resolved") == [oldID])
            #expect(try await ids(api, "/v1/checkpoints?max_age=7d") == [id])
            #expect(try await ids(api, "/v1/checkpoints?max_age=3600s&limit=1") == [id])
            let badStatus = try await api.request(.GET, "/v1/checkpoints?status=done")
            #expect(badStatus.status == 422)
            #expect(badStatus.json?["error"]?["field"] == "status")
            #expect(try await api.request(.GET, "/v1/checkpoints?max_age=soon").json?["error"]?["field"] == "max_age")

            // Posting with the id replaces it (200).
            let updated = try await api.request(.POST, "/v1/checkpoints", body: """
                {"schema_version":1,"id":"\(id)","agent":"coder","phase":"testing"}
                """)
            #expect(updated.status == 200)
            #expect(updated.json?["phase"] == "testing")
            #expect(updated.json?["created_at"] == checkpoint["created_at"])

            let resolved = try await api.request(.POST, "/v1/checkpoints/\(id)/resolve")
            #expect(resolved.status == 200)
            #expect(resolved.json?["status"] == "resolved")
            let again = try await api.request(.POST, "/v1/checkpoints/\(id)/resolve")
            #expect(again.json == resolved.json)
            #expect(try await api.request(.POST, "/v1/checkpoints/nope/resolve").status == 404)

            let cleanup = try await api.request(.POST, "/v1/checkpoints/cleanup", body: #"{"older_than_days":30}"#)
            #expect(cleanup.status == 200)
            #expect(cleanup.json == ["archived": 1])
            #expect(try await ids(api, "/v1/checkpoints") == [id])
            #expect(try await ids(api, "/v1/checkpoints?include_archived=true") == [id, oldID])
            let zero = try await api.request(.POST, "/v1/checkpoints/cleanup", body: #"{"older_than_days":0}"#)
            #expect(zero.status == 422)
            #expect(zero.json?["error"]?["field"] == "older_than_days")
        }
    }

    @Test("a checkpoint of schema version 2 or with a bad field is refused with 422 naming the field and the reason")
    func refusals() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let future = try await api.request(.POST, "/v1/checkpoints", body: #"{"schema_version":2,"agent":"coder","phase":"x"}"#)
            #expect(future.status == 422)
            #expect(future.json?["error"]?["code"] == "invalid_input")
            #expect(future.json?["error"]?["field"] == "schema_version")
            #expect(future.json?["error"]?["message"] == "expected 1, got 2")
            for (body, field) in [
                (#"{"schema_version":1,"phase":"x"}"#, "agent"),
                (#"{"schema_version":1,"agent":"coder"}"#, "phase"),
                (#"{"schema_version":1,"agent":"coder","phase":"x","status":"paused"}"#, "status"),
                (#"{"schema_version":1,"agent":"coder","phase":"x","context":{"work_items":[1]}}"#, "context.work_items[0]"),
                // Seconds since 1970 past the year 9999 (this one trapped the daemon).
                (#"{"schema_version":1,"agent":"coder","phase":"x","updated_at":4.314434785009652e+16}"#, "updated_at"),
            ] {
                let answer = try await api.request(.POST, "/v1/checkpoints", body: body)
                #expect(answer.status == 422, "\(body)")
                #expect(answer.json?["error"]?["field"] == .string(field), "\(answer.body)")
            }
            #expect(try await api.request(.POST, "/v1/checkpoints", body: "[1]").status == 400)
            #expect(try await api.request(.POST, "/v1/checkpoints", body: "{").status == 400)
        }
    }

    @Test("the quarantine lists checkpoint files that could not be read, with their parse errors")
    func quarantine() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            #expect(try await api.request(.GET, "/v1/checkpoints/quarantine").json == ["quarantined": []])
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("ns-api-cp-\(UUID().uuidString)")
            let inbox = root.appendingPathComponent("in")
            try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
            try Data(#"{"schema_version":2,"phase":"x"}"#.utf8).write(to: inbox.appendingPathComponent("v2.json"))
            try Data("garbage".utf8).write(to: inbox.appendingPathComponent("junk.json"))
            let found = CheckpointDirectory.collect(
                from: inbox, quarantine: root.appendingPathComponent("quarantine"), agent: "coder", sessionID: nil,
                taskID: nil, now: Date())
            for file in found.quarantined { try await api.store.recordQuarantined(file) }

            let listed = try await api.request(.GET, "/v1/checkpoints/quarantine")
            #expect(listed.status == 200)
            guard case .array(let files)? = listed.json?["quarantined"] else {
                Issue.record("no quarantined array: \(listed.body)")
                return
            }
            #expect(files.map { $0["file_name"] } == ["v2.json", "junk.json"])
            #expect(files.first?["error"] == "schema_version: expected 1, got 2")
            #expect(files.last?["error"]?.stringValue?.hasPrefix("malformed JSON") == true)
            #expect(files.first?["agent"] == "coder")
            #expect(files.allSatisfy { FileManager.default.fileExists(atPath: $0["quarantined_path"]?.stringValue ?? "") })
        }
    }

    @Test("memories: put, get, list by prefix, delete; keys are percent-decoded; 409 on a stale expected_version")
    func memories() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let key = "notes/a b?c#d%e"
            let path = "/v1/agents/coder/memories/" + key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let put = try await api.request(.PUT, path, body: #"{"summary":"first"}"#)
            #expect(put.status == 200, "\(put.body)")
            #expect(put.json?["key"] == .string(key))
            #expect(put.json?["version"] == 1)
            #expect(put.json?["workspace_id"] == "default")
            let second = try await api.request(.PUT, path, body: #"{"summary":"second","expected_version":1}"#)
            #expect(second.json?["version"] == 2)

            let stale = try await api.request(.PUT, path, body: #"{"summary":"stale","expected_version":1}"#)
            #expect(stale.status == 409)
            #expect(stale.json?["error"]?["code"] == "conflict")
            #expect(stale.json?["error"]?["field"] == "expected_version")
            #expect(try await api.request(.GET, path).json?["summary"] == "second")

            _ = try await api.request(.PUT, "/v1/agents/coder/memories/other", body: #"{"summary":"x"}"#)
            // The workspace is the token's: naming one is refused, in the body or the query.
            let named = try await api.request(.PUT, "/v1/agents/coder/memories/notes%2Fz", body: #"{"summary":"in w2","workspace":"w2"}"#)
            #expect(named.status == 422 && named.json?["error"]?["field"] == "workspace", "\(named.body)")
            let listed = try await api.request(.GET, "/v1/agents/coder/memories?prefix=notes%2F")
            #expect(listed.json?["memories"].map { keys($0) } == [key])
            #expect(try await api.request(.GET, "/v1/agents/coder/memories").json?["memories"].map { keys($0) } == [key, "other"])
            for path in ["/v1/agents/coder/memories?workspace=w2", "/v1/agents/coder/memories/other?workspace=w2"] {
                let answer = try await api.request(.GET, path)
                #expect(answer.status == 422 && answer.json?["error"]?["field"] == "workspace", "\(path): \(answer.body)")
            }

            let missingSummary = try await api.request(.PUT, path, body: #"{"expected_version":2}"#)
            #expect(missingSummary.status == 422)
            #expect(missingSummary.json?["error"]?["field"] == "summary")
            let tooLong = try await api.request(.PUT, "/v1/agents/coder/memories/" + String(repeating: "k", count: 257), body: #"{"summary":"x"}"#)
            #expect(tooLong.json?["error"]?["field"] == "key")

            #expect(try await api.request(.DELETE, path).status == 204)
            #expect(try await api.request(.DELETE, path).status == 404)
            #expect(try await api.request(.GET, path).status == 404)
        }
    }

    @Test("concurrent compare-and-set loops from several clients lose no increment")
    func concurrentCompareAndSet() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let clients = 4
            let increments = 15
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<clients {
                    group.addTask {
                        for _ in 0..<increments {
                            while true {
                                let current = try await api.request(.GET, "/v1/agents/counter/memories/n")
                                let version = if case .int(let value)? = current.json?["version"] { value } else { Int64(0) }
                                let value = Int(current.json?["summary"]?.stringValue ?? "0") ?? 0
                                let put = try await api.request(
                                    .PUT, "/v1/agents/counter/memories/n",
                                    body: #"{"summary":"\#(value + 1)","expected_version":\#(version)}"#)
                                if put.status == 200 { break }
                                #expect(put.status == 409, "\(put.body)")
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let final = try await api.request(.GET, "/v1/agents/counter/memories/n").json
            #expect(final?["summary"] == .string(String(clients * increments)))
            #expect(final?["version"] == .int(Int64(clients * increments)))
        }
    }

    func ids(_ api: APIHarness, _ path: String) async throws -> [String] {
        let answer = try await api.request(.GET, path)
        guard case .array(let list)? = answer.json?["checkpoints"] else {
            Issue.record("\(path): \(answer.status) \(answer.body)")
            return []
        }
        return list.compactMap { $0["id"]?.stringValue }
    }

    func keys(_ memories: JSONValue) -> [String] {
        guard case .array(let list) = memories else { return [] }
        return list.compactMap { $0["key"]?.stringValue }
    }
}
