import Foundation
import Nightshift
import PostgresNIO

/// The only code that writes `tasks.state` (``Transaction/move(_:_:budget:set:fixed:details:now:)``):
/// asks ``Lifecycle`` for the next state, writes it with the columns the move changes, and appends
/// the task event and the hook event in the same transaction.
extension Transaction {
    /// A task row's facts that a transition needs.
    struct TaskFacts {
        var id: TaskID
        var agent: String
        var state: TaskState
        var failures: Int
        var retry: RetryPolicy
        var runID: String?
        var leaseToken: String?
        var attempt: Int
        var lastSeq: Int64
        var budgetUSD: Double?
        var costUSD: Double

        static let columns = """
            id, agent, state, failures, max_attempts, initial_backoff, max_backoff, run_id, lease_token, attempt, last_seq,
            budget_usd, cost_usd
            """

        init(_ row: PostgresRandomAccessRow) throws {
            id = TaskID(trusted: try row["id"].decode(String.self))
            agent = try row["agent"].decode(String.self)
            state = try PostgresRows.state(row["state"].decode(String.self))
            failures = try row["failures"].decode(Int.self)
            retry = try PostgresRows.retry(row)
            runID = try row["run_id"].decode(String?.self)
            leaseToken = try row["lease_token"].decode(String?.self)
            attempt = try row["attempt"].decode(Int.self)
            lastSeq = Int64(try row["last_seq"].decode(Int.self))
            budgetUSD = try row["budget_usd"].decode(Double?.self)
            costUSD = try row["cost_usd"].decode(Double.self)
        }
    }

    /// The facts of one task, with its row locked until the transaction ends.
    func lockedFacts(_ id: TaskID) async throws -> TaskFacts? {
        try await rows(SQL("SELECT \(TaskFacts.columns) FROM tasks WHERE id = ").appending(.text(id.rawValue), " FOR UPDATE"))
            .first.map(TaskFacts.init)
    }

    /// The task with this id, read inside the transaction.
    func task(_ id: TaskID) async throws -> AgentTask? {
        try await rows(SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE id = ").appending(.text(id.rawValue)))
            .first.map(PostgresRows.task)
    }

    /// Applies `action` to a task whose row this transaction locked: writes the new state and the
    /// `set` columns (`fixed` are `column = expression` fragments), then records the move.
    ///
    /// - Parameter budget: the retry budget after the action; the task's own when `nil`.
    @discardableResult
    func move(
        _ facts: TaskFacts, _ action: LifecycleAction, budget: RetryBudget? = nil,
        set: [(String, SQLValue)] = [], fixed: [String] = [], details: [String: JSONValue] = [:], now: Date
    ) async throws -> TaskState {
        let next: TaskState
        do {
            next = try Lifecycle.next(
                from: facts.state, on: action, task: facts.id,
                budget: budget ?? RetryBudget(failures: facts.failures, maxAttempts: facts.retry.maxAttempts))
        } catch {
            throw NightshiftError(error)
        }
        // One statement (one round trip) for the move and its two events; the hook counter row is
        // touched only when the task row matched.
        var sql = SQL("WITH moved AS (UPDATE tasks SET state = ")
        sql.append(.text(next.rawValue))
        sql.append(", updated_at = ")
        sql.append(.double(now.timeIntervalSince1970))
        sql.append(", last_seq = last_seq + 1")
        for (column, value) in set {
            sql.append(", \(column) = ")
            sql.append(value)
        }
        for fragment in fixed { sql.append(", " + fragment) }
        sql.append(" WHERE id = ")
        sql.append(.text(facts.id.rawValue))
        sql.append(" AND state = ")
        sql.append(.text(facts.state.rawValue))
        sql.append(" AND last_seq = ")
        sql.append(.int(Int(facts.lastSeq)))
        sql.append(" RETURNING id), ")
        Self.appendRecord(
            to: &sql, gate: "moved", task: facts.id, agent: facts.agent, from: facts.state, to: next, action: action,
            seq: facts.lastSeq + 1, details: details, now: now)
        guard try await rows(sql).count == 1 else {
            throw NightshiftError(.storeUnavailable, "task \(facts.id) changed during the transaction")
        }
        return next
    }

    /// Appends the `state` task event (at `seq`) and the hook event of a move.
    func record(
        task: TaskID, agent: String, from: TaskState?, to: TaskState, action: LifecycleAction, seq: Int64,
        details: [String: JSONValue], now: Date
    ) async throws {
        var sql = SQL("WITH ")
        Self.appendRecord(
            to: &sql, gate: nil, task: task, agent: agent, from: from, to: to, action: action, seq: seq, details: details, now: now)
        try await rows(sql)
    }

    /// Appends `event AS (…), next AS (…) INSERT INTO hook_events … RETURNING seq`: the `state` task
    /// event and the hook event (its seq from the counter row), both only if the CTE named `gate`
    /// (when given) returned a row.
    private static func appendRecord(
        to sql: inout SQL, gate: String?, task: TaskID, agent: String, from: TaskState?, to: TaskState,
        action: LifecycleAction, seq: Int64, details: [String: JSONValue], now: Date
    ) {
        let fromValue: JSONValue = from.map { .string($0.rawValue) } ?? .null
        var data = details
        data["from"] = fromValue
        data["to"] = .string(to.rawValue)
        data["action"] = .string(action.name)
        let time = now.timeIntervalSince1970
        sql.append("event AS (INSERT INTO task_events (task_id, seq, time, type, data) SELECT ")
        sql.append(list: [.text(task.rawValue), .int(Int(seq)), .double(time), .text("state"), .text(JSONValue.object(data).jsonText)])
        sql.append(gate.map { " FROM \($0)" } ?? "")
        sql.append("), next AS (UPDATE counters SET n = n + 1 WHERE name = 'hook_seq'")
        sql.append(gate.map { " AND EXISTS (SELECT 1 FROM \($0))" } ?? "")
        sql.append(" RETURNING n) INSERT INTO hook_events (seq, time, task_id, type, data) SELECT next.n, ")
        let hook: JSONValue = ["from": fromValue, "to": .string(to.rawValue), "agent": .string(agent), "action": .string(action.name)]
        sql.append(list: [.double(time), .text(task.rawValue), .text(HookEvent.type(for: to)), .text(hook.jsonText)])
        sql.append(" FROM next RETURNING seq")
        // Nodes listening for work wake up when this commits (NOTIFY is delivered at commit, and
        // repeats within one transaction coalesce).
        if to == .queued { sql.append(", pg_notify(\(PostgresTaskStore.queuedChannelSQL), '')") }
    }

    /// Takes the hook stream's counter row lock now (it is held to the end of the transaction), so
    /// that writers which must see each other's commits (depth cap, dedup) run one at a time.
    ///
    /// Lock order: task rows first, then this lock. A transaction holding it never waits for a
    /// task row (claims and rescues skip locked rows), so no cycle of waits can form.
    func lockHookStream() async throws {
        try await rows("SELECT n FROM counters WHERE name = 'hook_seq' FOR UPDATE")
    }

    /// Adds `delta` to a run counter (`runs_started`, `runs_succeeded`, `runs_failed`).
    func count(_ counter: String, _ delta: Int) async throws {
        guard delta != 0 else { return }
        var sql = SQL("UPDATE counters SET n = n + ")
        sql.append(.int(delta))
        sql.append(" WHERE name = ")
        sql.append(.text(counter))
        try await rows(sql)
    }

    /// Appends non-state events to one task's log (nothing if the task is gone).
    func appendEvents(task: TaskID, _ events: [NewTaskEvent]) async throws {
        guard !events.isEmpty else { return }
        var bump = SQL("UPDATE tasks SET last_seq = last_seq + ")
        bump.append(.int(events.count))
        bump.append(" WHERE id = ")
        bump.append(.text(task.rawValue))
        bump.append(" RETURNING last_seq")
        guard let last = try await rows(bump).first.map({ try $0["last_seq"].decode(Int.self) }) else { return }
        var seq = last - events.count
        var insert = SQL("INSERT INTO task_events (task_id, seq, time, type, data) VALUES ")
        for (index, event) in events.enumerated() {
            seq += 1
            if index > 0 { insert.append(", ") }
            insert.append("(")
            insert.append(list: [
                .text(task.rawValue), .int(seq), .double(event.time.timeIntervalSince1970), .text(event.type),
                .text(event.data.jsonText),
            ])
            insert.append(")")
        }
        try await rows(insert)
    }
}

extension SQL {
    /// Binds `values` as a comma-separated list of placeholders.
    mutating func append(list values: [SQLValue]) {
        append(values.map { bind($0) }.joined(separator: ", "))
    }

    /// This query with `value` bound and `suffix` appended.
    func appending(_ value: SQLValue, _ suffix: String = "") -> SQL {
        var copy = self
        copy.append(value)
        copy.append(suffix)
        return copy
    }
}
