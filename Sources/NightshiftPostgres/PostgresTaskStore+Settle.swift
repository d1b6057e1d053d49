import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Records a run's end if `lease` is still current (see ``TaskQueue/settle(_:outcome:checkpoints:now:)``).
    ///
    /// Settles that arrive while a batch is being written go together into the next batch.
    public func settle(_ lease: Lease, outcome: RunOutcome, checkpoints: CheckpointCollection, now: Date) async throws -> SettleResult {
        try await settles.submit(Settlement(lease: lease, outcome: outcome, checkpoints: checkpoints, now: now))
    }

    /// Extends the leases still held; returns the lost ones.
    public func heartbeat(_ leases: [Lease], extendTo: Date, now: Date) async throws -> [Lease] {
        guard !leases.isEmpty else { return [] }
        return try await write { transaction in
            // Rows are locked in id order, as settles lock them, so the two never wait on each other in a cycle.
            _ = try await transaction.lockedFacts(leases.map(\.taskID))
            let beats = JSONValue.array(leases.map { ["id": .string($0.taskID.rawValue), "run_id": .string($0.runID), "token": .string($0.token)] })
            var sql = SQL("WITH beats AS (SELECT * FROM jsonb_to_recordset(")
            sql.append(.json(beats.jsonText))
            sql.append(") AS b(id text, run_id text, token text)), extended AS (UPDATE tasks SET lease_expires_at = ")
            let expires = sql.bind(.double(extendTo.timeIntervalSince1970))
            sql.append(expires)
            let ids = sql.bind(.texts(leases.map(\.taskID.rawValue)))
            sql.append("""
                 FROM beats WHERE tasks.id = ANY(\(ids)) AND tasks.id = beats.id AND tasks.run_id = beats.run_id AND tasks.lease_token = beats.token
                 AND tasks.state = 'running' RETURNING tasks.id, tasks.run_id), beat AS (UPDATE runs SET heartbeat_at = 
                """)
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(", lease_expires_at = \(expires) FROM extended WHERE runs.task_id = ANY(\(ids)) AND runs.task_id = extended.id AND runs.id = extended.run_id)")
            sql.append(" SELECT id FROM extended")
            let held = Set(try await transaction.rows(sql).map { try $0["id"].decode(String.self) })
            return leases.filter { !held.contains($0.taskID.rawValue) }
        }
    }

    /// Ends the runs whose lease expired as lost. Safe on every node at once: each rescuer skips
    /// the rows another one holds, and every settle is fenced.
    public func rescueExpiredLeases(now: Date) async throws -> [RescuedRun] {
        var condition = SQL("state = 'running' AND lease_expires_at < ")
        condition.append(.double(now.timeIntervalSince1970))
        return try await rescue(where: condition, reason: "worker lost: lease expired", now: now)
    }

    /// Ends every run still held by `worker` as lost, without waiting for the leases to expire.
    public func reclaimRuns(ofWorker worker: String, now: Date) async throws -> [RescuedRun] {
        var condition = SQL("state = 'running' AND worker_id = ")
        condition.append(.text(worker))
        return try await rescue(where: condition, reason: "worker lost: node \(worker) restarted", now: now)
    }

    /// Settles, as lost, the runs of the tasks that match `condition` (at most 500 per call).
    private func rescue(where condition: SQL, reason: String, now: Date) async throws -> [RescuedRun] {
        try await write { transaction in
            var sql = SQL("""
                SELECT id, run_id, lease_token,
                    (SELECT agent_process FROM runs WHERE runs.task_id = tasks.id AND runs.id = tasks.run_id) AS agent_process
                FROM tasks WHERE 
                """)
            sql = condition.prefixed(by: sql)
            sql.append(" ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED")
            let rows = try await transaction.rows(sql)
            let settlements = try rows.map { row in
                Settlement(
                    lease: Lease(
                        taskID: TaskID(trusted: try row["id"].decode(String.self)), runID: try row["run_id"].decode(String.self),
                        token: try row["lease_token"].decode(String.self)),
                    outcome: .lost(reason), now: now)
            }
            _ = try await transaction.settleAll(settlements, by: "rescuer")
            return try rows.map { row in
                RescuedRun(
                    taskID: TaskID(trusted: try row["id"].decode(String.self)),
                    process: try row["agent_process"].decode(String?.self).flatMap(AgentProcessRecord.init))
            }
        }
    }

    /// Wakes waiting tasks whose wake time has come.
    public func wakeDue(now: Date) async throws -> [TaskID] {
        try await write { transaction in
            var sql = SQL("SELECT \(TaskFacts.columns) FROM tasks WHERE state = 'waiting' AND wake_at IS NOT NULL AND wake_at <= ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(" ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED")
            let facts = try await transaction.rows(sql).map(PostgresRows.facts)
            try await transaction.moveAll(
                facts.map { Transaction.Move(facts: $0, action: .wake, values: [.double(now.timeIntervalSince1970)]) },
                columns: [.init("available_at", "float8")], fixed: ["wake_at = NULL", "waiting_for = NULL"], now: now)
            return facts.map(\.id) + (try await transaction.wakeParents(now: now))
        }
    }

    /// Writes this node's probe row (see ``TaskStore/probeWrite(node:now:)``).
    public func probeWrite(node: String, now: Date) async throws {
        try await write { transaction in
            var sql = SQL("INSERT INTO write_probes (node, at) VALUES (")
            sql.append(.text(node))
            sql.append(", ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(") ON CONFLICT (node) DO UPDATE SET at = excluded.at")
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
