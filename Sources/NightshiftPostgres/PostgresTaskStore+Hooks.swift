import Foundation
import Logging
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The most pending hook events one sequencer transaction numbers.
    static let sequencerBatch = 5000

    /// How often the pool's companion loop numbers pending hook events.
    static let sequencerInterval = Duration.seconds(1)

    /// Numbers the hook events committed so far into the hook stream, in the order they were
    /// written: moves only append to `hook_pending`, so writers never wait for each other on the
    /// stream. Safe on every node at once (sequencers take turns on the stream's row lock).
    /// Reads of the stream call it first; ``run()`` also calls it every second.
    public func sequenceHooks() async throws {
        for _ in 0..<100 {
            let pending = try await autocommit { transaction in
                try await transaction.rows(SQL("SELECT EXISTS (SELECT 1 FROM hook_pending) AS pending")).first?["pending"].decode(Bool.self) ?? false
            }
            guard pending else { return }
            let numbered = try await write { transaction in try await transaction.sequenceHooks(limit: Self.sequencerBatch) }
            if numbered < Self.sequencerBatch { return }
        }
    }

    /// Runs the listening pool and, beside it, the hook sequencer every second and the listener
    /// of the hooks channel, until the calling task is cancelled (not at graceful shutdown, unlike
    /// ``run()``: for a store that must outlive the services that use it); then closes the store's
    /// connections.
    public func runPool() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.listenForChanges() }
            group.addTask { await self.noticeHooks() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: Self.sequencerInterval)
                    if Task.isCancelled { return }
                    do { try await self.sequenceHooks() } catch {
                        self.logger.debug("hook sequencer failed", metadata: ["nightshift.error": "\(error)"])
                    }
                }
            }
            await client.run()
            group.cancelAll()
            await connections.close()
        }
    }
}

extension Transaction {
    /// Moves up to `limit` committed pending hook events into `hook_events`, numbered on from the
    /// stream's seq in id order; returns how many.
    func sequenceHooks(limit: Int) async throws -> Int {
        // The row lock makes sequencers take turns; the next statement's snapshot, taken once the
        // lock is held, sees every pending row committed before it.
        guard let row = try await rows(SQL("SELECT seq FROM hook_stream FOR UPDATE")).first else { return 0 }
        let base = try row["seq"].decode(Int.self)
        var sql = SQL("WITH taken AS (DELETE FROM hook_pending WHERE id IN (SELECT id FROM hook_pending ORDER BY id LIMIT ")
        sql.append(.int(limit))
        sql.append(") RETURNING id, time, task_id, type, data, workspace_id), numbered AS (INSERT INTO hook_events (seq, time, task_id, type, data, workspace_id) SELECT ")
        sql.append(.int(base))
        sql.append(" + row_number() OVER (ORDER BY id), time, task_id, type, data, workspace_id FROM taken RETURNING 1)")
        sql.append(" UPDATE hook_stream SET seq = seq + (SELECT count(*) FROM numbered) RETURNING seq")
        guard let updated = try await rows(sql).first else { return 0 }
        return try updated["seq"].decode(Int.self) - base
    }
}
