import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Every workspace's tasks by workspace, agent and state, and the last hook seq, in one read
    /// (one snapshot: a move commits its hook event in its own transaction).
    public func censusSnapshot() async throws -> CensusSnapshot {
        try await read { db in
            var counts: [CensusKey: Int] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT workspace_id, agent, state, count(*) AS n FROM tasks GROUP BY workspace_id, agent, state")
            while let row = try rows.next() {
                counts[CensusKey(workspace: row["workspace_id"], agent: row["agent"], state: try SQLiteRows.state(row["state"]))] = row["n"]
            }
            let seq = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(seq), 0) FROM hook_events") ?? 0
            return CensusSnapshot(counts: counts, seq: seq)
        }
    }

    /// The queued tasks by workspace, agent and lane, through the queue's partial index.
    public func queueStats() async throws -> [QueueStat] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT workspace_id, agent, coalesce(lane, '') AS lane, count(*) AS n, min(available_at) AS oldest
                    FROM tasks INDEXED BY tasks_ready WHERE state = 'queued' GROUP BY workspace_id, agent, lane
                    """)
            ).map { row in
                QueueStat(
                    workspace: row["workspace_id"], agent: row["agent"], lane: row["lane"], depth: row["n"],
                    oldestAvailableAt: Date(timeIntervalSince1970: row["oldest"]))
            }
        }
    }
}
