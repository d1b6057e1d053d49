import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Claims up to `limit` available tasks for `worker` in one transaction.
    ///
    /// Candidates are locked with `FOR UPDATE SKIP LOCKED`, so claimers on other nodes pass over
    /// them instead of waiting. When any agent or lane has a concurrency limit, claims first take
    /// an advisory transaction lock: the running counts they read then stay exact until they commit.
    public func claim(worker: String, limit: Int, leaseDuration: Double, now: Date) async throws -> [ClaimedRun] {
        guard limit > 0 else { return [] }
        return try await write { transaction in
            try await transaction.claim(worker: worker, limit: limit, leaseDuration: leaseDuration, now: now)
        }
    }
}

extension Transaction {
    /// The most candidate pages one claim reads when concurrency limits skip candidates.
    private static let maxCandidatePages = 8

    func claim(worker: String, limit: Int, leaseDuration: Double, now: Date) async throws -> [ClaimedRun] {
        var limits = try await ConcurrencyLimits(self)
        var chosen: [PostgresRandomAccessRow] = []
        var cursor: (priority: Int, availableAt: Double, id: String)?
        let pageSize = limits.isEmpty ? limit : max(limit * 4, 32)
        for _ in 0..<Self.maxCandidatePages {
            var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE state = 'queued' AND available_at <= ")
            sql.append(.double(now.timeIntervalSince1970))
            if let cursor {
                sql.append(" AND (priority, available_at, id) > (")
                sql.append(list: [.int(cursor.priority), .double(cursor.availableAt), .text(cursor.id)])
                sql.append(")")
            }
            let saturatedAgents = limits.saturatedAgents
            if !saturatedAgents.isEmpty {
                sql.append(" AND agent <> ALL(")
                sql.append(.texts(saturatedAgents))
                sql.append(")")
            }
            let saturatedLanes = limits.saturatedLanes
            if !saturatedLanes.isEmpty {
                sql.append(" AND (lane IS NULL OR lane <> ALL(")
                sql.append(.texts(saturatedLanes))
                sql.append("))")
            }
            sql.append(" ORDER BY priority, available_at, id LIMIT ")
            sql.append(.int(pageSize))
            sql.append(" FOR UPDATE SKIP LOCKED")
            let candidates = try await rows(sql)
            for row in candidates where chosen.count < limit {
                if limits.admit(agent: try row["agent"].decode(String.self), lane: try row["lane"].decode(String?.self)) {
                    chosen.append(row)
                }
            }
            guard chosen.count < limit, candidates.count == pageSize, let last = candidates.last else { break }
            cursor = (
                try last["priority"].decode(Int.self), try last["available_at"].decode(Double.self), try last["id"].decode(String.self)
            )
        }
        return try await dispatch(chosen, worker: worker, leaseDuration: leaseDuration, now: now)
    }

    /// Moves the chosen (locked, queued) tasks to running and opens a run for each, in one statement.
    private func dispatch(_ rows: [PostgresRandomAccessRow], worker: String, leaseDuration: Double, now: Date) async throws -> [ClaimedRun] {
        guard !rows.isEmpty else { return [] }
        let expires = now.timeIntervalSince1970 + leaseDuration
        var claimed: [ClaimedRun] = []
        var moves: [Move] = []
        for row in rows {
            let (opened, details) = ClaimedRun.opening(try PostgresRows.task(row), worker: worker, leaseDuration: leaseDuration, now: now)
            let run = opened.run
            moves.append(Move(
                facts: try PostgresRows.facts(row), action: .dispatch,
                values: [.int(run.attempt), .text(run.id), .text(run.leaseToken), .double(expires), .text(worker)], details: details))
            claimed.append(opened)
        }
        let states = try await moveAll(
            moves,
            columns: [
                BatchColumn("attempt", "bigint"), BatchColumn("run_id", "text"), BatchColumn("lease_token", "text"),
                BatchColumn("lease_expires_at", "float8"), BatchColumn("worker_id", "text"),
            ],
            runs: RunCounts(started: claimed.count), now: now
        ) { sql, time, _ in
            sql.append("""
                , opened AS (INSERT INTO runs (id, task_id, attempt, worker_id, lease_token, lease_expires_at, heartbeat_at, started_at)
                SELECT run_id, id, attempt, worker_id, lease_token, lease_expires_at, \(time), \(time) FROM moves)
                """)
        }
        for index in claimed.indices { claimed[index].task.state = states[index] }
        return claimed
    }
}

extension ConcurrencyLimits {
    /// Reads the limits and, when there are any, takes the claim lock and counts running tasks.
    init(_ transaction: Transaction) async throws {
        var agentLimits: [String: Int] = [:]
        var laneLimits: [String: Int] = [:]
        for row in try await transaction.rows("""
            SELECT true AS agent, name, concurrency FROM agents WHERE concurrency IS NOT NULL
            UNION ALL SELECT false, name, concurrency FROM lanes
            """)
        {
            let name = try row["name"].decode(String.self)
            let limit = try row["concurrency"].decode(Int.self)
            if try row["agent"].decode(Bool.self) { agentLimits[name] = limit } else { laneLimits[name] = limit }
        }
        self.init(agentLimits: agentLimits, laneLimits: laneLimits)
        guard !isEmpty else { return }
        // Held until commit: another node's claim waits here, then counts this one's tasks as running.
        try await transaction.rows("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.nightshift.claim'))")
        for row in try await transaction.rows("SELECT agent, lane, count(*) AS n FROM tasks WHERE state = 'running' GROUP BY agent, lane") {
            countRunning(try row["n"].decode(Int.self), agent: try row["agent"].decode(String.self), lane: try row["lane"].decode(String?.self))
        }
    }
}
