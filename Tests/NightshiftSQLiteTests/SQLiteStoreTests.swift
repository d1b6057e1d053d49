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

    @Test("concurrent settles with different outcomes, a stale lease and a repeat are each settled right")
    func concurrentSettles() async throws {
        let store = try SQLiteTaskStore(path: path())
        try await store.saveAgent(Agent(name: "echo", runner: .builtin, retry: RetryPolicy(maxAttempts: 2)))
        for index in 0..<6 { _ = try await store.submit(NewTask(agent: "echo", prompt: "task \(index)"), now: t0) }
        let runs = try await store.claim(worker: "w", limit: 6, leaseDuration: 60, now: t0)
        try #require(runs.count == 6)
        let stale = Lease(taskID: runs[5].task.id, runID: runs[5].run.id, token: "not-the-token")
        let settles: [(Lease, RunOutcome)] = [
            (runs[0].lease, .succeeded("ok", usage: RunUsage(costUSD: 0.25))),
            (runs[1].lease, .failed("flaky", retryable: true)),
            (runs[2].lease, .failed("broken", retryable: false)),
            (runs[3].lease, .waitingForInput("which branch?")),
            (runs[4].lease, .succeeded("first")),
            (runs[4].lease, .succeeded("again")),
            (stale, .succeeded("no")),
        ]
        let results = try await withThrowingTaskGroup(of: (Int, SettleResult).self) { group in
            for (index, settle) in settles.enumerated() {
                group.addTask { (index, try await store.settle(settle.0, outcome: settle.1, now: t0)) }
            }
            var results: [Int: SettleResult] = [:]
            for try await (index, result) in group { results[index] = result }
            return results
        }
        #expect(results[0] == .settled(.done))
        #expect(results[1] == .settled(.queued))
        #expect(results[2] == .settled(.error))
        #expect(results[3] == .settled(.waiting))
        // The same lease twice: one settles, the other is told it already was.
        #expect(Set([results[4], results[5]]) == [.settled(.done), .alreadySettled(.done)])
        if case .stale = results[6] {} else { Issue.record("a wrong token must be stale, got \(String(describing: results[6]))") }
        let done = try #require(try await store.task(runs[0].task.id))
        #expect(done.result == "ok")
        #expect(done.costUSD == 0.25)
        let retried = try #require(try await store.task(runs[1].task.id))
        #expect(retried.error == "flaky")
        #expect(retried.failures == 1)
        #expect(try await store.task(runs[2].task.id)?.error == "broken")
        #expect(try await store.task(runs[5].task.id)?.state == .running)
        let run = try #require(try await store.runs(task: runs[0].task.id).first)
        #expect(run.outcome == "succeeded")
        #expect(run.costUSD == 0.25)
        let counts = try await store.countsByState().filter { $0.value != 0 }
        #expect(counts == [.done: 2, .queued: 1, .error: 1, .waiting: 1, .running: 1])
    }

    @Test("a schema newer than the binary refuses to open, naming both versions")
    func newerSchema() throws {
        let file = try path()
        _ = try SQLiteTaskStore(path: file)
        try DatabaseQueue(path: file).write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        let error = #expect(throws: NightshiftError.self) { try SQLiteTaskStore(path: file) }
        #expect(error?.message.contains("v99") == true)
        #expect(error?.message.contains("binary's v17") == true)
    }

    @Test("v4 turns the seconds since 1970 of older state events' wake_at and resets_at into RFC 3339 text")
    func eventTimesMigrated() async throws {
        let file = try path()
        let id: TaskID
        do {
            let store = try SQLiteTaskStore(path: file)
            try await store.saveAgent(echoAgent)
            id = try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task.id
        }
        // A database written before v4: its state events carry numbers.
        try await DatabaseQueue(path: file).write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v4'")
            try db.execute(
                sql: """
                    INSERT INTO task_events (task_id, seq, time, type, data) VALUES
                    (?, 2, 1800000000, 'state', '{"from":"queued","to":"waiting","action":"settle","wake_at":1800000060.25}'),
                    (?, 3, 1800000000, 'state', '{"from":"waiting","to":"queued","action":"settle","resets_at":1800003600}'),
                    (?, 4, 1800000000, 'log', '{"wake_at":1800000060}')
                    """,
                arguments: [id.rawValue, id.rawValue, id.rawValue])
        }
        let events = try await SQLiteTaskStore(path: file).events(task: id, after: 1, limit: 10)
        #expect(events.map { $0.data["wake_at"] ?? $0.data["resets_at"] } == [
            "2027-01-15T08:01:00.250Z", "2027-01-15T09:00:00.000Z", 1800000060,
        ])
        #expect(events[0].data["to"] == "waiting")
    }

    @Test("v5 keeps a v4 database's agents (now documents), lanes and rows, in workspace default or their task's")
    func workspacesMigrated() async throws {
        let file = try path()
        let ids: [TaskID]
        do {
            let store = try SQLiteTaskStore(path: file)
            try await store.saveAgent(echoAgent)
            try await store.saveAgent(Agent(workspaceID: "w2", name: "echo", runner: .builtin))
            ids = [
                try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task.id,
                try await store.submit(NewTask(agent: "echo", prompt: "y", workspaceID: "w2"), now: t0).task.id,
            ]
        }
        // Back to v4: agents and lanes in their old shape, no workspaces, no workspace columns (and
        // none of v6's inbox and subtasks, v9's parks, v10's hook consumers, v11's tool calls, v16's policies or v17's trace parents).
        try await DatabaseQueue(path: file).write { db in
            try db.execute(sql: """
                DELETE FROM grdb_migrations WHERE identifier IN ('v5', 'v6', 'v9', 'v10', 'v11', 'v16', 'v17');
                ALTER TABLE tasks DROP COLUMN policy; ALTER TABLE tasks DROP COLUMN trace_parent;
                DROP TABLE task_inputs; DROP INDEX tasks_parent; DROP TABLE quota_parks;
                DROP TABLE hook_consumers; DROP INDEX hook_events_workspace;
                DROP INDEX runs_finished; ALTER TABLE runs DROP COLUMN tool_calls;
                ALTER TABLE tasks DROP COLUMN pending_inputs; ALTER TABLE tasks DROP COLUMN waiting_for;
                ALTER TABLE tasks DROP COLUMN parent_id; ALTER TABLE tasks DROP COLUMN subtask_depth;
                DROP TABLE agents; DROP TABLE lanes; DROP TABLE api_tokens; DROP TABLE workspaces;
                DROP INDEX checkpoints_agent;
                CREATE INDEX checkpoints_agent ON checkpoints(agent, status, updated_at) WHERE archived_at IS NULL;
                CREATE TABLE agents (name TEXT PRIMARY KEY, runner TEXT NOT NULL, config TEXT NOT NULL, concurrency INTEGER,
                    timeout REAL, max_attempts INTEGER NOT NULL, initial_backoff REAL NOT NULL, max_backoff REAL NOT NULL,
                    budget_usd REAL, spent_usd REAL NOT NULL DEFAULT 0, inject_memories INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL);
                CREATE TABLE lanes (name TEXT PRIMARY KEY, concurrency INTEGER NOT NULL);
                INSERT INTO agents VALUES ('echo', 'command', '{"command":["/bin/echo"],"env":null}', 2, 30.5, 4, 0.5, 60, 9.5, 1.25, 1, 0);
                INSERT INTO lanes VALUES ('gpu', 1);
                """)
            for table in ["runs", "task_events", "hook_events", "checkpoints", "quarantined_checkpoints"] {
                try db.execute(sql: "ALTER TABLE \(table) DROP COLUMN workspace_id")
            }
        }
        let store = try SQLiteTaskStore(path: file)
        let agent = try #require(try await store.agent(named: "echo", workspace: "default"))
        #expect(agent == Agent(
            name: "echo", runner: .command, config: ["command": ["/bin/echo"], "env": .null], concurrency: 2, timeout: 30.5,
            retry: RetryPolicy(maxAttempts: 4, initialBackoff: 0.5, maxBackoff: 60), budgetUSD: 9.5, spentUSD: 1.25,
            injectMemories: true))
        #expect(try await store.workspaces().map(\.id) == ["default", "w2"], "the workspaces of existing tasks are created")
        #expect(try await store.events(task: ids[1], after: 0, limit: 10, workspace: "w2").count == 1, "w2's events are w2's")
        #expect(try await store.events(task: ids[0], after: 0, limit: 10, workspace: "default").count == 1)
        #expect(try await store.recentRuns(limit: 5, workspace: "w2").isEmpty)
        // The lane limit kept: one gpu task at a time.
        for index in 0..<2 { _ = try await store.submit(NewTask(agent: "echo", prompt: "\(index)", lane: "gpu"), now: t0) }
        let claimed = try await store.claim(worker: "w", limit: 10, leaseDuration: 30, now: t0)
        #expect(claimed.filter { $0.task.lane == "gpu" }.count == 1)
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
