import Foundation
import Nightshift
import NightshiftDaemon
import Testing

/// Text the stores could not keep whole is refused, naming the field; nothing is stored cut.
@Suite("Text input")
struct TextInputTests {
    @Test("a NUL in a prompt, key, lane, label, payload or memory is refused with 422 naming the field; nothing is stored")
    func nulRefused() async throws {
        try await APIHarness.with(handlers: ["ok": { _, _ in .succeeded(nil) }]) { api in
            let cases: [(String, String)] = [
                (#"{"agent":"ok","prompt":"a\u0000b"}"#, "prompt"),
                (#"{"agent":"ok","prompt":"x","idempotency_key":"k\u0000one"}"#, "idempotency_key"),
                (#"{"agent":"ok","prompt":"x","dedup_key":"d\u0000"}"#, "dedup_key"),
                (#"{"agent":"ok","prompt":"x","lane":"l\u0000"}"#, "lane"),
                (#"{"agent":"ok","prompt":"x","labels":["fine","b\u0000d"]}"#, "labels[1]"),
                (#"{"agent":"ok","prompt":"x","payload":{"notes":["a","b\u0000"]}}"#, "payload.notes[1]"),
            ]
            for (body, field) in cases {
                let answer = try await api.request(.POST, "/v1/tasks", body: body)
                #expect(answer.status == 422, "\(body): \(answer)")
                #expect(answer.json?["error"]?["field"] == .string(field), "\(body): \(answer.body)")
            }
            // Control characters are refused in identifiers, kept in text.
            let lane = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"x","lane":"a\u0007b"}"#)
            #expect(lane.status == 422 && lane.json?["error"]?["field"] == "lane", "\(lane)")
            #expect(lane.body.contains("U+0007"), "\(lane.body)")
            let bell = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"ring \u0007 tab\t"}"#)
            #expect(bell.status == 201, "\(bell)")
            #expect(try await api.store.countsByState().values.reduce(0, +) == 1, "only the valid submit was stored")

            let memory = try await api.request(.PUT, "/v1/agents/ok/memories/k%00x", body: #"{"summary":"s"}"#)
            #expect(memory.status == 422 && memory.json?["error"]?["field"] == "key", "\(memory)")
            let summary = try await api.request(.PUT, "/v1/agents/ok/memories/k", body: #"{"summary":"a\u0000b"}"#)
            #expect(summary.status == 422 && summary.json?["error"]?["field"] == "summary", "\(summary)")
        }
    }

    @Test("keys that differ only after a NUL never collide: the second is refused, not matched to the first")
    func noPrefixCollision() async throws {
        try await APIHarness.with(handlers: ["ok": { _, _ in .succeeded(nil) }]) { api in
            let first = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"x","idempotency_key":"same"}"#)
            #expect(first.status == 201)
            let second = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"y","idempotency_key":"same\u0000tail"}"#)
            #expect(second.status == 422, "\(second)")
        }
    }

    @Test("a body that is not UTF-8 is refused with 400 naming the byte, not repaired")
    func invalidUTF8() async throws {
        try await APIHarness.with(handlers: ["ok": { _, _ in .succeeded(nil) }]) { api in
            let bytes = Array(#"{"agent":"ok","prompt":"caf"#.utf8) + [0xE9] + Array(#""}"#.utf8)
            let answer = try await api.request(.POST, "/v1/tasks", bytes: bytes)
            #expect(answer.status == 400, "\(answer)")
            #expect(answer.json?["error"]?["code"] == "invalid_json")
            #expect(answer.body.contains("byte 27"), "\(answer.body)")
            #expect(try await api.store.countsByState().values.reduce(0, +) == 0)
        }
    }

    @Test("two Idempotency-Key headers are refused")
    func twoIdempotencyKeys() async throws {
        try await APIHarness.with(handlers: ["ok": { _, _ in .succeeded(nil) }]) { api in
            let answer = try await api.request(
                .POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"x"}"#, headers: [("Idempotency-Key", "a"), ("Idempotency-Key", "b")])
            #expect(answer.status == 400, "\(answer)")
            #expect(answer.json?["error"]?["field"] == "Idempotency-Key")
        }
    }

    @Test("agent names keep to a safe alphabet", arguments: [".", "..", "café", "-lead", "a b", "a/b", String(repeating: "a", count: 65), ""])
    func agentNames(name: String) {
        #expect(throws: NightshiftError.self) { try Agent(name: name, runner: .command, config: ["command": ["x"]]).validate() }
    }

    @Test("the safe alphabet admits the usual names", arguments: ["claude", "my-agent", "build_2", "v1.2", "A", String(repeating: "a", count: 64)])
    func goodAgentNames(name: String) throws {
        try Agent(name: name, runner: .command, config: ["command": ["x"]]).validate()
    }
}
