import Dispatch
import GRDB
import Nightshift
import Synchronization

/// Group commit: write operations that arrive while a transaction is open wait, then all of them
/// run in the next transaction and are acknowledged after its commit.
///
/// With `synchronous=FULL` every commit costs an fsync; batching concurrent submits, claims,
/// heartbeats, settles and event appends into one commit is what lets throughput exceed one
/// commit per operation.
///
/// Failures: an operation that can be refused (a submit, a person's action) runs in its own
/// savepoint, so its error rolls back only its own writes. The others (claim, settle, heartbeat,
/// appends) fail only when the database does; then the whole transaction rolls back, the failing
/// operation gets its error and the rest run again in the next transaction. Nothing is
/// acknowledged from a transaction that did not commit.
final class WriteQueue: Sendable {
    /// Whether an operation runs in a savepoint of its own.
    enum Isolation: Sendable {
        /// Its own savepoint: for operations that may be refused after they started writing.
        case savepoint
        /// No savepoint: for operations that throw only when the database fails.
        case shared
    }

    private enum Ran {
        case succeeded(@Sendable () -> Void)
        case refused(@Sendable () -> Void)
        case failed(@Sendable () -> Void)
    }

    private struct Item: Sendable {
        let isolation: Isolation
        let run: @Sendable (WriteTransaction) -> Ran
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var pending: [Item] = []
        var draining = false
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "nightshift.sqlite.writer")
    private let afterBatch: @Sendable (WriteTransaction) throws -> Void
    private let afterCommit: @Sendable () -> (@Sendable (Database) -> Void)?
    private let hooksCommitted: @Sendable () -> Void

    /// `afterBatch` runs at the end of every transaction, before commit (e.g. to write counters);
    /// `afterCommit` after every commit; the work it returns, if any, runs on the writer's
    /// connection before the next transaction. `hooksCommitted` is called after each commit of a
    /// transaction that appended hook events.
    init(
        pool: DatabasePool,
        afterCommit: @escaping @Sendable () -> (@Sendable (Database) -> Void)?,
        hooksCommitted: @escaping @Sendable () -> Void = {},
        afterBatch: @escaping @Sendable (WriteTransaction) throws -> Void
    ) {
        self.pool = pool
        self.afterBatch = afterBatch
        self.afterCommit = afterCommit
        self.hooksCommitted = hooksCommitted
    }

    /// Runs `operation` in the next transaction and returns its value once that transaction committed.
    func write<T: Sendable>(
        _ isolation: Isolation = .savepoint,
        _ operation: @escaping @Sendable (WriteTransaction) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            enqueue(isolation, operation) { continuation.resume(with: $0) }
        }
    }

    /// Runs `operation` in the next transaction; calls `completion` once that transaction
    /// committed (or failed). If the transaction rolls back because another operation failed,
    /// `operation` runs again in the next one.
    func enqueue<T: Sendable>(
        _ isolation: Isolation,
        _ operation: @escaping @Sendable (WriteTransaction) throws -> T,
        completion: @escaping @Sendable (Result<T, any Error>) -> Void
    ) {
        let item = Item(
            isolation: isolation,
            run: { transaction in
                let deltas = transaction.stateDeltas
                let runDeltas = transaction.runDeltas
                let db = transaction.db
                do {
                    if isolation == .shared {
                        let result = try operation(transaction)
                        return .succeeded { completion(.success(result)) }
                    }
                    // Cached statements: GRDB's inSavepoint parses its SQL anew each time.
                    try db.cachedStatement(sql: "SAVEPOINT nightshift_op").execute()
                    do {
                        let result = try operation(transaction)
                        try db.cachedStatement(sql: "RELEASE SAVEPOINT nightshift_op").execute()
                        return .succeeded { completion(.success(result)) }
                    } catch {
                        try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT nightshift_op").execute()
                        try db.cachedStatement(sql: "RELEASE SAVEPOINT nightshift_op").execute()
                        transaction.stateDeltas = deltas
                        transaction.runDeltas = runDeltas
                        return .refused { completion(.failure(error)) }
                    }
                } catch {
                    return .failed { completion(.failure(error)) }
                }
            },
            fail: { completion(.failure($0)) }
        )
        let startDrain = state.withLock { state in
            state.pending.append(item)
            if state.draining { return false }
            state.draining = true
            return true
        }
        if startDrain { queue.async { self.drain() } }
    }

    private func drain() {
        var retry: [Item] = []
        while true {
            let batch: [Item] = state.withLock { state in
                let batch = retry + state.pending
                state.pending.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            retry = []
            if batch.isEmpty { return }
            var outcomes: [Ran] = []
            outcomes.reserveCapacity(batch.count)
            var appendedHooks = false
            do {
                try pool.writeWithoutTransaction { db in
                    // Cached statements: GRDB's inTransaction prepares BEGIN and COMMIT anew each time.
                    try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
                    do {
                        let transaction = WriteTransaction(db: db)
                        for item in batch {
                            let ran = item.run(transaction)
                            outcomes.append(ran)
                            if case .failed = ran { break }
                        }
                        if case .failed = outcomes.last {
                            try db.cachedStatement(sql: "ROLLBACK").execute()
                            return
                        }
                        try afterBatch(transaction)
                        try db.cachedStatement(sql: "COMMIT").execute()
                        appendedHooks = transaction.appendedHooks
                    } catch {
                        if db.isInsideTransaction { try? db.execute(sql: "ROLLBACK") }
                        throw error
                    }
                }
            } catch {
                let failure = NightshiftError(
                    .storeUnavailable, "SQLite write failed: \(error)",
                    cause: (error as? DatabaseError).map { .sqlite($0.extendedResultCode.rawValue) })
                for item in batch { item.fail(failure) }
                continue
            }
            if let failedIndex = outcomes.firstIndex(where: { if case .failed = $0 { true } else { false } }) {
                // The transaction rolled back: nothing was committed, nothing is acknowledged.
                if case .failed(let report) = outcomes[failedIndex] { report() }
                retry = Array(batch[..<failedIndex]) + Array(batch[(failedIndex + 1)...])
                continue
            }
            // Before the acknowledgements: a caller that reads the feed once its write returned
            // finds the ring already counted.
            if appendedHooks { hooksCommitted() }
            for outcome in outcomes {
                switch outcome {
                case .succeeded(let acknowledge), .refused(let acknowledge), .failed(let acknowledge): acknowledge()
                }
            }
            if let work = afterCommit() { pool.writeWithoutTransaction { work($0) } }
        }
    }
}

/// One open write transaction of the ``WriteQueue``, with what its operations accumulate for the
/// end of the batch.
final class WriteTransaction {
    /// The connection, inside the transaction.
    let db: Database
    /// Net change of the number of tasks in each state, written once per batch.
    var stateDeltas: [TaskState: Int] = [:]
    /// Runs started, succeeded and failed in this batch, written once per batch.
    var runDeltas: [String: Int] = [:]
    /// Whether an operation appended hook events (one that was then refused may have set it:
    /// readers of the feed then read once for nothing).
    var appendedHooks = false

    init(db: Database) {
        self.db = db
    }
}
