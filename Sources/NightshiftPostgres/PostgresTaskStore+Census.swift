import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Every workspace's tasks by workspace, agent and state, and the hook seq they reflect.
    ///
    /// Holding the stream's row lock (no sequencer numbers meanwhile), one statement counts the
    /// tasks and reads the pending hook events in the same snapshot. The counts then hold every
    /// numbered move (each committed before it was numbered) and the pending ones the snapshot
    /// sees; those are taken back, since they will be numbered after the lock's seq. A move
    /// committed after the snapshot is in neither, and gets a greater seq too.
    public func censusSnapshot() async throws -> CensusSnapshot {
        try await write { transaction in
            let seq = try await transaction.rows(SQL("SELECT seq FROM hook_stream FOR UPDATE")).first.map { try $0["seq"].decode(Int64.self) } ?? 0
            var counts: [CensusKey: Int] = [:]
            let rows = try await transaction.rows(SQL("""
                SELECT workspace_id, agent, state, count(*) AS n, NULL::text AS type, NULL::text AS data
                    FROM tasks GROUP BY workspace_id, agent, state
                UNION ALL SELECT workspace_id, NULL, NULL, 0, type, data FROM hook_pending
                """))
            var pending: [(workspace: String, type: String, data: String)] = []
            for row in rows {
                let workspace = try row["workspace_id"].decode(String.self)
                if let type = try row["type"].decode(String?.self) {
                    pending.append((workspace, type, try row["data"].decode(String.self)))
                } else {
                    let key = CensusKey(
                        workspace: workspace, agent: try row["agent"].decode(String.self),
                        state: try PostgresRows.state(row["state"].decode(String.self)))
                    counts[key] = try row["n"].decode(Int.self)
                }
            }
            for hook in pending {
                CensusSnapshot.move(&counts, type: hook.type, workspace: hook.workspace, data: try JSONValue(jsonText: hook.data), sign: -1)
            }
            return CensusSnapshot(counts: counts.filter { $0.value != 0 }, seq: seq)
        }
    }

    /// The queued tasks by workspace, agent and lane, through the queue's partial index.
    public func queueStats() async throws -> [QueueStat] {
        try await autocommit { transaction in
            try await transaction.rows(SQL("""
                SELECT workspace_id, agent, coalesce(lane, '') AS lane, count(*) AS n, min(available_at) AS oldest
                FROM tasks WHERE state = 'queued' GROUP BY workspace_id, agent, coalesce(lane, '')
                """)
            ).map { row in
                QueueStat(
                    workspace: try row["workspace_id"].decode(String.self), agent: try row["agent"].decode(String.self),
                    lane: try row["lane"].decode(String.self), depth: try row["n"].decode(Int.self),
                    oldestAvailableAt: Date(timeIntervalSince1970: try row["oldest"].decode(Double.self)))
            }
        }
    }
}
