import Foundation
import GRDB
import Nightshift
import Synchronization

/// The only code that writes `tasks.state` (``WriteTransaction/transitionAll(_:columns:fixed:now:)``):
/// asks ``Lifecycle`` for the next state, writes it with the columns the move changes, and appends
/// the task event and the hook event in the same transaction.
extension WriteTransaction {
    /// The facts of a row read with `TaskFacts.columns`, by position.
    static func facts(_ row: Row) throws -> TaskFacts {
        TaskFacts(
            id: TaskID(trusted: row[0]), agent: row[1], state: try SQLiteRows.state(row[2]), failures: row[3],
            retry: RetryPolicy(maxAttempts: row[4], initialBackoff: row[5], maxBackoff: row[6]), runID: row[7], leaseToken: row[8],
            attempt: row[9], lastSeq: row[10], budgetUSD: row[11], costUSD: row[12], interruptions: row[13], workspace: row[14],
            pendingInputs: row[15], waitingFor: try WaitingFor.decode(row[16]), pauseRequested: row[17])
    }

    /// The facts of the tasks with these ids (missing ones are left out).
    func facts(_ ids: some Collection<TaskID>) throws -> [TaskID: TaskFacts] {
        var facts: [TaskID: TaskFacts] = [:]
        facts.reserveCapacity(ids.count)
        for chunk in Array(ids).chunks(of: Self.rowsPerStatement) {
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT \(TaskFacts.columns) FROM tasks WHERE id IN (\(Self.parameters(chunk.count)))"),
                arguments: StatementArguments(chunk.map(\.rawValue)))
            while let row = try rows.next() {
                let fact = try Self.facts(row)
                facts[fact.id] = fact
            }
        }
        return facts
    }

    /// Applies `action` to one task (see ``transitionAll(_:columns:fixed:now:)``); returns its new state.
    @discardableResult
    func transition(
        _ facts: TaskFacts, _ action: LifecycleAction, now: Date,
        columns: [BatchColumn] = [], values: [(any DatabaseValueConvertible)?] = [], fixed: [String] = []
    ) throws -> TaskState {
        try transitionAll(
            [Move(facts: facts, action: action, budget: nil, values: values, details: [:])],
            columns: columns, fixed: fixed, now: now)[0]
    }

    /// One task's move in a batch written by ``transitionAll(_:columns:fixed:now:)``.
    struct Move {
        var facts: TaskFacts
        var action: LifecycleAction
        /// The retry budget after the action; the task's own when `nil`.
        var budget: RetryBudget?
        /// The move's values for the batch's columns, in their order.
        var values: [(any DatabaseValueConvertible)?]
        /// Extra members of the `state` event's data.
        var details: [String: JSONValue]
    }

    /// A column a batch sets, as `name = expression`; the expression reads the move's value as
    /// `moves.name` (by default it is just that value).
    struct BatchColumn {
        let name: String
        let expression: String

        init(_ name: String, _ expression: String? = nil) {
            self.name = name
            self.expression = expression ?? "moves.\(name)"
        }
    }

    /// Moves several tasks with one UPDATE per hundred: each move sets `columns` to its own
    /// values, and every task gets the `fixed` assignments (`column = expression` fragments).
    /// Claims and settles, which arrive in batches, use it.
    ///
    /// - Returns: the new state of each task, in the order of `moves`.
    @discardableResult
    func transitionAll(_ moves: [Move], columns: [BatchColumn], fixed: [String] = [], now: Date) throws -> [TaskState] {
        guard !moves.isEmpty else { return [] }
        var records: [TransitionRecord] = []
        records.reserveCapacity(moves.count)
        for chunk in moves.chunks(of: Self.rowsPerStatement) {
            var arguments: [(any DatabaseValueConvertible)?] = []
            var next: [TaskState] = []
            for move in chunk {
                let state = try move.facts.next(on: move.action, budget: move.budget)
                next.append(state)
                arguments += [move.facts.id.rawValue, move.facts.state.rawValue, move.facts.lastSeq, state.rawValue]
                arguments += move.values
            }
            arguments.append(now.timeIntervalSince1970)
            let sql = """
                WITH moves(id, from_state, from_seq, next_state\(columns.map { ", " + $0.name }.joined())) AS (VALUES \(Self.valueRows(chunk.count, width: 4 + columns.count)))
                UPDATE tasks SET state = moves.next_state, updated_at = ?, last_seq = last_seq + 1\(columns.map { ", \($0.name) = \($0.expression)" }.joined())\(fixed.map { ", " + $0 }.joined())
                FROM moves WHERE tasks.id = moves.id AND tasks.state = moves.from_state AND tasks.last_seq = moves.from_seq
                """
            try db.cachedStatement(sql: sql).execute(arguments: StatementArguments(arguments))
            guard db.changesCount == chunk.count else {
                throw NightshiftError(.storeUnavailable, "\(chunk.count - db.changesCount) of \(chunk.count) tasks changed during the transaction")
            }
            for (move, state) in zip(chunk, next) {
                records.append(TransitionRecord(
                    task: move.facts.id, workspace: move.facts.workspace, agent: move.facts.agent, from: move.facts.state, to: state, action: move.action,
                    seq: move.facts.lastSeq + 1, details: move.details))
            }
        }
        try recordTransitions(records, now: now)
        return records.map(\.to)
    }

    /// The most rows one multi-row statement writes (SQLite caps the number of parameters).
    static let rowsPerStatement = 100

    /// `(?, ?, …), (?, ?, …)`: `rows` rows of `width` parameters, for a multi-row VALUES.
    /// Remembered per shape: batches repeat a few shapes, and building the text showed in profiles.
    static func valueRows(_ rows: Int, width: Int) -> String {
        remembered(rows << 16 | width) {
            Array(repeating: "(" + databaseQuestionMarks(count: width) + ")", count: rows).joined(separator: ", ")
        }
    }

    /// `?, ?, …`: `count` parameters, remembered like ``valueRows(_:width:)``.
    static func parameters(_ count: Int) -> String {
        remembered(-count) { databaseQuestionMarks(count: count) }
    }

    private static let placeholderTexts = Mutex<[Int: String]>([:])

    private static func remembered(_ key: Int, _ build: () -> String) -> String {
        if let text = placeholderTexts.withLock({ $0[key] }) { return text }
        let text = build()
        placeholderTexts.withLock { $0[key] = text }
        return text
    }

    /// Appends the `state` task event (at `seq`) and the hook event of a move, and counts it.
    func recordTransition(
        task: TaskID, workspace: String, agent: String, from: TaskState?, to: TaskState, action: LifecycleAction,
        seq: Int64, now: Date, details: [String: JSONValue]
    ) throws {
        try recordTransitions(
            [TransitionRecord(task: task, workspace: workspace, agent: agent, from: from, to: to, action: action, seq: seq, details: details)],
            now: now)
    }

    /// Appends the `state` task events and hook events of several moves (two statements per
    /// hundred moves), and counts them.
    func recordTransitions(_ records: [TransitionRecord], now: Date) throws {
        let time = now.timeIntervalSince1970
        if !records.isEmpty { appendedHooks = true }
        for chunk in records.chunks(of: Self.rowsPerStatement) {
            var events: [(any DatabaseValueConvertible)?] = []
            var hooks: [(any DatabaseValueConvertible)?] = []
            for record in chunk {
                events += [record.task.rawValue, record.seq, time, "state", record.eventData, record.workspace]
                hooks += [time, record.task.rawValue, record.hookType, record.hookData, record.workspace]
                if let from = record.from { stateDeltas[from, default: 0] -= 1 }
                stateDeltas[record.to, default: 0] += 1
            }
            try db.cachedStatement(sql: "INSERT INTO task_events (task_id, seq, time, type, data, workspace_id) VALUES "
                + Self.valueRows(chunk.count, width: 6))
                .execute(arguments: StatementArguments(events))
            try db.cachedStatement(sql: "INSERT INTO hook_events (time, task_id, type, data, workspace_id) VALUES "
                + Self.valueRows(chunk.count, width: 5))
                .execute(arguments: StatementArguments(hooks))
        }
    }

    /// Appends non-state events to one task's log (nothing if the task is gone); with `lease`,
    /// only while that lease is current. Answers whether it appended.
    @discardableResult
    func appendEvents(task: TaskID, _ events: [NewTaskEvent], fencedBy lease: Lease? = nil) throws -> Bool {
        let bumped: Row?
        if let lease {
            bumped = try Row.fetchOne(
                db.cachedStatement(sql: """
                    UPDATE tasks SET last_seq = last_seq + ? WHERE id = ? AND run_id = ? AND lease_token = ? AND state = 'running'
                    RETURNING last_seq, workspace_id
                    """),
                arguments: [events.count, task.rawValue, lease.runID, lease.token])
        } else {
            bumped = try Row.fetchOne(
                db.cachedStatement(sql: "UPDATE tasks SET last_seq = last_seq + ? WHERE id = ? RETURNING last_seq, workspace_id"),
                arguments: [events.count, task.rawValue])
        }
        guard let bumped else { return false }
        let last: Int64 = bumped[0]
        let workspace: String = bumped[1]
        let insert = try db.cachedStatement(sql: "INSERT INTO task_events (task_id, seq, time, type, data, workspace_id) VALUES (?, ?, ?, ?, ?, ?)")
        var seq = last - Int64(events.count)
        for event in events {
            seq += 1
            try insert.execute(arguments: [task.rawValue, seq, event.time.timeIntervalSince1970, event.type, event.data.jsonText, workspace])
        }
        return true
    }
}
