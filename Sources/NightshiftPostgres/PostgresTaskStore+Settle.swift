import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Records a run's end if `lease` is still current (see ``TaskStore/settle(_:outcome:now:)``).
    public func settle(_ lease: Lease, outcome: RunOutcome, now: Date) async throws -> SettleResult {
        try await write { transaction in
            try await transaction.settle(lease, outcome: outcome, by: "worker", now: now)
        }
    }

    /// Extends the leases still held; returns the lost ones.
    public func heartbeat(_ leases: [Lease], extendTo: Date, now: Date) async throws -> [Lease] {
        guard !leases.isEmpty else { return [] }
        return try await write { transaction in
            var lost: Set<Lease> = []
            // Rows are locked in one order by every heartbeat, so two batches never wait on each other.
            for lease in leases.sorted(by: { $0.taskID < $1.taskID }) {
                var extend = SQL("UPDATE tasks SET lease_expires_at = ")
                extend.append(.double(extendTo.timeIntervalSince1970))
                extend.append(" WHERE id = ")
                extend.append(.text(lease.taskID.rawValue))
                extend.append(" AND run_id = ")
                extend.append(.text(lease.runID))
                extend.append(" AND lease_token = ")
                extend.append(.text(lease.token))
                extend.append(" AND state = 'running' RETURNING id")
                guard try await transaction.rows(extend).count == 1 else {
                    lost.insert(lease)
                    continue
                }
                var beat = SQL("UPDATE runs SET heartbeat_at = ")
                beat.append(.double(now.timeIntervalSince1970))
                beat.append(", lease_expires_at = ")
                beat.append(.double(extendTo.timeIntervalSince1970))
                beat.append(" WHERE task_id = ")
                beat.append(.text(lease.taskID.rawValue))
                beat.append(" AND id = ")
                beat.append(.text(lease.runID))
                try await transaction.rows(beat)
            }
            return leases.filter(lost.contains)
        }
    }

    /// Ends the runs whose lease expired as lost. Safe on every node at once: each rescuer skips
    /// the rows another one holds, and every settle is fenced.
    public func rescueExpiredLeases(now: Date) async throws -> [TaskID] {
        var condition = SQL("state = 'running' AND lease_expires_at < ")
        condition.append(.double(now.timeIntervalSince1970))
        return try await rescue(where: condition, reason: "worker lost: lease expired", now: now)
    }

    /// Ends every run still held by `worker` as lost, without waiting for the leases to expire.
    public func reclaimRuns(ofWorker worker: String, now: Date) async throws -> [TaskID] {
        var condition = SQL("state = 'running' AND worker_id = ")
        condition.append(.text(worker))
        return try await rescue(where: condition, reason: "worker lost: node \(worker) restarted", now: now)
    }

    /// Settles, as lost, the runs of the tasks that match `condition` (at most 500 per call).
    private func rescue(where condition: SQL, reason: String, now: Date) async throws -> [TaskID] {
        try await write { transaction in
            var sql = SQL("SELECT id, run_id, lease_token FROM tasks WHERE ")
            sql = condition.prefixed(by: sql)
            sql.append(" LIMIT 500 FOR UPDATE SKIP LOCKED")
            var rescued: [TaskID] = []
            for row in try await transaction.rows(sql) {
                let lease = Lease(
                    taskID: TaskID(trusted: try row["id"].decode(String.self)), runID: try row["run_id"].decode(String.self),
                    token: try row["lease_token"].decode(String.self))
                _ = try await transaction.settle(
                    lease, outcome: RunOutcome(resolution: .failed(retryable: true), label: "lost", error: reason),
                    by: "rescuer", now: now)
                rescued.append(lease.taskID)
            }
            return rescued
        }
    }

    /// Wakes waiting tasks whose wake time has come.
    public func wakeDue(now: Date) async throws -> [TaskID] {
        try await write { transaction in
            var sql = SQL("SELECT \(Transaction.TaskFacts.columns) FROM tasks WHERE state = 'waiting' AND wake_at IS NOT NULL AND wake_at <= ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(" LIMIT 500 FOR UPDATE SKIP LOCKED")
            var woken: [TaskID] = []
            for row in try await transaction.rows(sql) {
                let facts = try Transaction.TaskFacts(row)
                try await transaction.move(
                    facts, .wake, set: [("available_at", .double(now.timeIntervalSince1970))], fixed: ["wake_at = NULL"], now: now)
                woken.append(facts.id)
            }
            return woken
        }
    }

    /// Records the agent CLI's session id on a run that has not ended.
    public func recordAgentSession(_ lease: Lease, sessionID: String) async throws {
        try await write { transaction in
            var sql = SQL("UPDATE runs SET agent_session_id = ")
            sql.append(.text(sessionID))
            sql.append(" WHERE task_id = ")
            sql.append(.text(lease.taskID.rawValue))
            sql.append(" AND id = ")
            sql.append(.text(lease.runID))
            sql.append(" AND finished_at IS NULL")
            try await transaction.rows(sql)
        }
    }
}

extension SQL {
    /// `prefix` followed by this query's text, with this query's placeholders renumbered after the prefix's.
    func prefixed(by prefix: SQL) -> SQL {
        precondition(prefix.bindCount == 0, "prefix must have no binds")
        var copy = self
        copy.prepend(prefix.text)
        return copy
    }
}
