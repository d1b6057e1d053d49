import Foundation
import Logging
import Nightshift
@testable import NightshiftPostgres
import PostgresNIO
import NightshiftTestSupport
import Synchronization
import Testing

/// Connection URLs, connection failures and schema versions.
@Suite("PostgreSQL connection and schema")
struct ConnectionTests {
    @Test("a URL gives host, port, user and database; the password comes from it or PGPASSWORD and is never shown")
    func urls() throws {
        let url = try PostgresURL(parsing: "postgres://ns:s3cret@db.example:6543/work", environment: [:])
        #expect(url == PostgresURL(host: "db.example", port: 6543, username: "ns", password: "s3cret", database: "work"))
        #expect(url.description == "postgres://ns@db.example:6543/work")
        let fromEnvironment = try PostgresURL(parsing: "postgresql://ns@localhost/work", environment: ["PGPASSWORD": "pw"])
        #expect(fromEnvironment.port == 5432 && fromEnvironment.password == "pw")
        for (bad, missing) in [
            ("http://ns@h/db", "postgres://"), ("postgres://h/db", "user"), ("postgres://ns@h", "database"), ("postgres://ns@:5/db", "host"),
            ("postgres://ns@/db?host=/run/pg&port=http", "port=http"), ("postgres://ns@h/db?sslmode=require", "'sslmode'"),
        ] {
            let error = #expect(throws: NightshiftError.self) { try PostgresURL(parsing: bad, environment: [:]) }
            #expect(error?.message.contains(missing) == true, "\(bad): \(error?.message ?? "")")
            #expect(error?.field == "store")
        }
    }

    @Test("a host that is a directory names the server's Unix-domain socket, as in libpq; the URL's text round-trips")
    func socketURLs() throws {
        let url = try PostgresURL(parsing: "postgres://ns@/work?host=/run/postgresql&port=5433&schema=jobs", environment: [:])
        #expect(url == PostgresURL(host: "/run/postgresql", port: 5433, username: "ns", database: "work", schema: "jobs"))
        #expect(url.socketPath == "/run/postgresql/.s.PGSQL.5433")
        #expect(url.address == "/run/postgresql/.s.PGSQL.5433")
        #expect(try PostgresURL(parsing: url.description, environment: [:]) == url)
        let encoded = try PostgresURL(parsing: "postgres://ns@%2Ftmp%2Fpg/work", environment: [:])
        #expect(encoded.socketPath == "/tmp/pg/.s.PGSQL.5432")
        let tcp = try PostgresURL(parsing: "postgres://ns@db.example/work?port=6000", environment: [:])
        #expect(tcp.socketPath == nil && tcp.address == "db.example:6000")
        #expect(try PostgresURL(parsing: tcp.description, environment: [:]) == tcp)
    }

    @Test("a store reaches the server through its Unix-domain socket: what it queues is seen over TCP, and its wake-ups arrive", TestDatabase.trait)
    func socketConnection() async throws {
        let tcp = try PostgresURL(parsing: TestDatabase.requireURL())
        var socket = tcp
        socket.host = try TestPostgres.requireSocketDirectory()
        let schema = TestPostgres.freshSchema()
        let overTCP = try PostgresTaskStore(url: tcp, configuration: .init(schema: schema))
        let overSocket = try PostgresTaskStore(url: socket, configuration: .init(schema: schema))
        try await overSocket.migrate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await overSocket.run() }
            group.addTask { try await overTCP.run() }
            defer { group.cancelAll() }
            let woken = Woken()
            group.addTask { try await overSocket.listenForWork { woken.count.withLock { $0 += 1 } } }
            try await overSocket.saveAgent(Agent(name: "echo", runner: .builtin))
            // The listener calls once when it listens, then once per notification.
            try await woken.wait(for: 1)
            let id = try await overTCP.submit(NewTask(agent: "echo", prompt: "hi"), now: Date()).task.id
            try await woken.wait(for: 2)
            #expect(woken.count.withLock { $0 } >= 2, "a submit over TCP wakes the listener on the socket")
            let seen = try await overSocket.task(id)
            #expect(seen?.state == .queued)
        }
        var missing = socket
        missing.host = "/nonexistent-nightshift-dir"
        let error = await #expect(throws: NightshiftError.self) {
            try await PostgresTaskStore(url: missing, configuration: .init(connectTimeout: 5)).migrate()
        }
        #expect(error?.message.contains("/nonexistent-nightshift-dir/.s.PGSQL.\(tcp.port)") == true, "\(error?.message ?? "")")
    }

    private final class Woken: Sendable {
        let count = Mutex(0)

        /// Returns once `count` reaches `target`, or after 10 s.
        func wait(for target: Int) async throws {
            for _ in 0..<200 where count.withLock({ $0 }) < target { try await Task.sleep(for: .milliseconds(50)) }
        }
    }

    @Test("an unreachable server is reported with its host and port, never the password")
    func unreachable() async throws {
        let store = try PostgresTaskStore(url: "postgres://ns:topsecret@127.0.0.1:1/work", configuration: .init(connectTimeout: 5))
        let error = await #expect(throws: NightshiftError.self) { try await store.migrate() }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("127.0.0.1:1") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("topsecret") == false)
    }

    @Test("a wrong database is reported with the server's own message, never the password", TestDatabase.trait)
    func wrongDatabase() async throws {
        var url = try PostgresURL(parsing: TestDatabase.requireURL())
        url.database = "no_such_database_here"
        url.password = "topsecret"
        let store = try PostgresTaskStore(url: url)
        let error = await #expect(throws: NightshiftError.self) { try await store.migrate() }
        let message = error?.message ?? ""
        #expect(message.contains("\(url.host):\(url.port)"), "\(message)")
        #expect(message.contains("no_such_database_here\" does not exist"), "\(message)")
        #expect(!message.contains("topsecret"))
    }

    @Test("nodes starting at once on a schema that does not exist yet all migrate it: its creation is serialized", TestDatabase.trait)
    func concurrentFirstStart() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        // The race is narrow (both check before either commits): ten new schemas, 16 nodes each.
        for _ in 0..<10 {
            var url = try PostgresURL(parsing: TestDatabase.requireURL())
            url.schema = TestPostgres.freshSchema()
            let stores = try (0..<16).map { _ in try PostgresTaskStore(url: url, configuration: .init(maximumConnections: 1), logger: logger) }
            let failures = await withTaskGroup(of: String?.self) { group in
                for store in stores {
                    group.addTask {
                        do {
                            try await store.migrate()
                            return nil
                        } catch {
                            return "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { if let failure = $1 { $0.append(failure) } }
            }
            #expect(failures.isEmpty, "\(failures)")
        }
    }

    @Test("a v4 database upgrades to the newest schema: agents become documents, workspaces appear, rows keep theirs, the inbox starts empty", TestDatabase.trait)
    func upgradeFromV4() async throws {
        var url = try PostgresURL(parsing: TestDatabase.requireURL())
        let schema = TestPostgres.freshSchema()
        let logger = Logger(label: "test")
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        // A store as version 4 left it (the migrations up to 4, as that binary applied them), with its rows.
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: logger)
        try await connection.query(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", logger: logger)
        for migration in PostgresSchema.migrations where migration.version <= 4 {
            for statement in migration.sql { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
            try await connection.query(PostgresQuery(unsafeSQL: "INSERT INTO schema_migrations (version) VALUES (\(migration.version))"), logger: logger)
        }
        let id = TaskID.generate()
        for statement in [
            """
            INSERT INTO agents (name, runner, config, concurrency, timeout, max_attempts, initial_backoff, max_backoff, budget_usd,
                spent_usd, inject_memories, updated_at)
            VALUES ('echo', 'command', '{"command":["/bin/echo"]}', 2, 30.5, 4, 0.5, 60, 9.5, 1.25, true, 0)
            """,
            "INSERT INTO lanes (name, concurrency) VALUES ('gpu', 1)",
            """
            INSERT INTO tasks (id, workspace_id, agent, prompt, payload, priority, labels, max_attempts, initial_backoff, max_backoff,
                available_at, state, last_seq, created_at, updated_at)
            VALUES ('\(id)', 'w2', 'echo', 'x', '{}', 10, '[]', 1, 1, 1, 0, 'waiting', 1, 0, 0)
            """,
            "INSERT INTO task_events (task_id, seq, time, type, data) VALUES ('\(id)', 1, 0, 'state', '{\"to\":\"waiting\"}')",
        ] {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        try await connection.close()

        url.schema = schema
        let store = try PostgresTaskStore(url: url, configuration: .init(maximumConnections: 4), logger: logger)
        try await store.migrate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.runPool() }
            defer { group.cancelAll() }
            #expect(try await store.agent(named: "echo", workspace: "default") == Agent(
                name: "echo", runner: .command, config: ["command": ["/bin/echo"]], concurrency: 2, timeout: 30.5,
                retry: RetryPolicy(maxAttempts: 4, initialBackoff: 0.5, maxBackoff: 60), budgetUSD: 9.5, spentUSD: 1.25,
                injectMemories: true))
            #expect(try await store.workspaces().map(\.id) == ["default", "w2"], "the workspaces of existing tasks are created")
            let task = try #require(try await store.task(id, workspace: "w2"))
            #expect(task.pendingInputs == 0 && task.waitingFor == nil && task.parentID == nil && task.subtaskDepth == 0)
            #expect(try await store.events(task: id, after: 0, limit: 10, workspace: "w2").count == 1, "w2's events are w2's")
            // The upgraded task takes input: an answer wakes it.
            let receipt = try await store.addInput(NewInput(kind: .answer, text: "yes", sender: "a"), to: id, now: Date(), workspace: "w2")
            #expect(receipt.task.state == .queued)
        }
    }

    @Test("migrations are recorded and repeatable; a newer schema is refused with both versions named", TestDatabase.trait)
    func schemaVersions() async throws {
        let url = try PostgresURL(parsing: TestDatabase.requireURL())
        let schema = TestPostgres.freshSchema()
        let store = try PostgresTaskStore(url: url, configuration: .init(schema: schema))
        try await store.migrate()
        try await store.migrate()
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Logger(label: "test"))
        var versions: [Int] = []
        for try await version in try await connection.query("SELECT version FROM schema_migrations ORDER BY version", logger: Logger(label: "test"))
            .decode(Int.self)
        {
            versions.append(version)
        }
        #expect(versions == PostgresSchema.migrations.map(\.version))
        #expect(PostgresSchema.latest == 17)
        try await connection.query("INSERT INTO schema_migrations (version) VALUES (99)", logger: Logger(label: "test"))
        try await connection.close()
        let error = await #expect(throws: NightshiftError.self) { try await store.migrate() }
        let message = error?.message ?? ""
        #expect(message.contains("schema version 99") && message.contains("binary's \(PostgresSchema.latest)"), "\(message)")
    }

    @Test("v4 turns the seconds since 1970 of older state events' wake_at and resets_at into RFC 3339 text", TestDatabase.trait)
    func eventTimesMigrated() async throws {
        let text = try TestDatabase.requireURL()
        let url = try PostgresURL(parsing: text)
        let schema = TestPostgres.freshSchema()
        let id = try await PostgresTaskStore.withStore(url: text, configuration: .init(schema: schema)) { store in
            try await store.saveAgent(Agent(name: "echo", runner: .builtin))
            return try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task.id
        }
        // A database written before v4: its state events carry numbers.
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        configuration.options.additionalStartupParameters = [("search_path", schema)]
        let logger = Logger(label: "test")
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        try await connection.query("DELETE FROM schema_migrations WHERE version = 4", logger: logger)
        let task = id.rawValue
        try await connection.query("""
            INSERT INTO task_events (task_id, seq, time, type, data) VALUES
            (\(task), 2, 1800000000, 'state', '{"from":"queued","to":"waiting","action":"settle","wake_at":1800000060.25}'),
            (\(task), 3, 1800000000, 'state', '{"from":"waiting","to":"queued","action":"settle","resets_at":1800003600}'),
            (\(task), 4, 1800000000, 'log', '{"wake_at":1800000060}')
            """, logger: logger)
        try await connection.close()
        let events = try await PostgresTaskStore.withStore(url: text, configuration: .init(schema: schema)) { store in
            try await store.events(task: id, after: 1, limit: 10)
        }
        #expect(events.map { $0.data["wake_at"] ?? $0.data["resets_at"] } == [
            "2027-01-15T08:01:00.250Z", "2027-01-15T09:00:00.000Z", 1800000060,
        ])
        #expect(events[0].data["to"] == "waiting")
    }

    @Test("withStore runs the pool around its body", TestDatabase.trait)
    func withStore() async throws {
        let count = try await PostgresTaskStore.withStore(
            url: TestDatabase.requireURL(), configuration: .init(schema: TestPostgres.freshSchema())
        ) { store in
            try await store.saveAgent(Agent(name: "echo", runner: .builtin))
            _ = try await store.submit(NewTask(agent: "echo", prompt: "hi"), now: Date())
            return try await store.countsByState()[.queued]
        }
        #expect(count == 1)
    }

    @Test("a claim's asynchronous commit stays with the claim: the connection's next statements commit synchronously", TestDatabase.trait)
    func claimCommitMode() async throws {
        // One connection, so the claim and what follows share it.
        try await PostgresTaskStore.withStore(
            url: TestDatabase.requireURL(), configuration: .init(schema: TestPostgres.freshSchema(), maximumConnections: 1)
        ) { store in
            try await store.saveAgent(Agent(name: "echo", runner: .builtin))
            _ = try await store.submit(NewTask(agent: "echo", prompt: "hi"), now: Date())
            #expect(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: Date()).count == 1)
            #expect(try await store.setting("synchronous_commit") == "on")
        }
    }

    @Test("a connection idle longer than the stack's limit is replaced when next checked out; a recent one is reused", TestDatabase.trait)
    func idleConnectionsReplaced() async throws {
        let url = try PostgresURL(parsing: TestDatabase.requireURL())
        let stack = ConnectionStack(
            configuration: PostgresTaskStore.connectionConfiguration(url, .init()), maximum: 2, maximumIdle: .milliseconds(300),
            logger: Logger(label: "test"))
        let logger = Logger(label: "test")
        let first = try await stack.withConnection { connection in
            try await connection.query("SELECT 1", logger: logger)
            return connection.id
        }
        let again = try await stack.withConnection { $0.id }
        #expect(again == first, "reused while recent")
        try await Task.sleep(for: .milliseconds(500))
        let (replaced, works) = try await stack.withConnection { connection in
            (connection.id, try await connection.query("SELECT 1", logger: logger).collect().count)
        }
        #expect(replaced != first, "replaced after idling past the limit")
        #expect(works == 1)
        await stack.close()
    }

    /// What the cancelled-waiter test's tasks have done.
    final class Flags: Sendable {
        struct State {
            var held = false
            var released = false
            var took = false
            var cancelled = false
        }

        private let state = Mutex(State())

        func set(_ flag: WritableKeyPath<State, Bool>) { state.withLock { $0[keyPath: flag] = true } }

        subscript(_ flag: KeyPath<State, Bool>) -> Bool { state.withLock { $0[keyPath: flag] } }
    }

    @Test("a caller cancelled while it waits for a connection stops waiting and never takes one; the slot is not lost", TestDatabase.trait)
    func cancelledWaiter() async throws {
        let url = try PostgresURL(parsing: TestDatabase.requireURL())
        let stack = ConnectionStack(configuration: PostgresTaskStore.connectionConfiguration(url, .init()), maximum: 1, logger: Logger(label: "test"))
        let flags = Flags()
        let holder = Task {
            try await stack.withConnection { _ in
                flags.set(\.held)
                while !flags[\.released] { try? await Task.sleep(for: .milliseconds(5)) }
            }
        }
        #expect(await eventually { flags[\.held] })
        let waiter = Task {
            do {
                try await stack.withConnection { _ in flags.set(\.took) }
            } catch is CancellationError {
                flags.set(\.cancelled)
            }
        }
        #expect(await eventually { stack.waiting == 1 })
        waiter.cancel()
        // Before the holder lets go: a waiter that ignored its cancellation would still wait.
        #expect(await eventually(timeout: .seconds(10)) { flags[\.cancelled] }, "the cancelled caller stopped waiting")
        #expect(stack.waiting == 0)
        flags.set(\.released)
        try await holder.value
        try await waiter.value
        #expect(!flags[\.took], "the cancelled caller took no connection")
        #expect(try await stack.withConnection { _ in 1 } == 1, "the one slot is free again")
        await stack.close()
    }

    @Test("a connection stack of two serves 30 callers at once: each waits its turn, at most two connections open", TestDatabase.trait)
    func connectionStack() async throws {
        let url = try PostgresURL(parsing: TestDatabase.requireURL())
        let stack = ConnectionStack(
            configuration: PostgresTaskStore.connectionConfiguration(url, .init()), maximum: 2, logger: Logger(label: "test"))
        let seen = Uses()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<30 {
                group.addTask {
                    try await stack.withConnection { connection in
                        let first = seen.state.withLock { state in
                            state.active += 1
                            state.peak = max(state.peak, state.active)
                            state.ids.insert(connection.id)
                            return state.done == 0 && state.active == 1
                        }
                        // The first caller in holds its connection until a second is in too, so the
                        // stack must open its second connection whatever the scheduling.
                        if first { _ = await eventually { seen.state.withLock { $0.active } >= 2 } }
                        try await connection.query("SELECT pg_sleep(0.01)", logger: Logger(label: "test"))
                        seen.state.withLock { $0.active -= 1; $0.done += 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        await stack.close()
        let result = seen.state.withLock { $0 }
        #expect(result.done == 30)
        #expect(result.peak == 2, "two at once, never more")
        #expect(result.ids.count == 2, "the two connections were reused, not reopened")
    }
}

/// How a test's callers used their connections.
private final class Uses: Sendable {
    struct State {
        var active = 0, peak = 0, done = 0
        var ids: Set<Int> = []
    }

    let state = Mutex(State())
}
