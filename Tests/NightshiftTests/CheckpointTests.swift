import Foundation
import Nightshift
import Testing

@Suite("Session checkpoints and memories (domain)")
struct CheckpointTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000.25)
    static let task = TaskID.generate(at: now)

    func parse(_ json: JSONValue) throws(NightshiftError) -> SessionCheckpoint {
        try SessionCheckpoint.parse(json, agent: "coder", sessionID: "s-1", taskID: Self.task, now: Self.now)
    }

    func refusal(_ json: JSONValue) -> NightshiftError? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error
        }
    }

    @Test("parse fills the defaults: times, status, agent, session, task, empty context and progress")
    func defaults() throws {
        let checkpoint = try parse(["schema_version": 1, "phase": "implementing"])
        #expect(checkpoint.id == "")
        #expect(checkpoint.agent == "coder")
        #expect(checkpoint.sessionID == "s-1")
        #expect(checkpoint.taskID == Self.task)
        #expect(checkpoint.status == .active)
        #expect(checkpoint.createdAt == Self.now)
        #expect(checkpoint.updatedAt == Self.now)
        #expect(checkpoint.context == .init())
        #expect(checkpoint.progress == .init())
        #expect(checkpoint.resumeHint == nil && checkpoint.archivedAt == nil)
    }

    @Test("the document's own values win over the defaults; times parse from RFC 3339 text")
    func explicitValues() throws {
        let checkpoint = try parse([
            "schema_version": 1, "phase": "review", "agent": "other", "session_id": "s-2", "status": "resolved",
            "created_at": "2026-11-21T08:00:00Z", "updated_at": "2026-11-21T09:30:00.500Z",
            "context": ["work_items": ["NS-12"], "branch": "feature/x"],
            "progress": ["tasks_completed": ["a"], "tasks_remaining": ["b", "c"], "files_modified": ["x.swift"], "decisions": ["d"]],
            "resume_hint": "run the tests first",
        ])
        #expect(checkpoint.agent == "other" && checkpoint.sessionID == "s-2" && checkpoint.status == .resolved)
        #expect(checkpoint.createdAt == (try Date("2026-11-21T08:00:00Z", strategy: .iso8601)))
        #expect(checkpoint.updatedAt.timeIntervalSince(checkpoint.createdAt) == 5400.5)
        #expect(checkpoint.context == .init(workItems: ["NS-12"], branch: "feature/x"))
        #expect(checkpoint.progress.tasksRemaining == ["b", "c"])
        #expect(checkpoint.resumeHint == "run the tests first")
    }

    @Test("the JSON form round-trips through Codable and through parse")
    func roundTrip() throws {
        var checkpoint = try parse(["schema_version": 1, "phase": "p", "context": ["work_items": ["1"]]])
        checkpoint.id = UUIDv7.generate()
        let data = try JSONEncoder().encode(checkpoint)
        #expect(try JSONDecoder().decode(SessionCheckpoint.self, from: data) == checkpoint)
        #expect(try parse(checkpoint.json) == checkpoint)
        #expect(checkpoint.json["created_at"] == "2027-01-15T08:00:00.250Z")
        #expect(checkpoint.json["schema_version"] == 1)
        // Strict decoding fills nothing in.
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(SessionCheckpoint.self, from: Data(#"{"schema_version":1,"phase":"p"}"#.utf8))
        }
    }

    @Test("bad documents are refused with the field and the reason", arguments: [
        (["phase": "p"], "schema_version", "is required"),
        (["schema_version": 2, "phase": "p"], "schema_version", "expected 1, got 2"),
        (["schema_version": "1", "phase": "p"], "schema_version", "got a string"),
        (["schema_version": 1], "phase", "is required"),
        (["schema_version": 1, "phase": 3], "phase", "expected a string, got an integer"),
        (["schema_version": 1, "phase": "p", "status": "done"], "status", "expected one of active, resolved, got 'done'"),
        (["schema_version": 1, "phase": "p", "created_at": "yesterday"], "created_at", "RFC 3339"),
        (["schema_version": 1, "phase": "p", "context": ["work_items": "NS-1"]], "context.work_items", "array of strings"),
        (["schema_version": 1, "phase": "p", "progress": ["decisions": ["a", 2]]], "progress.decisions[1]", "got an integer"),
        (["schema_version": 1, "phase": "p", "progress": []], "progress", "expected an object"),
        (["schema_version": 1, "phase": "p", "task_id": "nope"], "task_id", "UUID"),
        (["schema_version": 1, "phase": "p", "phaze": "x"], "phaze", "unknown field"),
        (["schema_version": 1, "phase": "p", "updated_at": 4.3e16], "updated_at", "years 0001 to 9999"),
        (["schema_version": 1, "phase": "p", "created_at": -1e300], "created_at", "years 0001 to 9999"),
    ] as [(JSONValue, String, String)])
    func refusals(json: JSONValue, field: String, reason: String) throws {
        let error = try #require(refusal(json))
        #expect(error.code == .invalidInput)
        #expect(error.field == field)
        #expect(error.message.contains(reason), "\(error)")
    }

    @Test("a time beyond the years RFC 3339 writes is written as the nearest one, never trapped on")
    func timeBounds() {
        #expect(JSONTime.text(Date(timeIntervalSince1970: 1e300)) == "9999-12-31T23:59:59.999Z")
        #expect(JSONTime.text(Date(timeIntervalSince1970: -1e300)).hasPrefix("0001-01-"))
        #expect(JSONTime.text(Date(timeIntervalSince1970: 1_800_000_000.25)) == "2027-01-15T08:00:00.250Z")
        // Cut to the millisecond, never after the time it stands for.
        #expect(JSONTime.text(Date(timeIntervalSince1970: 1_800_000_000.2509)) == "2027-01-15T08:00:00.250Z")
        #expect(JSONTime.text(Date(timeIntervalSince1970: -0.0004)) == "1969-12-31T23:59:59.999Z")
    }

    @Test("a directory's valid file becomes a checkpoint; unparseable and invalid ones are quarantined with their errors")
    func directory() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ns-checkpoints-\(UUID().uuidString)")
        let inbox = root.appendingPathComponent("checkpoints")
        let quarantine = root.appendingPathComponent("quarantine")
        try FileManager.default.createDirectory(at: inbox, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: quarantine, withIntermediateDirectories: true)
        try Data("already here".utf8).write(to: quarantine.appendingPathComponent("broken.json"))
        try Data(#"{"schema_version":1,"phase":"testing","resume_hint":"go on"}"#.utf8).write(to: inbox.appendingPathComponent("good.json"))
        try Data(#"{"schema_version":1,"phase":"#.utf8).write(to: inbox.appendingPathComponent("broken.json"))
        try Data(#"{"schema_version":2,"phase":"x"}"#.utf8).write(to: inbox.appendingPathComponent("future.json"))
        try Data("not a checkpoint".utf8).write(to: inbox.appendingPathComponent("notes.txt"))

        let found = CheckpointDirectory.collect(
            from: inbox, quarantine: quarantine, agent: "coder", sessionID: "s-1", taskID: Self.task, now: Self.now)

        #expect(found.checkpoints.map(\.resumeHint) == ["go on"])
        #expect(found.checkpoints.first?.agent == "coder")
        #expect(found.quarantined.map(\.fileName) == ["broken.json", "future.json"])
        let broken = try #require(found.quarantined.first)
        #expect(broken.error.hasPrefix("malformed JSON"), "\(broken.error)")
        #expect(broken.quarantinedPath == quarantine.appendingPathComponent("broken-2.json").path, "a taken name gets a suffix")
        #expect(broken.agent == "coder" && broken.taskID == Self.task && broken.time == Self.now)
        #expect(found.quarantined.last?.error == "schema_version: expected 1, got 2")
        #expect(FileManager.default.fileExists(atPath: found.quarantined.last!.quarantinedPath))
        #expect(try String(contentsOfFile: broken.quarantinedPath, encoding: .utf8) == #"{"schema_version":1,"phase":"#)
        #expect(try FileManager.default.contentsOfDirectory(atPath: inbox.path) == ["notes.txt"], "read files leave the directory")
    }

    @Test("memory keys and summaries are validated")
    func memoryValidation() throws {
        try Memory.validate(workspace: "default", agent: "coder", key: String(repeating: "k", count: 256))
        #expect(throws: NightshiftError.invalid("key", "expected 1 to 256 characters, got 0")) {
            try Memory.validate(workspace: "default", agent: "coder", key: "")
        }
        #expect(throws: NightshiftError.self) { try Memory.validate(workspace: "default", agent: "coder", key: String(repeating: "k", count: 257)) }
        try Memory.validate(summary: String(repeating: "s", count: Memory.maxSummaryBytes))
        #expect(throws: NightshiftError.self) { try Memory.validate(summary: String(repeating: "s", count: Memory.maxSummaryBytes + 1)) }
        let memory = Memory(agent: "coder", key: "k", summary: "s", createdAt: Self.now)
        #expect(try JSONDecoder().decode(Memory.self, from: JSONEncoder().encode(memory)) == memory)
    }
}
