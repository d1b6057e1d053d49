import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Claims up to `limit` available tasks for `worker`.
    ///
    /// Candidates are locked with `FOR UPDATE SKIP LOCKED`, so claimers on other nodes pass over
    /// them instead of waiting. While no agent or lane has a concurrency limit, no agent has a rate
    /// and no quota group is parked, the claim is one statement (its candidates a common table
    /// expression). Otherwise it is a transaction that first takes an advisory lock: the running
    /// counts and the token buckets it reads then stay exact until it commits.
    public func claimBatch(worker: String, limit: Int, leaseDuration: Double, now: Date) async throws -> ClaimBatch {
        guard limit > 0 else { return ClaimBatch(runs: []) }
        if let claimed = try await autocommit({ try await $0.claimWithoutLimits(worker: worker, limit: limit, leaseDuration: leaseDuration, now: now) }) {
            return ClaimBatch(runs: claimed)
        }
        return try await write { transaction in
            try await transaction.claim(worker: worker, limit: limit, leaseDuration: leaseDuration, now: now)
        }
    }
}

extension Transaction {
    /// Claims in one statement, unless some agent or lane has a concurrency limit, some agent a
    /// rate or some quota group a park: then it claims nothing and returns `nil`. The statement locks its candidates in a CTE with `FOR UPDATE
    /// SKIP LOCKED`, moves them to running, opens their runs, and appends their `dispatch` events
    /// (the same JSON text as ``TransitionRecord``'s) and hook events.
    func claimWithoutLimits(worker: String, limit: Int, leaseDuration: Double, now: Date) async throws -> [ClaimedRun]? {
        let from = TaskState.queued
        let running = try Lifecycle.next(from: from, on: .dispatch, task: TaskID(trusted: ""))
        let runIDs = (0..<limit).map { _ in UUIDv7.generate(at: now) }
        let tokens = (0..<limit).map { _ in UUIDv7.generate(at: now) }
        // The state is written into the text, not bound: a generic plan uses the partial index
        // tasks_ready only when its predicate (state = 'queued') is visible in the query.
        let queued = "'\(from.rawValue)'::text"
        var sql = SQL("WITH candidates AS (SELECT id, priority, available_at FROM tasks WHERE state = \(queued) AND available_at <= ")
        let time = sql.bind(.double(now.timeIntervalSince1970))
        let limits = """
            EXISTS (SELECT 1 FROM agents WHERE concurrency IS NOT NULL OR rate_limit IS NOT NULL) OR EXISTS (SELECT 1 FROM lanes) \
            OR EXISTS (SELECT 1 FROM quota_parks WHERE parked_until > \(time))
            """
        sql.append(time + " AND NOT (\(limits)) ORDER BY priority, available_at, id LIMIT ")
        sql.append(.int(limit))
        sql.append("""
             FOR UPDATE SKIP LOCKED),
            numbered AS (SELECT id, row_number() OVER (ORDER BY priority, available_at, id) AS ord FROM candidates),
            opened AS (SELECT numbered.id, numbered.ord, fresh.run_id, fresh.token FROM numbered
                JOIN unnest(
            """)
        sql.append(.texts(runIDs))
        sql.append(", ")
        sql.append(.texts(tokens))
        sql.append(") WITH ORDINALITY AS fresh(run_id, token, ord) ON fresh.ord = numbered.ord), moved AS (UPDATE tasks SET state = ")
        sql.append(.text(running.rawValue))
        sql.append(", updated_at = \(time), last_seq = tasks.last_seq + 1, attempt = tasks.attempt + 1, run_id = opened.run_id, ")
        sql.append("lease_token = opened.token, lease_expires_at = ")
        let expires = sql.bind(.double(now.timeIntervalSince1970 + leaseDuration))
        sql.append(expires + ", worker_id = ")
        let workerID = sql.bind(.text(worker))
        sql.append(workerID)
        sql.append(" FROM opened WHERE tasks.id = opened.id RETURNING \(PostgresRows.qualifiedTaskColumns), opened.ord)")
        // The event and hook texts are TransitionRecord's (keys sorted, no spaces), built per row.
        sql.append(", events AS (INSERT INTO task_events (task_id, seq, time, type, data, workspace_id) SELECT id, last_seq, \(time), 'state', ")
        sql.append("'{\"action\":\"dispatch\",\"attempt\":' || attempt || ',\"from\":' || to_json(\(queued))::text || ',\"run_id\":' || to_json(run_id)::text || ',\"to\":' || to_json(state)::text || ',\"worker\":' || to_json(\(workerID))::text || '}', workspace_id FROM moved)")
        sql.append(", totals AS (UPDATE run_totals SET started = started + (SELECT count(*) FROM moved)")
        sql.append(" WHERE shard = \(Transaction.runTotalsShard) AND EXISTS (SELECT 1 FROM moved))")
        sql.append(", hooks AS (INSERT INTO hook_pending (time, task_id, type, data, workspace_id) SELECT \(time), moved.id, ")
        sql.append(.text(HookEvent.type(for: running)))
        sql.append(", '{\"action\":\"dispatch\",\"agent\":' || to_json(moved.agent)::text || ',\"from\":' || to_json(\(queued))::text || ',\"to\":' || to_json(moved.state)::text || '}', moved.workspace_id FROM moved ORDER BY moved.ord)")
        sql.append("""
            , runs_opened AS (INSERT INTO runs (id, task_id, attempt, worker_id, lease_token, lease_expires_at, heartbeat_at, started_at, workspace_id)
                SELECT run_id, id, attempt, \(workerID), lease_token, \(expires), \(time), \(time), workspace_id FROM moved)
            SELECT flag.limited, moved.* FROM (SELECT \(limits) AS limited, \(Self.asynchronousCommit) AS commit_mode) AS flag
                LEFT JOIN moved ON true ORDER BY moved.ord
            """)
        let rows = try await rows(sql)
        if try rows.first?["limited"].decode(Bool.self) == true { return nil }
        // Only a claim that moved tasks appended their hook events (an empty one is most polls).
        let claimed = try rows.compactMap { row -> ClaimedRun? in
            guard let id = try row["id"].decode(String?.self) else { return nil }
            let task = try PostgresRows.task(row)
            let run = Run(
                id: try row["run_id"].decode(String.self), taskID: TaskID(trusted: id), attempt: task.attempt, workerID: worker,
                leaseToken: try row["lease_token"].decode(String.self), leaseExpiresAt: now.addingTimeInterval(leaseDuration),
                heartbeatAt: now, startedAt: now)
            return ClaimedRun(task: task, run: run)
        }
        if !claimed.isEmpty { hooks.mark() }
        return claimed
    }

    /// An SQL expression that makes the transaction it runs in commit without waiting for its WAL
    /// flush (`SET LOCAL synchronous_commit = off`, from inside a statement).
    ///
    /// For claims only (the single-statement ones; a claim under concurrency limits commits
    /// synchronously). A claim acknowledges nothing to anyone: if the server crashes before the
    /// flush, the claim is lost as a whole (the task is queued again with its old attempt, its
    /// events and hook with it), the worker's heartbeat finds the lease gone and stops the run,
    /// and the task runs again — at-least-once execution, as after a worker crash. Settlement
    /// stays exactly-once: settles and submits commit synchronously, and a later synchronous
    /// commit flushes every earlier record. The wait was a quarter of a claim's time.
    static let asynchronousCommit = "set_config('synchronous_commit', 'off', true)"

    /// The most candidate pages one claim reads when concurrency limits skip candidates.
    private static let maxCandidatePages = 8

    func claim(worker: String, limit: Int, leaseDuration: Double, now: Date) async throws -> ClaimBatch {
        var limits = try await ConcurrencyLimits(self, now: now)
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
                sql.append(" AND (workspace_id, agent) NOT IN (SELECT * FROM unnest(")
                sql.append(.texts(saturatedAgents.map(\.workspace)))
                sql.append(", ")
                sql.append(.texts(saturatedAgents.map(\.name)))
                sql.append("))")
            }
            let saturatedLanes = limits.saturatedLanes
            if !saturatedLanes.isEmpty {
                sql.append(" AND (lane IS NULL OR (workspace_id, lane) NOT IN (SELECT * FROM unnest(")
                sql.append(.texts(saturatedLanes.map(\.workspace)))
                sql.append(", ")
                sql.append(.texts(saturatedLanes.map(\.name)))
                sql.append(")))")
            }
            sql.append(" ORDER BY priority, available_at, id LIMIT ")
            sql.append(.int(pageSize))
            sql.append(" FOR UPDATE SKIP LOCKED")
            let candidates = try await rows(sql)
            for row in candidates where chosen.count < limit {
                let workspace = try row["workspace_id"].decode(String.self)
                let agent = ScopedName(workspace: workspace, name: try row["agent"].decode(String.self))
                if limits.admit(agent: agent, lane: try row["lane"].decode(String?.self).map { ScopedName(workspace: workspace, name: $0) }) {
                    chosen.append(row)
                }
            }
            guard chosen.count < limit, candidates.count == pageSize, let last = candidates.last else { break }
            cursor = (
                try last["priority"].decode(Int.self), try last["available_at"].decode(Double.self), try last["id"].decode(String.self)
            )
        }
        // The tokens the chosen tasks took, in this transaction (under the claim lock): every
        // node's claims share the bucket.
        for (agent, bucket) in limits.bucketWrites {
            var sql = SQL("UPDATE agents SET rate_tokens = ")
            sql.append(.double(bucket.tokens))
            sql.append(", rate_at = ")
            sql.append(.double(bucket.updatedAt))
            sql.append(" WHERE workspace_id = ")
            sql.append(.text(agent.workspace))
            sql.append(" AND name = ")
            sql.append(.text(agent.name))
            try await rows(sql)
        }
        let runs = try await dispatch(chosen, worker: worker, leaseDuration: leaseDuration, now: now)
        return ClaimBatch(runs: runs, nextOpening: limits.nextOpening.map(Date.init(timeIntervalSince1970:)))
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
                , opened AS (INSERT INTO runs (id, task_id, attempt, worker_id, lease_token, lease_expires_at, heartbeat_at, started_at, workspace_id)
                SELECT run_id, id, attempt, worker_id, lease_token, lease_expires_at, \(time), \(time), workspace_id FROM moves)
                """)
        }
        for index in claimed.indices { claimed[index].task.state = states[index] }
        return claimed
    }
}

extension ConcurrencyLimits {
    /// Takes the claim lock, then reads the limits, the pacing of the agents that have any (a
    /// rate, a parked quota group) and, when there are concurrency limits, counts running tasks.
    init(_ transaction: Transaction, now: Date) async throws {
        // Held until commit: another node's claim waits here, then counts this one's tasks as
        // running and reads the buckets this one wrote.
        try await transaction.rows("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.nightshift.claim'))")
        let time = now.timeIntervalSince1970
        var agentLimits: [ScopedName: Int] = [:]
        var laneLimits: [ScopedName: Int] = [:]
        var paces: [ScopedName: AgentPace] = [:]
        var sql = SQL("""
            SELECT 'agent' AS kind, workspace_id, name, concurrency, rate_limit, rate_window, rate_tokens, rate_at,
                NULL::float8 AS parked_until FROM agents WHERE concurrency IS NOT NULL OR rate_limit IS NOT NULL
            UNION ALL SELECT 'lane', workspace_id, name, concurrency, NULL, NULL, NULL, NULL, NULL FROM lanes
            UNION ALL SELECT 'agent', a.workspace_id, a.name, NULL, a.rate_limit, a.rate_window, a.rate_tokens, a.rate_at, p.parked_until
                FROM quota_parks p JOIN agents a ON a.workspace_id = p.workspace_id AND COALESCE(a.quota_group, a.name) = p.quota_group
                WHERE p.parked_until > 
            """)
        sql.append(.double(time))
        for row in try await transaction.rows(sql) {
            let name = ScopedName(workspace: try row["workspace_id"].decode(String.self), name: try row["name"].decode(String.self))
            let concurrency = try row["concurrency"].decode(Int?.self)
            guard try row["kind"].decode(String.self) == "agent" else {
                laneLimits[name] = concurrency
                continue
            }
            if let concurrency { agentLimits[name] = concurrency }
            let rate = try row["rate_limit"].decode(Int?.self).flatMap { limit in
                try row["rate_window"].decode(Double?.self).map { AgentRate(limit: limit, window: $0) }
            }
            let parkedUntil = try row["parked_until"].decode(Double?.self)
            guard rate != nil || parkedUntil != nil else { continue }
            paces[name] = AgentPace(
                rate: rate, tokens: try row["rate_tokens"].decode(Double?.self), updatedAt: try row["rate_at"].decode(Double?.self),
                parkedUntil: parkedUntil ?? paces[name]?.parkedUntil, now: time)
        }
        self.init(agentLimits: agentLimits, laneLimits: laneLimits, paces: paces)
        guard hasConcurrencyLimits else { return }
        for row in try await transaction.rows(
            "SELECT workspace_id, agent, lane, count(*) AS n FROM tasks WHERE state = 'running' GROUP BY workspace_id, agent, lane")
        {
            let workspace = try row["workspace_id"].decode(String.self)
            countRunning(
                try row["n"].decode(Int.self), agent: ScopedName(workspace: workspace, name: try row["agent"].decode(String.self)),
                lane: try row["lane"].decode(String?.self).map { ScopedName(workspace: workspace, name: $0) })
        }
    }
}
