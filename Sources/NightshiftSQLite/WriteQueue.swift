import Dispatch
import GRDB
import Nightshift
import Synchronization

/// Group commit: write operations that arrive while a transaction is open wait, then all of them
/// run in the next transaction, each in its own savepoint, and are acknowledged after its commit.
///
/// With `synchronous=FULL` every commit costs an fsync; batching concurrent submits, claims,
/// heartbeats, settles and event appends into one commit is what lets throughput exceed one
/// commit per operation. An operation that throws rolls back only its own savepoint.
final class WriteQueue: Sendable {
    private struct Item: Sendable {
        let run: @Sendable (WriteTransaction) -> (@Sendable () -> Void)
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

    /// `afterBatch` runs at the end of every transaction, before commit (e.g. to write counters).
    init(pool: DatabasePool, afterBatch: @escaping @Sendable (WriteTransaction) throws -> Void) {
        self.pool = pool
        self.afterBatch = afterBatch
    }

    /// Runs `operation` in the next transaction and returns its value once that transaction committed.
    func write<T: Sendable>(_ operation: @escaping @Sendable (WriteTransaction) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let item = Item(
                run: { transaction in
                    let deltas = transaction.stateDeltas
                    do {
                        let result: T
                        if transaction.isolated {
                            // Cached statements: GRDB's inSavepoint parses its SQL anew each time.
                            try transaction.db.cachedStatement(sql: "SAVEPOINT nightshift_op").execute()
                            do {
                                result = try operation(transaction)
                            } catch {
                                try transaction.db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT nightshift_op").execute()
                                try transaction.db.cachedStatement(sql: "RELEASE SAVEPOINT nightshift_op").execute()
                                throw error
                            }
                            try transaction.db.cachedStatement(sql: "RELEASE SAVEPOINT nightshift_op").execute()
                        } else {
                            result = try operation(transaction)
                        }
                        return { continuation.resume(returning: result) }
                    } catch {
                        transaction.stateDeltas = deltas
                        transaction.failed = true
                        return { continuation.resume(throwing: error) }
                    }
                },
                fail: { continuation.resume(throwing: $0) }
            )
            let startDrain = state.withLock { state in
                state.pending.append(item)
                if state.draining { return false }
                state.draining = true
                return true
            }
            if startDrain { queue.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            let batch: [Item] = state.withLock { state in
                let batch = state.pending
                state.pending.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            var acknowledgements: [@Sendable () -> Void] = []
            acknowledgements.reserveCapacity(batch.count)
            do {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        // A lone operation needs no savepoint: if it fails, the whole transaction rolls back.
                        let transaction = WriteTransaction(db: db, isolated: batch.count > 1)
                        for item in batch { acknowledgements.append(item.run(transaction)) }
                        if !transaction.isolated, transaction.failed { return .rollback }
                        try afterBatch(transaction)
                        return .commit
                    }
                }
                for acknowledge in acknowledgements { acknowledge() }
            } catch {
                let failure = NightshiftError(.storeUnavailable, "SQLite write failed: \(error)")
                for item in batch { item.fail(failure) }
            }
        }
    }
}

/// One open write transaction of the ``WriteQueue``, with what its operations accumulate for the
/// end of the batch.
final class WriteTransaction {
    /// The connection, inside the transaction.
    let db: Database
    /// Whether each operation runs in its own savepoint (more than one shares the transaction).
    let isolated: Bool
    /// Whether an operation threw.
    var failed = false
    /// Net change of the number of tasks in each state, written once per batch.
    var stateDeltas: [TaskState: Int] = [:]

    init(db: Database, isolated: Bool) {
        self.db = db
        self.isolated = isolated
    }
}
