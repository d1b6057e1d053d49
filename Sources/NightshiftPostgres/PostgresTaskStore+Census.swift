import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Every workspace's tasks by workspace, agent and state, and the hook seq they reflect.
    ///
    /// One REPEATABLE READ transaction numbers every pending hook event its snapshot sees (holding
    /// the stream's row lock, so no other sequencer runs meanwhile) and counts the tasks in that
    /// same snapshot: the moves counted are exactly those whose hooks are numbered at or below the
    /// answer's seq, and a move committed later gets a greater seq. A sequencer that committed
    /// after the snapshot makes the lock fail with a serialization error: then it starts again.
    public func censusSnapshot() async throws -> CensusSnapshot {
        var attempt = 0
        while true {
            do {
                return try await write { transaction in
                    try await transaction.rows(SQL("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
                    while try await transaction.sequenceHooks(limit: Self.sequencerBatch) == Self.sequencerBatch {}
                    var counts: [CensusKey: Int] = [:]
                    let rows = try await transaction.rows(
                        SQL("SELECT workspace_id, agent, state, count(*) AS n FROM tasks GROUP BY workspace_id, agent, state"))
                    for row in rows {
                        let key = CensusKey(
                            workspace: try row["workspace_id"].decode(String.self), agent: try row["agent"].decode(String.self),
                            state: try PostgresRows.state(row["state"].decode(String.self)))
                        counts[key] = try row["n"].decode(Int.self)
                    }
                    let seq = try await transaction.rows(SQL("SELECT seq FROM hook_stream")).first.map { try $0["seq"].decode(Int64.self) } ?? 0
                    return CensusSnapshot(counts: counts, seq: seq)
                }
            } catch let error as NightshiftError where attempt < 20 && error.cause == .sqlState("40001") {
                attempt += 1
                try await Task.sleep(for: .milliseconds(5 * attempt))
            }
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
