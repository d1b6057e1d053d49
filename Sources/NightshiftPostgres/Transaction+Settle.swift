import Foundation
import Nightshift
import PostgresNIO

extension Transaction {
    /// Records the end of several runs: their task rows are locked, `SettlePlan` decides each
    /// settle (fenced on its own lease), and the writes take one statement per table and batch.
    func settleAll(_ settlements: [Settlement], by settler: String) async throws -> [SettleResult] {
        guard !settlements.isEmpty else { return [] }
        let facts = try await lockedFacts(settlements.map(\.lease.taskID))
        let plan = try SettlePlan(
            settlements, facts: facts, agentSpend: try await agentSpend(SettlePlan.agentsToRead(settlements, facts: facts)),
            parks: try await parks(SettlePlan.parksToRead(settlements, facts: facts)), settler: settler)
        // Spend first: the hook stream's row, locked by the moves, is held for as short a time as can be.
        for (agent, spend) in plan.agentSpend where spend.spent != spend.before {
            var sql = SQL("UPDATE agents SET spent_usd = spent_usd + ")
            sql.append(.double(spend.spent - spend.before))
            sql.append(" WHERE workspace_id = ")
            sql.append(.text(agent.workspace))
            sql.append(" AND name = ")
            sql.append(.text(agent.name))
            try await rows(sql)
        }
        for group in plan.parked.sorted(by: { $0.description < $1.description }) {
            guard let park = plan.parks[group] else { continue }
            var sql = SQL("INSERT INTO quota_parks (workspace_id, quota_group, parked_until, reason, parked_at, streak) VALUES (")
            sql.append(list: [.text(group.workspace), .text(group.name), .double(park.until), .text(park.reason), .double(park.since), .int(park.streak)])
            sql.append("""
                ) ON CONFLICT (workspace_id, quota_group) DO UPDATE SET parked_until = excluded.parked_until,
                    reason = excluded.reason, parked_at = excluded.parked_at, streak = excluded.streak
                """)
            try await rows(sql)
        }
        // Moves grouped by the state they lead to: each group sets the same columns.
        var groups: [TaskState: [SettlePlan.Move]] = [:]
        for planned in plan.moves { groups[planned.next, default: []].append(planned) }
        // Before the moves: a checkpoint the run left is resolved with the rest when its task ends.
        try await save(plan.checkpoints)
        var runs = RunCounts(succeeded: plan.succeeded, failed: plan.failed)
        for (_, planned) in groups.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            // The plan's changes, whose shape depends only on the state the group moves to. The
            // totals are added from the run's figures that every move carries for the run's row.
            var columns: [BatchColumn] = []
            var fixed: [String] = []
            for change in planned[0].changes {
                switch change.kind {
                case .set: columns.append(Self.taskColumn(change.column))
                case .add where TaskTotals.columns.contains(change.column):
                    fixed.append("\(change.column) = tasks.\(change.column) + moves.\(change.column)")
                case .add: columns.append(Self.taskColumn(change.column, "tasks.\(change.column) + moves.\(change.column)"))
                case .null: fixed.append("\(change.column) = NULL")
                }
            }
            let moves = planned.map { planned in
                let outcome = planned.outcome
                let usage = outcome.usage
                var values = planned.changes.filter { $0.kind == .set || ($0.kind == .add && !TaskTotals.columns.contains($0.column)) }
                    .map { Self.sqlValue($0.value, type: Self.taskColumnTypes[$0.column]) }
                values += [
                    .int(planned.facts.attempt), .double(planned.time), .text(outcome.label), .text(planned.settler),
                    .int(usage.exitCode), .int(usage.tokensIn), .int(usage.tokensOut), .int(usage.cacheReadTokens),
                    .int(usage.cacheWriteTokens), .bool(usage.costEstimated), .text(usage.agentSessionID), .text(outcome.error),
                    .int(usage.turns), .double(usage.durationSeconds), .text(outcome.warningsText), .text(usage.toolCallsText),
                ]
                return Move(facts: planned.facts, action: planned.action, budget: planned.budget, values: values, details: planned.details)
            }
            let ends = planned[0].next.isTerminal
            try await moveAll(moves, columns: columns, carried: Self.runColumns, fixed: fixed, runs: runs, now: settlements[0].now) { sql, _, ids in
                // The tasks this group ends: their active checkpoints are resolved in the same statement.
                if ends {
                    sql.append(", ")
                    Self.appendResolution(to: &sql, ids: ids, now: settlements[0].now)
                }
                sql.append("""
                    , finished AS (UPDATE runs SET finished_at = moves.settled_at, outcome = moves.outcome,
                        settled_by = moves.settled_by, settled_state = moves.next_state, exit_code = moves.exit_code,
                        tokens_in = moves.tokens_in, tokens_out = moves.tokens_out, cache_read_tokens = moves.cache_read_tokens,
                        cache_write_tokens = moves.cache_write_tokens, cost_usd = moves.cost_usd, cost_estimated = moves.cost_estimated,
                        agent_session_id = COALESCE(moves.agent_session_id, runs.agent_session_id), error = moves.run_error,
                        turns = moves.turns, warnings = moves.warnings, tool_calls = moves.tool_calls
                    FROM moves WHERE runs.task_id = ANY(\(ids)) AND runs.task_id = moves.id AND runs.attempt = moves.run_attempt)
                    """)
            }
            runs = RunCounts()
        }
        for (task, run) in plan.released { try await returnInputs(task: task, run: run) }
        for followUp in plan.followUps {
            _ = try await insertInput(followUp.input, task: followUp.task, workspace: followUp.workspace, now: settlements[0].now)
        }
        var results: [SettleResult] = []
        for (settlement, result) in zip(settlements, plan.results) {
            if let result {
                results.append(result)
            } else {
                results.append(try await staleResult(settlement.lease, facts: facts[settlement.lease.taskID]!, settler: settler))
            }
        }
        return results
    }

    /// The parks (current or past) of the named quota groups, locked until the settle commits.
    private func parks(_ groups: Set<ScopedName>) async throws -> [ScopedName: QuotaPark] {
        guard !groups.isEmpty else { return [:] }
        let groups = Array(groups)
        var sql = SQL("""
            SELECT workspace_id, quota_group, parked_until, reason, parked_at, streak FROM quota_parks
            WHERE (workspace_id, quota_group) IN (SELECT * FROM unnest(
            """)
        sql.append(.texts(groups.map(\.workspace)))
        sql.append(", ")
        sql.append(.texts(groups.map(\.name)))
        sql.append(")) ORDER BY workspace_id, quota_group FOR UPDATE")
        var parks: [ScopedName: QuotaPark] = [:]
        for row in try await rows(sql) {
            let group = ScopedName(workspace: try row["workspace_id"].decode(String.self), name: try row["quota_group"].decode(String.self))
            parks[group] = QuotaPark(
                group: group, until: try row["parked_until"].decode(Double.self), reason: try row["reason"].decode(String.self),
                since: try row["parked_at"].decode(Double.self), streak: try row["streak"].decode(Int.self))
        }
        return parks
    }

    /// What the named agents have spent, and their budgets.
    private func agentSpend(_ names: Set<ScopedName>) async throws -> [ScopedName: AgentSpend] {
        guard !names.isEmpty else { return [:] }
        let names = Array(names)
        var sql = SQL("SELECT workspace_id, name, budget_usd, spent_usd FROM agents WHERE (workspace_id, name) IN (SELECT * FROM unnest(")
        sql.append(.texts(names.map(\.workspace)))
        sql.append(", ")
        sql.append(.texts(names.map(\.name)))
        sql.append(")) ORDER BY workspace_id, name FOR UPDATE")
        var spend: [ScopedName: AgentSpend] = [:]
        for row in try await rows(sql) {
            spend[ScopedName(workspace: try row["workspace_id"].decode(String.self), name: try row["name"].decode(String.self))] = AgentSpend(
                budget: try row["budget_usd"].decode(Double?.self), spent: try row["spent_usd"].decode(Double.self))
        }
        return spend
    }

    /// The run's end, carried by each settle's move to the `finished` expression (the run's cost
    /// is the move's `cost_usd`, which the task adds to its own).
    private static let runColumns = [
        BatchColumn("run_attempt", "bigint"), BatchColumn("settled_at", "float8"), BatchColumn("outcome", "text"),
        BatchColumn("settled_by", "text"), BatchColumn("exit_code", "bigint"), BatchColumn("tokens_in", "bigint"),
        BatchColumn("tokens_out", "bigint"), BatchColumn("cache_read_tokens", "bigint"), BatchColumn("cache_write_tokens", "bigint"),
        BatchColumn("cost_estimated", "boolean"), BatchColumn("agent_session_id", "text"), BatchColumn("run_error", "text"),
        BatchColumn("turns", "bigint"), BatchColumn("run_seconds", "float8"), BatchColumn("warnings", "text"),
        BatchColumn("tool_calls", "text"),
    ]

    /// A plan's value as a bound parameter of the column's PostgreSQL `type` (a `NULL` keeps its type).
    static func sqlValue(_ value: JSONValue, type: String?) -> SQLValue {
        switch value {
        case .int(let number): return type == "float8" ? .double(Double(number)) : .int(Int(number))
        case .double(let number): return .double(number)
        case .string(let text): return .text(text)
        case .bool(let flag): return .bool(flag)
        default:
            switch type {
            case "float8": return .double(nil)
            case "bigint": return .int(nil)
            default: return .text(nil)
            }
        }
    }

    /// Why a settle with a lease that is no longer current changes nothing: already settled by
    /// the same settler (a repeat), or stale.
    private func staleResult(_ lease: Lease, facts: TaskFacts, settler: String) async throws -> SettleResult {
        var sql = SQL("SELECT lease_token, outcome, settled_by, settled_state FROM runs WHERE task_id = ")
        sql.append(.text(lease.taskID.rawValue))
        sql.append(" AND id = ")
        sql.append(.text(lease.runID))
        let run = try await rows(sql).first
        if let run, try run["lease_token"].decode(String.self) == lease.token,
           try run["settled_by"].decode(String?.self) == settler,
           let stateText = try run["settled_state"].decode(String?.self)
        {
            return .alreadySettled(try PostgresRows.state(stateText))
        }
        let ended = try run?["outcome"].decode(String?.self)
        return .stale(reason: "lease of run \(lease.runID) is no longer current: the run ended as \(ended ?? "unknown") and the task is \(facts.state)")
    }
}
