import Foundation
import Logging
import Nightshift
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The ``TaskStore`` on PostgreSQL, shared by any number of nodes.
///
/// Every operation is one transaction. Claims pick rows with `FOR UPDATE SKIP LOCKED`; when
/// concurrency limits exist, claims take an advisory transaction lock first, so the running
/// counts they read cannot change under them on another node. Settles lock the task row and are
/// fenced on its lease. Hook events are appended to a pending table and given their gap-free
/// `seq` by a sequencer (``sequenceHooks()``), so writers share no lock.
///
/// Operations check out connections from the store's own stack (opened on demand). ``run()``
/// runs the pool of the listening connection and the hook sequencer, and closes the
/// connections at the end: run it in a task group or a `ServiceGroup` while the store is in
/// use, or use ``withStore(url:configuration:logger:_:)``.
/// Every transaction that queues a task sends a NOTIFY (payload `queued`) on the schema's
/// changes channel, and each node sends a coalesced notice there after its writes; while anyone
/// follows the store's changes, ``run()`` listens there, ringing ``hookChanges`` (the change
/// feed) for each and ``listenForWork(_:)``'s callers for the `queued` ones, so a task queued on
/// one node wakes the dispatchers of all (docs/postgres.md).
public final class PostgresTaskStore: TaskStore, Service {
    /// How the store connects and what it enforces.
    public struct Configuration: Sendable {
        /// Submits are refused once this many tasks are queued, waiting or paused; `nil` for no cap.
        public var maxQueueDepth: Int?
        /// The schema that holds the store's tables (created if missing); `nil` for the role's default.
        public var schema: String?
        /// The most connections the pool opens.
        public var maximumConnections: Int
        /// How long to wait for the server when connecting, in seconds.
        public var connectTimeout: Double
        /// How deep subtasks nest and how many one task may have.
        public var subtasks: SubtaskLimits

        /// Creates a configuration; every argument has a default.
        public init(
            maxQueueDepth: Int? = nil, schema: String? = nil, maximumConnections: Int = 20, connectTimeout: Double = 10,
            subtasks: SubtaskLimits = SubtaskLimits()
        ) {
            self.subtasks = subtasks
            self.maxQueueDepth = maxQueueDepth
            self.schema = schema
            self.maximumConnections = maximumConnections
            self.connectTimeout = connectTimeout
        }
    }

    /// The database, without its password.
    public let url: PostgresURL
    /// The configuration the store was made with (its schema filled in from the URL's when unset).
    public let configuration: Configuration
    /// The pool for the long-lived listening connection (``listenForWork(_:)``).
    let client: PostgresClient
    /// The connections every other operation checks out.
    let connections: ConnectionStack
    let logger: Logger
    /// The statements prepared on each of the pool's connections.
    let statements = PreparedStatements()
    /// Settles that arrive together are written as one batch.
    let settles: Batcher<Settlement, SettleResult>
    /// Workflow steps' writes (events and step records) that arrive together are written as one
    /// statement: the runs waiting on them share its round trip and its commit.
    let stepWrites: Batcher<RunWrite, Bool>
    /// Rung when a transaction that appended hook events commits, on any node (a `NOTIFY` that
    /// ``run()`` listens for), and when that listening connection (re)connects.
    public let hookChanges = ChangeSignal()
    /// Rung when a transaction that made a task queued commits, on any node, and when the
    /// listening connection (re)connects: what ``listenForWork(_:)`` follows.
    let workChanges = ChangeSignal()
    /// Whether the connection that receives the changes channel listens now.
    let listening = Mutex(false)
    /// Rung after each write that may have appended hook events: ``noticeHooks()`` then tells the
    /// change feed's listeners on every node, at most every ``hookNoticeGap``.
    let hookNotices: ChangeSignal
    /// How many follow the store's changes (``listeningInterest()``): it listens while any do.
    let listeners = Mutex(0)
    /// Rung when ``listeners`` changes.
    let listenersChanged = ChangeSignal()

    /// Makes a store for the database at `url` (see ``PostgresURL``). Nothing connects until
    /// ``migrate()`` or ``run()``.
    public convenience init(url: String, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "nightshift.postgres")) throws {
        try self.init(url: PostgresURL(parsing: url), configuration: configuration, logger: logger)
    }

    /// Makes a store for the database at `url`. Nothing connects until ``migrate()`` or ``run()``.
    public init(url: PostgresURL, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "nightshift.postgres")) throws {
        var configuration = configuration
        if configuration.schema == nil { configuration.schema = url.schema }
        if let schema = configuration.schema, !Self.isPlainIdentifier(schema) {
            throw NightshiftError.invalid("schema", "expected letters, digits and underscores, got '\(schema)'")
        }
        self.url = url
        self.configuration = configuration
        self.logger = logger
        client = PostgresClient(configuration: Self.clientConfiguration(url, configuration), backgroundLogger: logger)
        let connections = ConnectionStack(
            configuration: Self.connectionConfiguration(url, configuration), maximum: configuration.maximumConnections, logger: logger)
        self.connections = connections
        let hookNotices = ChangeSignal()
        self.hookNotices = hookNotices
        settles = Batcher { [logger, statements] settlements in
            defer { hookNotices.ring() }
            return try await Self.write(connections, logger, statements) { transaction in
                try await transaction.settleAll(settlements, by: "worker")
            }
        }
        stepWrites = Batcher { [logger, statements] writes in
            do {
                return try await connections.withConnection { connection in
                    try await Transaction(connection: connection, logger: logger, statements: statements).appendRunWrites(writes)
                }
            } catch {
                throw Self.storeError(error, doing: "statement")
            }
        }
    }

    /// Runs the listening pool and the hook sequencer until the task is cancelled or a graceful
    /// shutdown begins.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.runPool()
        }
    }

    /// Connects once, creates the schema if needed and applies the migrations this binary knows.
    ///
    /// - Throws: ``NightshiftError`` `store_unavailable` naming host and port and the server's
    ///   message when the database cannot be reached, or both versions when its schema is newer.
    public func migrate() async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: Self.connectionConfiguration(url, configuration), id: 0, logger: logger)
        } catch {
            throw Self.unreachable(url, error)
        }
        do {
            if let schema = configuration.schema {
                // IF NOT EXISTS is no guard against a concurrent CREATE (two nodes starting at once
                // on a new schema: one failed with 23505 on pg_namespace); a lock on the name is.
                let lockName = "nightshift.schema." + schema
                try await connection.withTransaction(logger: logger) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(lockName)))", logger: logger)
                    try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
                }
            }
            try await PostgresSchema.migrate(connection, target: url, logger: logger)
        } catch {
            try? await connection.close()
            throw Self.storeError(error, doing: "migrate \(url)")
        }
        try? await connection.close()
    }

    /// Makes a store, migrates it, runs its pool while `body` uses it, and stops the pool after.
    public static func withStore<T: Sendable>(
        url: String, configuration: Configuration = Configuration(), logger: Logger = Logger(label: "nightshift.postgres"),
        _ body: @Sendable (PostgresTaskStore) async throws -> T
    ) async throws -> T {
        let store = try PostgresTaskStore(url: url, configuration: configuration, logger: logger)
        try await store.migrate()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.runPool() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    /// Runs `body` in one transaction; maps driver errors to ``NightshiftError``.
    /// Rings ``hookNotices`` after a commit that appended hook events (heartbeats, run output and
    /// the sequencer's numbering append none: nobody need be told of them).
    func write<T: Sendable>(_ body: @escaping @Sendable (Transaction) async throws -> T) async throws -> T {
        let hooks = HookMark()
        defer { if hooks.isSet { hookNotices.ring() } }
        return try await Self.write(connections, logger, statements, hooks: hooks, body)
    }

    /// The longest a transaction may take before its caller gets `store_unavailable`: a
    /// connection lost mid-transaction can leave the driver waiting on it for good.
    static let transactionDeadline = Duration.seconds(30)

    static func write<T: Sendable>(
        _ connections: ConnectionStack, _ logger: Logger, _ statements: PreparedStatements, hooks: HookMark = HookMark(),
        _ body: @escaping @Sendable (Transaction) async throws -> T
    ) async throws -> T {
        do {
            return try await answer(within: transactionDeadline) {
                try await connections.withConnection { connection in
                    let transaction = Transaction(connection: connection, logger: logger, statements: statements, hooks: hooks)
                    try await transaction.rows(SQL("BEGIN"))
                    let value: T
                    do {
                        value = try await body(transaction)
                    } catch {
                        // A connection whose transaction cannot be ended is not reused.
                        do { try await transaction.rows(SQL("ROLLBACK")) } catch { try? await connection.close() }
                        throw BodyError(error: error)
                    }
                    try await transaction.rows(SQL("COMMIT"))
                    return value
                }
            }
        } catch let error as BodyError {
            // The body's own errors (a refused submit, a caller's transform) pass through unchanged.
            throw error.error is PSQLError ? Self.storeError(error.error, doing: "write") : error.error
        } catch {
            throw Self.storeError(error, doing: "write")
        }
    }

    /// An error thrown by a transaction's body rather than by BEGIN or COMMIT.
    private struct BodyError: Error {
        let error: any Error
    }

    /// Runs `body` on a connection of its own outside an explicit transaction: each statement
    /// commits on its own. A statement that appended hook events (a claim, a one-statement
    /// submit) rings ``hookNotices`` as ``write(_:)`` does.
    func autocommit<T: Sendable>(_ body: @Sendable (Transaction) async throws -> T) async throws -> T {
        let logger = logger
        let statements = statements
        let hooks = HookMark()
        defer { if hooks.isSet { hookNotices.ring() } }
        do {
            return try await connections.withConnection { connection in
                try await body(Transaction(connection: connection, logger: logger, statements: statements, hooks: hooks))
            }
        } catch {
            throw Self.storeError(error, doing: "statement")
        }
    }
}

extension PostgresTaskStore {
    static func isPlainIdentifier(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 63 && text.first.map { $0.isLetter || $0 == "_" } == true
            && text.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" }
    }

    static func clientConfiguration(_ url: PostgresURL, _ configuration: Configuration) -> PostgresClient.Configuration {
        var config = url.socketPath.map {
            PostgresClient.Configuration(unixSocketPath: $0, username: url.username, password: url.password, database: url.database)
        } ?? PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        // Only the listening connection comes from this pool.
        config.options.maximumConnections = 2
        config.options.connectTimeout = .milliseconds(Int64(configuration.connectTimeout * 1000))
        config.options.additionalStartupParameters = sessionParameters(configuration)
        return config
    }

    static func connectionConfiguration(_ url: PostgresURL, _ configuration: Configuration) -> PostgresConnection.Configuration {
        var config = url.socketPath.map {
            PostgresConnection.Configuration(unixSocketPath: $0, username: url.username, password: url.password, database: url.database)
        } ?? PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: .disable)
        config.options.connectTimeout = .milliseconds(Int64(configuration.connectTimeout * 1000))
        config.options.additionalStartupParameters = sessionParameters(configuration)
        return config
    }

    /// The settings every connection of the store starts with.
    ///
    /// The store's statements are prepared once per connection; their generic plans are as good
    /// as custom ones (every filter is on an index), and skip planning on each call.
    ///
    /// A generic plan is made once, on a statement's first run, when the tables may still be
    /// nearly empty: then the planner took a sequential scan of `runs` for the settle's run
    /// update, and kept it while the table grew (40 ms per batch at 10,000 runs, so drains
    /// slowed as they went). With sequential scans off, plans use the indexes whatever the
    /// table sizes were; a table with no usable index is still scanned. JIT is off: the store's
    /// statements are short, and the penalty cost of a forced scan would make the server
    /// compile every such statement (200 ms each).
    static func sessionParameters(_ configuration: Configuration) -> [(String, String)] {
        var parameters = [("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off"), ("jit", "off")]
        if let schema = configuration.schema { parameters.append(("search_path", schema)) }
        return parameters
    }

    /// The server's own message for a driver error, else the underlying cause; never the password
    /// (PostgresNIO's descriptions leave out the query and its binds).
    static func message(of error: any Error) -> String {
        if let error = error as? NightshiftError { return error.message }
        if let error = error as? PSQLError {
            if let server = error.serverInfo, let message = server[.message] {
                return [server[.sqlState].map { "SQLSTATE \($0): " }, message].compactMap { $0 }.joined()
            }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    static func unreachable(_ url: PostgresURL, _ error: any Error) -> NightshiftError {
        NightshiftError(
            .storeUnavailable,
            "cannot connect to PostgreSQL at \(url.address) (database \(url.database), user \(url.username)): \(message(of: error))")
    }

    static func storeError(_ error: any Error, doing what: String) -> NightshiftError {
        if let error = error as? NightshiftError { return error }
        if let error = error as? PostgresTransactionError, let inner = error.closureError ?? error.beginError ?? error.commitError {
            return storeError(inner, doing: what)
        }
        let state = (error as? PSQLError)?.serverInfo?[.sqlState]
        return NightshiftError(.storeUnavailable, "PostgreSQL \(what) failed: \(message(of: error))", cause: state.map { .sqlState($0) })
    }
}
