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
            sql.append(" ORDER BY priority, available_at, id LIMIT \(pageSize) FOR UPDATE SKIP LOCKED")
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
        var claimed: [ClaimedRun] = []
        for row in chosen { claimed.append(try await dispatch(row, worker: worker, leaseDuration: leaseDuration, now: now)) }
        try await count("runs_started", claimed.count)
        return claimed
    }

    /// Moves one locked queued task to running and opens its run.
    private func dispatch(_ row: PostgresRandomAccessRow, worker: String, leaseDuration: Double, now: Date) async throws -> ClaimedRun {
        var task = try PostgresRows.task(row)
        let facts = try TaskFacts(row)
        let runID = UUIDv7.generate(at: now)
        let token = UUIDv7.generate(at: now)
        let attempt = task.attempt + 1
        let time = now.timeIntervalSince1970
        let expires = time + leaseDuration
        task.state = try await move(
            facts, .dispatch,
            set: [
                ("attempt", .int(attempt)), ("run_id", .text(runID)), ("lease_token", .text(token)),
                ("lease_expires_at", .double(expires)), ("worker_id", .text(worker)),
            ],
            details: ["attempt": .int(Int64(attempt)), "run_id": .string(runID), "worker": .string(worker)],
            now: now)
        task.attempt = attempt
        task.updatedAt = now
        var insert = SQL("""
            INSERT INTO runs (id, task_id, attempt, worker_id, lease_token, lease_expires_at, heartbeat_at, started_at)
            VALUES (
            """)
        insert.append(list: [
            .text(runID), .text(task.id.rawValue), .int(attempt), .text(worker), .text(token), .double(expires), .double(time),
            .double(time),
        ])
        insert.append(")")
        try await rows(insert)
        return ClaimedRun(task: task, run: Run(
            id: runID, taskID: task.id, attempt: attempt, workerID: worker, leaseToken: token,
            leaseExpiresAt: Date(timeIntervalSince1970: expires), heartbeatAt: now, startedAt: now))
    }
}

extension ConcurrencyLimits {
    /// Reads the limits and, when there are any, takes the claim lock and counts running tasks.
    init(_ transaction: Transaction) async throws {
        var agentLimits: [String: Int] = [:]
        var laneLimits: [String: Int] = [:]
        for row in try await transaction.rows("SELECT name, concurrency FROM agents WHERE concurrency IS NOT NULL") {
            agentLimits[try row["name"].decode(String.self)] = try row["concurrency"].decode(Int.self)
        }
        for row in try await transaction.rows("SELECT name, concurrency FROM lanes") {
            laneLimits[try row["name"].decode(String.self)] = try row["concurrency"].decode(Int.self)
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
