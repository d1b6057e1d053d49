import Foundation
import GRDB
import Nightshift

/// The embedded ``TaskStore``: one SQLite file in WAL mode, through GRDB.
///
/// Writes go through one writer with group commit (see `WriteQueue`); reads use a pool of
/// readers that never block the writer. Several processes may open the same file.
public final class SQLiteTaskStore: TaskStore {
    /// How the store opens its file.
    public struct Configuration: Sendable {
        /// How hard each commit is pushed to disk.
        public struct Durability: Sendable, Hashable, CustomStringConvertible {
            /// The `PRAGMA synchronous` value.
            public let pragma: String
            /// `FULL`: an acknowledged write survives a power loss (fsync at every commit).
            public static let full = Durability(pragma: "FULL")
            /// `NORMAL`: survives a crash of the process, not necessarily a power loss.
            public static let normal = Durability(pragma: "NORMAL")
            /// `FULL` or `NORMAL`.
            public var description: String { pragma }
        }

        /// Commit durability; `full` by default.
        public var durability: Durability
        /// Submits are refused once this many tasks are queued, waiting or paused; `nil` for no cap.
        public var maxQueueDepth: Int?
        /// How long to wait for another process's write lock, in seconds.
        public var busyTimeout: Double
        /// The write-ahead log is started over once it holds this many pages (4 KiB each), so it
        /// stays near this size under constant writes; 8,192 (32 MiB) by default.
        public var walRestartPages: Int
        /// How deep subtasks nest and how many one task may have.
        public var subtasks: SubtaskLimits

        /// Creates a configuration; every argument has a default.
        public init(
            durability: Durability = .full, maxQueueDepth: Int? = nil, busyTimeout: Double = 10,
            walRestartPages: Int = 8192, subtasks: SubtaskLimits = SubtaskLimits()
        ) {
            self.subtasks = subtasks
            self.durability = durability
            self.maxQueueDepth = maxQueueDepth
            self.busyTimeout = busyTimeout
            self.walRestartPages = walRestartPages
        }
    }

    /// The database file.
    public let path: String
    /// The configuration it was opened with.
    public let configuration: Configuration
    let pool: DatabasePool
    let writer: WriteQueue
    /// Batches concurrent settles into one set-based write.
    let settles: WriteCoalescer<Settlement, SettleResult>
    private let checkpointer: WALCheckpointer
    /// Rung after each commit of this store's writer that appended hook events (another process
    /// writing the same file rings nothing here: its writes reach the feed at its poll).
    public let hookChanges: ChangeSignal

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    /// Refuses a database whose schema is newer than this binary.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        self.path = path
        self.configuration = configuration
        var config = GRDB.Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        config.maximumReaderCount = 8
        let synchronous = configuration.durability.pragma
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            // Checkpoints run in the background (see WALCheckpointer), not inside commits.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            // 8 MiB of page cache per connection (default 2 MiB): keeps the claim index's upper
            // levels cached when the queue holds a million tasks.
            try db.execute(sql: "PRAGMA cache_size = -8192")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw NightshiftError(.storeUnavailable, "cannot open SQLite database at \(path): \(error)")
        }
        let migrator = SQLiteSchema.migrator
        try pool.write { db in
            let applied = try migrator.appliedIdentifiers(db)
            let unknown = applied.subtracting(SQLiteSchema.migrationIDs)
            if !unknown.isEmpty {
                throw NightshiftError(
                    .storeUnavailable,
                    "database \(path) has schema \(unknown.sorted().joined(separator: ", ")), newer than this binary's \(SQLiteSchema.migrationIDs.last!): upgrade nightshift"
                )
            }
        }
        try migrator.migrate(pool)
        let checkpointer = try WALCheckpointer(
            path: path, configuration: config, restartFrames: Int32(clamping: configuration.walRestartPages))
        self.checkpointer = checkpointer
        let hookChanges = ChangeSignal()
        self.hookChanges = hookChanges
        writer = WriteQueue(pool: pool, afterCommit: checkpointer.committed, hooksCommitted: hookChanges.ring, afterBatch: { transaction in
            for (state, delta) in transaction.stateDeltas where delta != 0 {
                try transaction.db.cachedStatement(sql: "UPDATE state_counts SET n = n + ? WHERE state = ?")
                    .execute(arguments: [delta, state.rawValue])
            }
            transaction.stateDeltas.removeAll()
            for (kind, delta) in transaction.runDeltas where delta != 0 {
                try transaction.db.cachedStatement(sql: "UPDATE run_counts SET n = n + ? WHERE kind = ?")
                    .execute(arguments: [delta, kind])
            }
            transaction.runDeltas.removeAll()
        })
        settles = WriteCoalescer(writer: writer) { transaction, settlements in
            try transaction.settleAll(settlements, by: "worker")
        }
    }

    /// Reads with a snapshot of the last commit, on a reader connection.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as DatabaseError {
            // A database that cannot be read (busy, a file that cannot be opened, I/O): the store is
            // unavailable, with SQLite's result code kept as the cause.
            throw NightshiftError(.storeUnavailable, "SQLite read failed: \(error)", cause: .sqlite(error.extendedResultCode.rawValue))
        }
    }

    /// The SQLite `PRAGMA synchronous` level in force, as `FULL` or `NORMAL`.
    public func synchronousMode() async throws -> String {
        try await pool.read { db in
            switch try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 {
            case 2: "FULL"
            case 1: "NORMAL"
            case 0: "OFF"
            case 3: "EXTRA"
            case let other: "\(other)"
            }
        }
    }
}
