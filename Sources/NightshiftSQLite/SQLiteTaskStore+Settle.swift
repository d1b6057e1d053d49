import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Records a run's end if `lease` is still current (see ``TaskStore/settle(_:outcome:now:)``).
    public func settle(_ lease: Lease, outcome: RunOutcome, now: Date) async throws -> SettleResult {
        try await writer.write(.shared) { transaction in
            try transaction.settle(lease, outcome: outcome, by: "worker", now: now)
        }
    }

    /// Extends the leases still held; returns the lost ones.
    public func heartbeat(_ leases: [Lease], extendTo: Date, now: Date) async throws -> [Lease] {
        guard !leases.isEmpty else { return [] }
        return try await writer.write(.shared) { transaction in
            let extend = try transaction.db.cachedStatement(sql: """
                UPDATE tasks SET lease_expires_at = ? WHERE id = ? AND run_id = ? AND lease_token = ? AND state = 'running'
                """)
            let beat = try transaction.db.cachedStatement(sql: "UPDATE runs SET heartbeat_at = ?, lease_expires_at = ? WHERE id = ?")
            var lost: [Lease] = []
            for lease in leases {
                try extend.execute(arguments: [extendTo.timeIntervalSince1970, lease.taskID.rawValue, lease.runID, lease.token])
                if transaction.db.changesCount == 0 {
                    lost.append(lease)
                } else {
                    try beat.execute(arguments: [now.timeIntervalSince1970, extendTo.timeIntervalSince1970, lease.runID])
                }
            }
            return lost
        }
    }

    /// Ends the runs whose lease expired as lost.
    public func rescueExpiredLeases(now: Date) async throws -> [TaskID] {
        try await writer.write(.shared) { transaction in
            try transaction.rescue(
                where: "state = 'running' AND lease_expires_at < ?", [now.timeIntervalSince1970],
                reason: "worker lost: lease expired", now: now)
        }
    }

    /// Ends every run still held by `worker` as lost, without waiting for the leases to expire.
    public func reclaimRuns(ofWorker worker: String, now: Date) async throws -> [TaskID] {
        try await writer.write(.shared) { transaction in
            try transaction.rescue(
                where: "state = 'running' AND worker_id = ?", [worker],
                reason: "worker lost: node \(worker) restarted", now: now)
        }
    }

    /// Wakes waiting tasks whose wake time has come.
    public func wakeDue(now: Date) async throws -> [TaskID] {
        try await writer.write(.shared) { transaction in
            let rows = try Row.fetchAll(
                transaction.db.cachedStatement(sql: """
                    SELECT \(WriteTransaction.TaskFacts.columns) FROM tasks
                    WHERE state = 'waiting' AND wake_at IS NOT NULL AND wake_at <= ? LIMIT 500
                    """),
                arguments: [now.timeIntervalSince1970])
            return try rows.map { row in
                let facts = try WriteTransaction.TaskFacts(row)
                try transaction.transition(
                    facts, .wake, now: now,
                    assignments: [("available_at = ?", now.timeIntervalSince1970), ("wake_at = ?", nil)])
                return facts.id
            }
        }
    }
}

extension WriteTransaction {
    func settle(_ lease: Lease, outcome: RunOutcome, by settler: String, now: Date) throws -> SettleResult {
        guard let facts = try facts(lease.taskID) else {
            return .stale(reason: "task \(lease.taskID) does not exist")
        }
        guard facts.state == .running, facts.runID == lease.runID, facts.leaseToken == lease.token else {
            let run = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT lease_token, outcome, settled_by, settled_state FROM runs WHERE id = ?"),
                arguments: [lease.runID])
            if let run, run["lease_token"] == lease.token, run["settled_by"] == settler,
               let stateText: String = run["settled_state"]
            {
                return .alreadySettled(try SQLiteRows.state(stateText))
            }
            let ended: String? = run?["outcome"]
            return .stale(reason: "lease of run \(lease.runID) is no longer current: the run ended as \(ended ?? "unknown") and the task is \(facts.state)")
        }
        let time = now.timeIntervalSince1970
        var failures = facts.failures
        if case .failed = outcome.resolution { failures += 1 }
        let budget = RetryBudget(failures: failures, maxAttempts: facts.retry.maxAttempts)
        let next = try Lifecycle.next(from: facts.state, on: .settle(outcome.resolution), task: facts.id, budget: budget)
        let usage = outcome.usage
        var assignments: [(String, (any DatabaseValueConvertible)?)] = [
            ("failures = ?", failures), ("lease_expires_at = ?", nil), ("lease_token = ?", nil),
            ("cost_usd = cost_usd + ?", usage.costUSD),
        ]
        var details: [String: JSONValue] = ["run_id": .string(lease.runID), "outcome": .string(outcome.label)]
        switch next {
        case .done:
            assignments += [("result = ?", outcome.result), ("error = ?", nil), ("finished_at = ?", time)]
        case .error:
            assignments += [("error = ?", outcome.error), ("finished_at = ?", time)]
            details["error"] = outcome.error.map(JSONValue.string) ?? .null
        case .queued:
            let delay = outcome.resolution == .released
                ? 0 : facts.retry.delay(afterFailure: failures, random: Double.random(in: 0..<1))
            assignments += [("available_at = ?", time + delay), ("error = ?", outcome.error)]
            details["retry_in"] = .double((delay * 1000).rounded() / 1000)
            if let error = outcome.error { details["error"] = .string(error) }
        case .waiting:
            assignments += [("wake_at = ?", outcome.wakeAt?.timeIntervalSince1970)]
            if let wakeAt = outcome.wakeAt { details["wake_at"] = .double(wakeAt.timeIntervalSince1970) }
            if let message = outcome.message { details["message"] = .string(message) }
        default:
            break
        }
        try transition(facts, .settle(outcome.resolution), budget: budget, now: now, assignments: assignments, details: details)
        try db.cachedStatement(sql: """
            UPDATE runs SET finished_at = ?, outcome = ?, settled_by = ?, settled_state = ?, exit_code = ?, tokens_in = ?,
                tokens_out = ?, cost_usd = ?, agent_session_id = ?, error = ? WHERE id = ?
            """).execute(arguments: [
                time, outcome.label, settler, next.rawValue, usage.exitCode, usage.tokensIn, usage.tokensOut,
                usage.costUSD, usage.agentSessionID, outcome.error, lease.runID,
            ])
        return .settled(next)
    }

    /// Settles, as lost, the runs of the tasks that match `condition` (at most 500 per call).
    func rescue(where condition: String, _ arguments: [any DatabaseValueConvertible], reason: String, now: Date) throws -> [TaskID] {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT id, run_id, lease_token FROM tasks WHERE \(condition) LIMIT 500"),
            arguments: StatementArguments(arguments))
        return try rows.map { row in
            let lease = Lease(taskID: TaskID(trusted: row["id"]), runID: row["run_id"], token: row["lease_token"])
            let outcome = RunOutcome(resolution: .failed(retryable: true), label: "lost", error: reason)
            _ = try settle(lease, outcome: outcome, by: "rescuer", now: now)
            return lease.taskID
        }
    }
}
