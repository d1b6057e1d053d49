import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Records a run's end if `lease` is still current (see ``TaskQueue/settle(_:outcome:checkpoints:now:)``).
    ///
    /// Settles that arrive together are written as one batch (see `WriteCoalescer`).
    public func settle(_ lease: Lease, outcome: RunOutcome, checkpoints: CheckpointCollection, now: Date) async throws -> SettleResult {
        try await settles.submit(Settlement(lease: lease, outcome: outcome, checkpoints: checkpoints, now: now))
    }

    /// Extends the leases still held; returns the lost ones.
    public func heartbeat(_ leases: [Lease], extendTo: Date, now: Date) async throws -> [Lease] {
        guard !leases.isEmpty else { return [] }
        return try await writer.write(.shared) { transaction in
            let extend = try transaction.db.cachedStatement(sql: """
                UPDATE tasks SET lease_expires_at = ? WHERE id = ? AND run_id = ? AND lease_token = ? AND state = 'running'
                """)
            let beat = try transaction.db.cachedStatement(sql: "UPDATE runs SET heartbeat_at = ?, lease_expires_at = ? WHERE task_id = ? AND id = ?")
            var lost: [Lease] = []
            for lease in leases {
                try extend.execute(arguments: [extendTo.timeIntervalSince1970, lease.taskID.rawValue, lease.runID, lease.token])
                if transaction.db.changesCount == 0 {
                    lost.append(lease)
                } else {
                    try beat.execute(arguments: [now.timeIntervalSince1970, extendTo.timeIntervalSince1970, lease.taskID.rawValue, lease.runID])
                }
            }
            return lost
        }
    }

    /// Ends the runs whose lease expired as lost.
    public func rescueExpiredLeases(now: Date) async throws -> [RescuedRun] {
        try await writer.write(.shared) { transaction in
            try transaction.rescue(
                where: "state = 'running' AND lease_expires_at < ?", [now.timeIntervalSince1970],
                reason: "worker lost: lease expired", now: now)
        }
    }

    /// Ends every run still held by `worker` as lost, without waiting for the leases to expire.
    public func reclaimRuns(ofWorker worker: String, now: Date) async throws -> [RescuedRun] {
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
                    SELECT \(TaskFacts.columns) FROM tasks
                    WHERE state = 'waiting' AND wake_at IS NOT NULL AND wake_at <= ? LIMIT 500
                    """),
                arguments: [now.timeIntervalSince1970])
            let moves = try rows.map { row in
                WriteTransaction.Move(
                    facts: try WriteTransaction.facts(row), action: .wake, budget: nil,
                    values: [now.timeIntervalSince1970], details: [:])
            }
            try transaction.transitionAll(moves, columns: [.init("available_at")], fixed: ["wake_at = NULL", "waiting_for = NULL"], now: now)
            return moves.map(\.facts.id) + (try transaction.wakeParents(now: now))
        }
    }
}

extension SQLiteTaskStore {
    /// Writes this node's probe row (see ``TaskStore/probeWrite(node:now:)``).
    public func probeWrite(node: String, now: Date) async throws {
        try await writer.write(.shared) { transaction in
            try transaction.db.execute(
                sql: "INSERT INTO write_probes (node, at) VALUES (?, ?) ON CONFLICT(node) DO UPDATE SET at = excluded.at",
                arguments: [node, now.timeIntervalSince1970])
        }
    }
}

extension WriteTransaction {
    /// Records the end of several runs with a statement per table for the whole batch; each
    /// settle is fenced on its own lease (see `SettlePlan`).
    func settleAll(_ settlements: [Settlement], by settler: String) throws -> [SettleResult] {
        let facts = try facts(Set(settlements.map(\.lease.taskID)))
        let plan = try SettlePlan(
            settlements, facts: facts, agentSpend: try agentBudgets(SettlePlan.agentsToRead(settlements, facts: facts)),
            parks: try parks(SettlePlan.parksToRead(settlements, facts: facts)), settler: settler)
        // Moves grouped by the state they lead to: each group changes the same columns (the plan's
        // changes, whose shape depends only on the state), set from each move's values.
        var groups: [TaskState: (changes: [TaskChange], moves: [Move])] = [:]
        var runs: [[(any DatabaseValueConvertible)?]] = []
        for planned in plan.moves {
            let outcome = planned.outcome
            let usage = outcome.usage
            let changes = planned.changes
            let values = changes.filter { $0.kind != .null }.map { Self.databaseValue($0.value) }
            groups[planned.next, default: (changes, [])].moves.append(Move(
                facts: planned.facts, action: planned.action, budget: planned.budget, values: values, details: planned.details))
            runs.append([
                planned.facts.id.rawValue, planned.facts.attempt, planned.time, outcome.label, settler, planned.next.rawValue,
                usage.exitCode, usage.tokensIn, usage.tokensOut, usage.cacheReadTokens, usage.cacheWriteTokens, usage.costUSD,
                usage.costEstimated, usage.agentSessionID, outcome.error, usage.turns, outcome.warningsText, usage.toolCallsText,
            ])
        }
        runDeltas["succeeded", default: 0] += plan.succeeded
        runDeltas["failed", default: 0] += plan.failed
        let now = settlements.first?.now ?? Date()
        for (changes, moves) in groups.values {
            var columns: [BatchColumn] = []
            var fixed: [String] = []
            for change in changes {
                switch change.kind {
                case .set: columns.append(BatchColumn(change.column))
                case .add: columns.append(BatchColumn(change.column, "tasks.\(change.column) + moves.\(change.column)"))
                case .null: fixed.append("\(change.column) = NULL")
                }
            }
            try transitionAll(moves, columns: columns, fixed: fixed, now: now)
        }
        try finishRuns(runs)
        try save(plan.checkpoints)
        try returnInputs(ofReleased: plan.released)
        for followUp in plan.followUps {
            _ = try insertInput(followUp.input, task: followUp.task, workspace: followUp.workspace, now: now)
        }
        try resolveActiveCheckpoints(of: plan.ended, now: now)
        for (agent, spend) in plan.agentSpend where spend.spent != spend.before {
            try db.execute(
                sql: "UPDATE agents SET spent_usd = ? WHERE workspace_id = ? AND name = ?", arguments: [spend.spent, agent.workspace, agent.name])
        }
        for group in plan.parked.sorted(by: { $0.description < $1.description }) {
            guard let park = plan.parks[group] else { continue }
            try db.execute(
                sql: """
                    INSERT INTO quota_parks (workspace_id, quota_group, parked_until, reason, parked_at, streak) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (workspace_id, quota_group) DO UPDATE SET parked_until = excluded.parked_until,
                        reason = excluded.reason, parked_at = excluded.parked_at, streak = excluded.streak
                    """,
                arguments: [group.workspace, group.name, park.until, park.reason, park.since, park.streak])
        }
        return try zip(settlements, plan.results).map { settlement, result in
            try result ?? staleResult(settlement.lease, facts: facts[settlement.lease.taskID]!, settler: settler)
        }
    }

    /// A plan's value as SQLite binds it.
    static func databaseValue(_ value: JSONValue) -> (any DatabaseValueConvertible)? {
        switch value {
        case .int(let number): number
        case .double(let number): number
        case .string(let text): text
        case .bool(let flag): flag
        default: nil
        }
    }

    /// The parks (current or past) of the named quota groups.
    private func parks(_ groups: Set<ScopedName>) throws -> [ScopedName: QuotaPark] {
        guard !groups.isEmpty else { return [:] }
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT workspace_id, quota_group, parked_until, reason, parked_at, streak FROM quota_parks
                WHERE (workspace_id, quota_group) IN (VALUES \(Self.valueRows(groups.count, width: 2)))
                """,
            arguments: StatementArguments(groups.flatMap { [$0.workspace, $0.name] }))
        var parks: [ScopedName: QuotaPark] = [:]
        for row in rows {
            let group = ScopedName(workspace: row["workspace_id"], name: row["quota_group"])
            parks[group] = QuotaPark(group: group, until: row["parked_until"], reason: row["reason"], since: row["parked_at"], streak: row["streak"])
        }
        return parks
    }

    /// What the named agents have spent, and their budgets.
    private func agentBudgets(_ names: Set<ScopedName>) throws -> [ScopedName: AgentSpend] {
        guard !names.isEmpty else { return [:] }
        var budgets: [ScopedName: AgentSpend] = [:]
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT workspace_id, name, budget_usd, spent_usd FROM agents
                WHERE (workspace_id, name) IN (VALUES \(Self.valueRows(names.count, width: 2)))
                """,
            arguments: StatementArguments(names.flatMap { [$0.workspace, $0.name] }))
        for row in rows {
            budgets[ScopedName(workspace: row["workspace_id"], name: row["name"])] = AgentSpend(budget: row["budget_usd"], spent: row["spent_usd"])
        }
        return budgets
    }

    /// Why a settle with a lease that is no longer current changes nothing: already settled by
    /// the same settler (a repeat), or stale.
    private func staleResult(_ lease: Lease, facts: TaskFacts, settler: String) throws -> SettleResult {
        let run = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT lease_token, outcome, settled_by, settled_state FROM runs WHERE task_id = ? AND id = ?"),
            arguments: [lease.taskID.rawValue, lease.runID])
        if let run, run["lease_token"] == lease.token, run["settled_by"] == settler,
           let stateText: String = run["settled_state"]
        {
            return .alreadySettled(try SQLiteRows.state(stateText))
        }
        let ended: String? = run?["outcome"]
        return .stale(reason: "lease of run \(lease.runID) is no longer current: the run ended as \(ended ?? "unknown") and the task is \(facts.state)")
    }

    /// Writes the end of runs, given as rows of (task_id, attempt, finished_at, outcome, settled_by,
    /// settled_state, exit_code, tokens_in, tokens_out, cache_read_tokens, cache_write_tokens, cost_usd,
    /// cost_estimated, agent_session_id, error, turns, warnings, tool_calls).
    private func finishRuns(_ runs: [[(any DatabaseValueConvertible)?]]) throws {
        for chunk in runs.chunks(of: Self.rowsPerStatement) {
            try db.cachedStatement(sql: """
                WITH ended(task_id, attempt, finished_at, outcome, settled_by, settled_state, exit_code, tokens_in, tokens_out,
                    cache_read_tokens, cache_write_tokens, cost_usd, cost_estimated, agent_session_id, error, turns, warnings, tool_calls)
                    AS (VALUES \(Self.valueRows(chunk.count, width: 18)))
                UPDATE runs SET finished_at = ended.finished_at, outcome = ended.outcome, settled_by = ended.settled_by,
                    settled_state = ended.settled_state, exit_code = ended.exit_code, tokens_in = ended.tokens_in,
                    tokens_out = ended.tokens_out, cache_read_tokens = ended.cache_read_tokens,
                    cache_write_tokens = ended.cache_write_tokens, cost_usd = ended.cost_usd,
                    cost_estimated = ended.cost_estimated, agent_session_id = COALESCE(ended.agent_session_id, runs.agent_session_id),
                    error = ended.error, turns = ended.turns, warnings = ended.warnings, tool_calls = ended.tool_calls
                FROM ended WHERE runs.task_id = ended.task_id AND runs.attempt = ended.attempt
                """).execute(arguments: StatementArguments(chunk.flatMap { $0 }))
        }
    }

    /// Settles, as lost, the runs of the tasks that match `condition` (at most 500 per call).
    func rescue(where condition: String, _ arguments: [any DatabaseValueConvertible], reason: String, now: Date) throws -> [RescuedRun] {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT id, run_id, lease_token,
                    (SELECT agent_process FROM runs WHERE runs.task_id = tasks.id AND runs.id = tasks.run_id) AS agent_process
                FROM tasks WHERE \(condition) LIMIT 500
                """),
            arguments: StatementArguments(arguments))
        let settlements = rows.map { row in
            Settlement(
                lease: Lease(taskID: TaskID(trusted: row["id"]), runID: row["run_id"], token: row["lease_token"]),
                outcome: .lost(reason), now: now)
        }
        _ = try settleAll(settlements, by: "rescuer")
        return rows.map { row in
            RescuedRun(taskID: TaskID(trusted: row["id"]), process: (row["agent_process"] as String?).flatMap(AgentProcessRecord.init))
        }
    }
}
