import Foundation
import GRDB
import Nightshift

/// The only code that writes `tasks.state`: asks ``Lifecycle`` for the next state, writes it with
/// the columns the move changes, and appends the task event and the hook event in the same
/// transaction.
extension WriteTransaction {
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

        static let columns = "id, agent, state, failures, max_attempts, initial_backoff, max_backoff, run_id, lease_token, attempt"

        /// From a row read with ``columns``, by position.
        init(_ row: Row) throws {
            id = TaskID(trusted: row[0])
            agent = row[1]
            state = try SQLiteRows.state(row[2])
            failures = row[3]
            retry = RetryPolicy(maxAttempts: row[4], initialBackoff: row[5], maxBackoff: row[6])
            runID = row[7]
            leaseToken = row[8]
            attempt = row[9]
        }

        /// From a task read with `SQLiteRows.taskColumns`.
        init(_ task: AgentTask, runID: String?, leaseToken: String?) {
            id = task.id
            agent = task.agent
            state = task.state
            failures = task.failures
            retry = task.retry
            self.runID = runID
            self.leaseToken = leaseToken
            attempt = task.attempt
        }
    }

    /// The facts of task `id`, or `nil` when it does not exist.
    func facts(_ id: TaskID) throws -> TaskFacts? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(TaskFacts.columns) FROM tasks WHERE id = ?"), arguments: [id.rawValue])
            .map(TaskFacts.init)
    }

    /// Applies `action` to the task and writes the result.
    ///
    /// - Parameters:
    ///   - budget: the retry budget after this action (failures counting a failed run being settled).
    ///   - assignments: further columns to set, as `column = ?` fragments with their values.
    ///   - details: extra members of the `state` event's data.
    /// - Returns: the new state.
    @discardableResult
    func transition(
        _ facts: TaskFacts,
        _ action: LifecycleAction,
        budget: RetryBudget? = nil,
        now: Date,
        assignments: [(String, (any DatabaseValueConvertible)?)] = [],
        details: [String: JSONValue] = [:]
    ) throws -> TaskState {
        let next: TaskState
        do {
            next = try Lifecycle.next(
                from: facts.state, on: action, task: facts.id,
                budget: budget ?? RetryBudget(failures: facts.failures, maxAttempts: facts.retry.maxAttempts))
        } catch {
            throw NightshiftError(error)
        }
        var sql = "UPDATE tasks SET state = ?, updated_at = ?, last_seq = last_seq + 1"
        var arguments: [(any DatabaseValueConvertible)?] = [next.rawValue, now.timeIntervalSince1970]
        for (fragment, value) in assignments {
            sql += ", " + fragment
            arguments.append(value)
        }
        sql += " WHERE id = ? AND state = ? RETURNING last_seq"
        arguments.append(facts.id.rawValue)
        arguments.append(facts.state.rawValue)
        guard let seq = try Int64.fetchOne(db.cachedStatement(sql: sql), arguments: StatementArguments(arguments)) else {
            throw NightshiftError(.storeUnavailable, "task \(facts.id) changed state during the transaction")
        }
        try recordTransition(task: facts.id, agent: facts.agent, from: facts.state, to: next, action: action,
                             seq: seq, now: now, details: details)
        return next
    }

    /// Appends the `state` task event (at `seq`) and the hook event of a move, and counts it.
    func recordTransition(
        task: TaskID, agent: String, from: TaskState?, to: TaskState, action: LifecycleAction,
        seq: Int64, now: Date, details: [String: JSONValue]
    ) throws {
        var data = details
        data["from"] = from.map { .string($0.rawValue) } ?? .null
        data["to"] = .string(to.rawValue)
        data["action"] = .string(action.name)
        let time = now.timeIntervalSince1970
        try db.cachedStatement(sql: "INSERT INTO task_events (task_id, seq, time, type, data) VALUES (?, ?, ?, 'state', ?)")
            .execute(arguments: [task.rawValue, seq, time, JSONValue.object(data).jsonText])
        let hook: JSONValue = [
            "from": from.map { .string($0.rawValue) } ?? .null, "to": .string(to.rawValue),
            "agent": .string(agent), "action": .string(action.name),
        ]
        try db.cachedStatement(sql: "INSERT INTO hook_events (time, task_id, type, data) VALUES (?, ?, ?, ?)")
            .execute(arguments: [time, task.rawValue, HookEvent.type(for: to), hook.jsonText])
        if let from { stateDeltas[from, default: 0] -= 1 }
        stateDeltas[to, default: 0] += 1
    }

    /// Appends non-state events to one task's log (nothing if the task is gone).
    func appendEvents(task: TaskID, _ events: [NewTaskEvent]) throws {
        guard let last = try Int64.fetchOne(
            db.cachedStatement(sql: "UPDATE tasks SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq"),
            arguments: [events.count, task.rawValue])
        else { return }
        let insert = try db.cachedStatement(sql: "INSERT INTO task_events (task_id, seq, time, type, data) VALUES (?, ?, ?, ?, ?)")
        var seq = last - Int64(events.count)
        for event in events {
            seq += 1
            try insert.execute(arguments: [task.rawValue, seq, event.time.timeIntervalSince1970, event.type, event.data.jsonText])
        }
    }
}
