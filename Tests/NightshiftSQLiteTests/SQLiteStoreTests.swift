import Foundation
import GRDB
import Nightshift
import NightshiftSQLite
import Testing

@Suite("SQLite specifics")
struct SQLiteStoreTests {
    func path() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("nightshift.db").path
    }

    @Test("durability is FULL by default, NORMAL on request")
    func durability() async throws {
        #expect(try await SQLiteTaskStore(path: path()).synchronousMode() == "FULL")
        #expect(try await SQLiteTaskStore(path: path(), configuration: .init(durability: .normal)).synchronousMode() == "NORMAL")
    }

    @Test("the database is in WAL mode and survives reopening")
    func reopen() async throws {
        let file = try path()
        let id: TaskID
        do {
            let store = try SQLiteTaskStore(path: file)
            try await store.saveAgent(echoAgent)
            id = try await store.submit(NewTask(agent: "echo", prompt: "persist me"), now: t0).task.id
        }
        let reopened = try SQLiteTaskStore(path: file)
        #expect(try await reopened.task(id)?.prompt == "persist me")
        let mode = try await DatabaseQueue(path: file).read { try String.fetchOne($0, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
    }

    @Test("under constant writes the write-ahead log is started over instead of growing")
    func walStaysBounded() async throws {
        let file = try path()
        let store = try SQLiteTaskStore(path: file, configuration: .init(durability: .normal, walRestartPages: 256))
        try await store.saveAgent(echoAgent)
        var largest: UInt64 = 0
        // One commit per submit, about five log pages each: some 7,500 pages (30 MiB) if nothing
        // started the log over.
        for index in 0..<1500 {
            _ = try await store.submit(NewTask(agent: "echo", prompt: "task \(index)"), now: t0)
            if index % 50 == 0 {
                let size = try FileManager.default.attributesOfItem(atPath: file + "-wal")[.size] as? UInt64 ?? 0
                largest = max(largest, size)
            }
        }
        #expect(largest > 0)
        #expect(largest < 6 * 1024 * 1024, "the log reached \(largest) bytes")
        #expect(try await store.countsByState()[.queued] == 1500)
    }

    @Test("a schema newer than the binary refuses to open, naming both versions")
    func newerSchema() throws {
        let file = try path()
        _ = try SQLiteTaskStore(path: file)
        try DatabaseQueue(path: file).write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        let error = #expect(throws: NightshiftError.self) { try SQLiteTaskStore(path: file) }
        #expect(error?.message.contains("v99") == true)
        #expect(error?.message.contains("v1") == true)
    }

    @Test("claim cost does not scan past saturated agents")
    func saturatedAgentsSkipped() async throws {
        let store = try SQLiteTaskStore(path: path())
        try await store.saveAgent(Agent(name: "busy", runner: .builtin, concurrency: 1))
        try await store.saveAgent(echoAgent)
        _ = try await store.submitAll((0..<2000).map { NewTask(agent: "busy", prompt: "b\($0)", priority: 0) }, now: t0)
        _ = try await store.submit(NewTask(agent: "echo", prompt: "behind them", priority: 5), now: t0)
        #expect(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).map(\.task.agent) == ["busy"])
        #expect(try await store.claim(worker: "w", limit: 5, leaseDuration: 30, now: t0).map(\.task.prompt) == ["behind them"])
    }
}
