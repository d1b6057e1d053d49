import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Claims up to `limit` available tasks for `worker` in one transaction.
    public func claimBatch(worker: String, limit: Int, leaseDuration: Double, now: Date) async throws -> ClaimBatch {
        guard limit > 0 else { return ClaimBatch(runs: []) }
        return try await writer.write(.shared) { transaction in
            try transaction.claim(worker: worker, limit: limit, leaseDuration: leaseDuration, now: now)
        }
    }
}

extension WriteTransaction {
    /// The most candidate pages one claim reads when concurrency limits skip candidates.
    private static let maxCandidatePages = 8

    func claim(worker: String, limit: Int, leaseDuration: Double, now: Date) throws -> ClaimBatch {
        var limits = try ConcurrencyLimits(db, now: now)
        let time = now.timeIntervalSince1970
        var chosen: [Candidate] = []
        var cursor: (priority: Int, availableAt: Double, id: String)?
        let pageSize = limits.isEmpty ? limit : max(limit * 4, 32)
        for _ in 0..<Self.maxCandidatePages {
            // INDEXED BY: with a range on available_at the planner may pick another index and sort
            // the whole queue, a cost that grows with its length; tasks_ready yields rows in claim order.
            var sql = "SELECT \(SQLiteRows.taskColumns) FROM tasks INDEXED BY tasks_ready WHERE state = 'queued' AND available_at <= ?"
            var arguments: [any DatabaseValueConvertible] = [time]
            if let cursor {
                sql += " AND (priority, available_at, id) > (?, ?, ?)"
                arguments += [cursor.priority, cursor.availableAt, cursor.id]
            }
            let saturatedAgents = limits.saturatedAgents
            if !saturatedAgents.isEmpty {
                sql += " AND (workspace_id, agent) NOT IN (VALUES \(Self.valueRows(saturatedAgents.count, width: 2)))"
                arguments += saturatedAgents.flatMap { [$0.workspace, $0.name] as [any DatabaseValueConvertible] }
            }
            let saturatedLanes = limits.saturatedLanes
            if !saturatedLanes.isEmpty {
                sql += " AND (lane IS NULL OR (workspace_id, lane) NOT IN (VALUES \(Self.valueRows(saturatedLanes.count, width: 2))))"
                arguments += saturatedLanes.flatMap { [$0.workspace, $0.name] as [any DatabaseValueConvertible] }
            }
            sql += " ORDER BY priority, available_at, id LIMIT \(pageSize)"
            // A cursor, not fetchAll: rows are decoded straight from the statement, without a copy.
            let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: StatementArguments(arguments))
            var seen = 0
            while let row = try rows.next() {
                seen += 1
                if !limits.isEmpty { cursor = (row[5], row[17], row[0]) }
                let workspace: String = row[1]
                let lane: String? = row[6]
                if chosen.count < limit,
                   limits.admit(agent: ScopedName(workspace: workspace, name: row[2]), lane: lane.map { ScopedName(workspace: workspace, name: $0) })
                {
                    chosen.append(Candidate(task: try SQLiteRows.task(row), lease: SQLiteRows.lease(row), lastSeq: SQLiteRows.lastSeq(row)))
                }
            }
            guard chosen.count < limit, seen == pageSize else { break }
        }
        // The tokens the chosen tasks took, in this transaction: every claimer shares the bucket.
        for (agent, bucket) in limits.bucketWrites {
            try db.execute(
                sql: "UPDATE agents SET rate_tokens = ?, rate_at = ? WHERE workspace_id = ? AND name = ?",
                arguments: [bucket.tokens, bucket.updatedAt, agent.workspace, agent.name])
        }
        let runs = try dispatch(chosen, worker: worker, leaseDuration: leaseDuration, now: now)
        return ClaimBatch(runs: runs, nextOpening: limits.nextOpening.map(Date.init(timeIntervalSince1970:)))
    }

    /// A queued task a claim may take, as read from its row.
    private struct Candidate {
        var task: AgentTask
        var lease: (runID: String?, token: String?)
        var lastSeq: Int64
    }

    /// Moves the chosen tasks to running and opens a run for each, with one statement per table.
    private func dispatch(_ candidates: [Candidate], worker: String, leaseDuration: Double, now: Date) throws -> [ClaimedRun] {
        guard !candidates.isEmpty else { return [] }
        let time = now.timeIntervalSince1970
        let expires = time + leaseDuration
        var claimed: [ClaimedRun] = []
        var moves: [Move] = []
        for candidate in candidates {
            let task = candidate.task
            let (opened, details) = ClaimedRun.opening(task, worker: worker, leaseDuration: leaseDuration, now: now)
            let run = opened.run
            moves.append(Move(
                facts: TaskFacts(task, runID: candidate.lease.runID, leaseToken: candidate.lease.token, lastSeq: candidate.lastSeq),
                action: .dispatch, budget: nil, values: [run.attempt, run.id, run.leaseToken, expires, worker], details: details))
            claimed.append(opened)
        }
        let states = try transitionAll(
            moves, columns: ["attempt", "run_id", "lease_token", "lease_expires_at", "worker_id"].map { BatchColumn($0) }, now: now)
        for index in claimed.indices { claimed[index].task.state = states[index] }
        runDeltas["started", default: 0] += claimed.count
        for chunk in claimed.chunks(of: Self.rowsPerStatement) {
            let arguments: [(any DatabaseValueConvertible)?] = chunk.flatMap { claimed -> [(any DatabaseValueConvertible)?] in
                let run = claimed.run
                return [run.id, run.taskID.rawValue, run.attempt, worker, run.leaseToken, expires, time, time, claimed.task.workspaceID]
            }
            try db.cachedStatement(sql: """
                INSERT INTO runs (id, task_id, attempt, worker_id, lease_token, lease_expires_at, heartbeat_at, started_at, workspace_id)
                VALUES \(Self.valueRows(chunk.count, width: 9))
                """).execute(arguments: StatementArguments(arguments))
        }
        return claimed
    }
}

extension ConcurrencyLimits {
    /// Reads the limits and the pacing of the agents that have any (a rate, a parked quota group)
    /// and, when there are concurrency limits, counts the running tasks.
    init(_ db: Database, now: Date) throws {
        let time = now.timeIntervalSince1970
        var agentLimits: [ScopedName: Int] = [:]
        var laneLimits: [ScopedName: Int] = [:]
        var paces: [ScopedName: AgentPace] = [:]
        // Agents with a limit, then those of parked quota groups: an agent without either costs
        // the claim nothing but the scan it always made.
        for row in try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT workspace_id, name, concurrency, rate_limit, rate_window, rate_tokens, rate_at, NULL FROM agents
                WHERE concurrency IS NOT NULL OR rate_limit IS NOT NULL
                UNION ALL
                SELECT a.workspace_id, a.name, NULL, a.rate_limit, a.rate_window, a.rate_tokens, a.rate_at, p.parked_until
                FROM quota_parks p JOIN agents a ON a.workspace_id = p.workspace_id AND COALESCE(a.quota_group, a.name) = p.quota_group
                WHERE p.parked_until > ?
                """),
            arguments: [time])
        {
            let agent = ScopedName(workspace: row[0], name: row[1])
            if let concurrency: Int = row[2] { agentLimits[agent] = concurrency }
            let rateLimit: Int? = row[3]
            let window: Double? = row[4]
            let rate = rateLimit.flatMap { limit in window.map { AgentRate(limit: limit, window: $0) } }
            let parkedUntil: Double? = row[7]
            guard rate != nil || parkedUntil != nil else { continue }
            paces[agent] = AgentPace(
                rate: rate, tokens: row[5], updatedAt: row[6], parkedUntil: parkedUntil ?? paces[agent]?.parkedUntil, now: time)
        }
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT workspace_id, name, concurrency FROM lanes")) {
            laneLimits[ScopedName(workspace: row[0], name: row[1])] = row[2]
        }
        self.init(agentLimits: agentLimits, laneLimits: laneLimits, paces: paces)
        guard hasConcurrencyLimits else { return }
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT workspace_id, agent, lane FROM tasks WHERE state = 'running'")) {
            let workspace: String = row[0]
            let lane: String? = row[2]
            countRunning(agent: ScopedName(workspace: workspace, name: row[1]), lane: lane.map { ScopedName(workspace: workspace, name: $0) })
        }
    }
}
