import Foundation
import Nightshift
import PostgresNIO

extension Transaction {
    /// Records the end of one run, fenced on its lease: the task row is locked, and nothing
    /// changes unless the lease is still the task's current one.
    func settle(_ lease: Lease, outcome settled: RunOutcome, by settler: String, now: Date) async throws -> SettleResult {
        guard let current = try await lockedFacts(lease.taskID) else {
            return .stale(reason: "task \(lease.taskID) does not exist")
        }
        guard current.state == .running, current.runID == lease.runID, current.leaseToken == lease.token else {
            return try await staleResult(lease, facts: current, settler: settler)
        }
        var outcome = settled
        let time = now.timeIntervalSince1970
        let cost = outcome.usage.costUSD
        // An agent's budget matters only when this run cost something.
        var agent: (budget: Double?, spent: Double)?
        if cost > 0 {
            var sql = SQL("UPDATE agents SET spent_usd = spent_usd + ")
            sql.append(.double(cost))
            sql.append(" WHERE name = ")
            sql.append(.text(current.agent))
            sql.append(" RETURNING budget_usd, spent_usd")
            if let row = try await rows(sql).first {
                agent = (try row["budget_usd"].decode(Double?.self), try row["spent_usd"].decode(Double.self))
            }
        }
        if case .failed(retryable: true) = outcome.resolution,
           let exceeded = Budget.exceeded(
               agent: current.agent, taskSpent: current.costUSD + cost, taskBudget: current.budgetUSD,
               agentSpent: agent?.spent ?? 0, agentBudget: agent?.budget)
        {
            outcome.resolution = .failed(retryable: false)
            outcome.error = [exceeded, outcome.error].compactMap { $0 }.joined(separator: "; last run: ")
        }
        var failures = current.failures
        if case .failed = outcome.resolution { failures += 1 }
        let budget = RetryBudget(failures: failures, maxAttempts: current.retry.maxAttempts)
        let action = LifecycleAction.settle(outcome.resolution)
        let next: TaskState
        do {
            next = try Lifecycle.next(from: current.state, on: action, task: current.id, budget: budget)
        } catch {
            throw NightshiftError(error)
        }
        var set: [(String, SQLValue)] = [("failures", .int(failures))]
        var fixed = ["lease_expires_at = NULL", "lease_token = NULL"]
        var details: [String: JSONValue] = ["run_id": .string(lease.runID), "outcome": .string(outcome.label)]
        switch next {
        case .done:
            set += [("result", .text(outcome.result)), ("finished_at", .double(time))]
            fixed.append("error = NULL")
        case .error:
            set += [("error", .text(outcome.error)), ("finished_at", .double(time))]
            details["error"] = outcome.error.map(JSONValue.string) ?? .null
        case .queued:
            let delay = outcome.resolution == .released
                ? 0 : current.retry.delay(afterFailure: failures, random: Double.random(in: 0..<1))
            set += [("available_at", .double(time + delay)), ("error", .text(outcome.error))]
            details["retry_in"] = .double((delay * 1000).rounded() / 1000)
            if let error = outcome.error { details["error"] = .string(error) }
        case .waiting:
            set += [("wake_at", .double(outcome.wakeAt?.timeIntervalSince1970))]
            if let wakeAt = outcome.wakeAt { details["wake_at"] = .double(wakeAt.timeIntervalSince1970) }
            if let message = outcome.message { details["message"] = .string(message) }
        default:
            break
        }
        if cost > 0 { set.append(("cost_usd", .double(current.costUSD + cost))) }
        try await move(current, action, budget: budget, set: set, fixed: fixed, details: details, now: now)
        let usage = outcome.usage
        var run = SQL("UPDATE runs SET finished_at = ")
        run.append(.double(time))
        let columns: [(String, SQLValue)] = [
            ("outcome", .text(outcome.label)), ("settled_by", .text(settler)), ("settled_state", .text(next.rawValue)),
            ("exit_code", .int(usage.exitCode)), ("tokens_in", .int(usage.tokensIn)), ("tokens_out", .int(usage.tokensOut)),
            ("cache_read_tokens", .int(usage.cacheReadTokens)), ("cache_write_tokens", .int(usage.cacheWriteTokens)),
            ("cost_usd", .double(usage.costUSD)), ("cost_estimated", .bool(usage.costEstimated)), ("error", .text(outcome.error)),
        ]
        for (column, value) in columns {
            run.append(", \(column) = ")
            run.append(value)
        }
        run.append(", agent_session_id = COALESCE(")
        run.append(.text(usage.agentSessionID))
        run.append(", agent_session_id) WHERE task_id = ")
        run.append(.text(lease.taskID.rawValue))
        run.append(" AND attempt = ")
        run.append(.int(current.attempt))
        try await rows(run)
        switch outcome.resolution {
        case .succeeded: try await count("runs_succeeded", 1)
        case .failed: try await count("runs_failed", 1)
        default: break
        }
        return .settled(next)
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
