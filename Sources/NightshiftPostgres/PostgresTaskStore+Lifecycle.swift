import Foundation
import Nightshift
import PostgresNIO

/// The only code that writes `tasks.state` (``Transaction/moveAll(_:columns:fixed:runs:now:also:)``):
/// asks ``Lifecycle`` for the next state, writes it with the columns the move changes, and appends
/// the task event and the hook event in the same statement.
extension Transaction {
    /// The facts of one task, with its row locked until the transaction ends.
    func lockedFacts(_ id: TaskID) async throws -> TaskFacts? {
        try await lockedFacts([id])[id]
    }

    /// The facts of these tasks (missing ones are left out), their rows locked until the
    /// transaction ends, in id order (so two batches never wait on each other in a cycle).
    func lockedFacts(_ ids: some Collection<TaskID>) async throws -> [TaskID: TaskFacts] {
        guard !ids.isEmpty else { return [:] }
        var sql = SQL("SELECT \(TaskFacts.columns) FROM tasks WHERE id = ANY(")
        sql.append(.texts(Set(ids).map(\.rawValue)))
        sql.append(") ORDER BY id FOR UPDATE")
        var facts: [TaskID: TaskFacts] = [:]
        for row in try await rows(sql) {
            let fact = try PostgresRows.facts(row)
            facts[fact.id] = fact
        }
        return facts
    }

    /// The task with this id (if it is `workspace`'s, when one is given), read inside the transaction.
    func task(_ id: TaskID, workspace: String? = nil) async throws -> AgentTask? {
        var sql = SQL("SELECT \(PostgresRows.taskColumns) FROM tasks WHERE id = ").appending(.text(id.rawValue))
        if let workspace {
            sql.append(" AND workspace_id = ")
            sql.append(.text(workspace))
        }
        return try await rows(sql).first.map(PostgresRows.task)
    }

    /// One task's move in a batch written by ``moveAll(_:columns:carried:fixed:runs:now:also:)``.
    struct Move {
        var facts: TaskFacts
        var action: LifecycleAction
        /// The retry budget after the action; the task's own when `nil`.
        var budget: RetryBudget?
        /// The move's values for the batch's columns, then its carried values, in their order.
        var values: [SQLValue] = []
        /// Extra members of the `state` event's data.
        var details: [String: JSONValue] = [:]
    }

    /// A value each move of a batch has, of an SQL `type`. As a column, the batch sets `name =
    /// expression`, where the expression reads the move's value as `moves.name` (by default it is
    /// just that value).
    struct BatchColumn {
        let name: String
        let type: String
        let expression: String

        init(_ name: String, _ type: String, _ expression: String? = nil) {
            self.name = name
            self.type = type
            self.expression = expression ?? "moves.\(name)"
        }
    }

    /// Runs started, succeeded and failed, added to the totals by the statement that records moves.
    struct RunCounts {
        var started = 0
        var succeeded = 0
        var failed = 0
    }

    /// The most moves one statement writes.
    static let movesPerStatement = 500

    /// Applies `action` to one task whose row this transaction locked (see ``moveAll(_:columns:carried:fixed:runs:now:also:)``).
    @discardableResult
    func move(
        _ facts: TaskFacts, _ action: LifecycleAction, set: [(BatchColumn, SQLValue)] = [], fixed: [String] = [], now: Date
    ) async throws -> TaskState {
        try await moveAll([Move(facts: facts, action: action, values: set.map(\.1))], columns: set.map(\.0), fixed: fixed, now: now)[0]
    }

    /// Moves tasks whose rows this transaction locked, with one statement per 500: each move sets
    /// `columns` to its own values and every task gets the `fixed` assignments (`column =
    /// expression` fragments); the same statement appends each move's `state` task event and hook
    /// event, adds `runs` to the run totals, and runs the common table expressions `also` appends
    /// (each as `, name AS (…)`, reading the moves of its statement, with their `carried` values, as
    /// `moves`).
    ///
    /// The moves travel as one JSON parameter, so the statement's text depends only on its columns
    /// and is prepared once per connection.
    ///
    /// - Returns: the new state of each task, in the order of `moves`.
    @discardableResult
    func moveAll(
        _ moves: [Move], columns: [BatchColumn], carried: [BatchColumn] = [], fixed: [String] = [], runs: RunCounts = RunCounts(),
        now: Date, also: ((inout SQL, _ time: String, _ ids: String) -> Void)? = nil
    ) async throws -> [TaskState] {
        guard !moves.isEmpty else { return [] }
        var states: [TaskState] = []
        states.reserveCapacity(moves.count)
        for (number, chunk) in moves.chunks(of: Self.movesPerStatement).enumerated() {
            var rows: [[(key: String, value: JSONValue)]] = []
            rows.reserveCapacity(chunk.count)
            var next: [TaskState] = []
            for (index, move) in chunk.enumerated() {
                let state = try move.facts.next(on: move.action, budget: move.budget)
                next.append(state)
                let record = TransitionRecord(
                    task: move.facts.id, workspace: move.facts.workspace, agent: move.facts.agent, from: move.facts.state, to: state, action: move.action,
                    seq: move.facts.lastSeq + 1, details: move.details)
                var row = Self.row(record, ord: index + 1)
                row.append((key: "next_state", value: .string(state.rawValue)))
                for (column, value) in zip(columns + carried, move.values) { row.append((key: column.name, value: value.json)) }
                rows.append(row)
            }
            let fields = [
                "id text", "from_state text", "from_seq bigint", "next_state text", "ord bigint", "event text", "hook_type text",
                "hook text", "workspace_id text",
            ] + (columns + carried).map { "\($0.name) \($0.type)" }
            var sql = SQL("WITH moves AS (SELECT * FROM jsonb_to_recordset(")
            sql.append(.json(JSONValue.rowsText(rows)))
            sql.append(") AS m(\(fields.joined(separator: ", ")))), moved AS (UPDATE tasks SET state = moves.next_state, updated_at = ")
            let time = sql.bind(.double(now.timeIntervalSince1970))
            sql.append(time)
            sql.append(", last_seq = tasks.last_seq + 1")
            for column in columns { sql.append(", \(column.name) = \(column.expression)") }
            for fragment in fixed { sql.append(", " + fragment) }
            // The ids again as an array: the plan is generic, and only `id = ANY(…)` makes it reach
            // the rows through the primary key rather than by scanning the table.
            let ids = sql.bind(.texts(chunk.map(\.facts.id.rawValue)))
            sql.append("""
                 FROM moves WHERE tasks.id = ANY(\(ids)) AND tasks.id = moves.id AND tasks.state = moves.from_state
                 AND tasks.last_seq = moves.from_seq RETURNING tasks.id)
                """)
            Self.appendRecords(
                to: &sql, time: time, runs: number == 0 ? runs : RunCounts(), notify: next.contains(.queued))
            hooks.mark()
            also?(&sql, time, ids)
            sql.append(" SELECT (SELECT count(*) FROM moved) AS moved, (SELECT count(*) FROM notified) AS notified")
            let moved = try await self.rows(sql).first.map { try $0["moved"].decode(Int.self) } ?? 0
            guard moved == chunk.count else {
                throw NightshiftError(.storeUnavailable, "\(chunk.count - moved) of \(chunk.count) tasks changed during the transaction")
            }
            states += next
        }
        return states
    }

    /// The members of a `moves` row that ``appendRecords(to:time:runs:notify:notifyGate:)`` reads.
    static func row(_ record: TransitionRecord, ord: Int) -> [(key: String, value: JSONValue)] {
        [
            ("id", .string(record.task.rawValue)), ("from_state", record.from.map { .string($0.rawValue) } ?? .null),
            ("from_seq", .int(record.seq - 1)), ("ord", .int(Int64(ord))), ("event", .string(record.eventData)),
            ("hook_type", .string(record.hookType)), ("hook", .string(record.hookData)), ("workspace_id", .string(record.workspace)),
        ]
    }

    /// Appends `, events AS (…), hooks AS (…), [totals AS (…),] notified AS (…)`: the `state`
    /// task event (at `from_seq + 1`) and the pending hook event of each row of the `moves`
    /// expression (numbered later by the sequencer, in `ord` order within the statement); the run
    /// totals when `runs` counts any; a NOTIFY of the queued channel when `notify` and, with a
    /// `notifyGate` (the name of an earlier expression), only if the gate returned rows; and one of
    /// the hooks channel when there are moves.
    static func appendRecords(to sql: inout SQL, time: String, runs: RunCounts, notify: Bool, notifyGate: String? = nil) {
        sql.append(", events AS (INSERT INTO task_events (task_id, seq, time, type, data, workspace_id) ")
        sql.append("SELECT id, from_seq + 1, \(time), 'state', event, workspace_id FROM moves)")
        sql.append(", hooks AS (INSERT INTO hook_pending (time, task_id, type, data, workspace_id) ")
        sql.append("SELECT \(time), moves.id, moves.hook_type, moves.hook, moves.workspace_id FROM moves ORDER BY moves.ord)")
        if runs.started != 0 || runs.succeeded != 0 || runs.failed != 0 {
            sql.append(", totals AS (UPDATE run_totals SET started = started + ")
            sql.append(.int(runs.started))
            sql.append(", succeeded = succeeded + ")
            sql.append(.int(runs.succeeded))
            sql.append(", failed = failed + ")
            sql.append(.int(runs.failed))
            sql.append(" WHERE shard = \(Self.runTotalsShard))")
        }
        // Nodes listening for work wake up when this commits, if it made a task queued (NOTIFY is
        // delivered at commit; repeats within one transaction coalesce); so do the change feed's
        // readers. Other moves are told to the feed by the store's coalesced notice after the
        // commit (``PostgresTaskStore/noticeHooks()``): a notification per statement would cost
        // the server a wake-up of every listening connection per batch.
        sql.append(", notified AS (SELECT pg_notify(\(PostgresTaskStore.changesChannelSQL), '\(PostgresTaskStore.queuedPayload)') WHERE ")
        sql.append(.bool(notify))
        sql.append("\(notifyGate.map { " AND EXISTS (SELECT 1 FROM \($0))" } ?? "")")
        sql.append(")")
    }

    /// The `run_totals` row a statement adds to: its server process's.
    static let runTotalsShard = "pg_backend_pid() % 64"

    /// Takes a lock held to the end of the transaction, so that writers which must see each
    /// other's commits (depth cap, a revived dedup key) run one at a time.
    ///
    /// Lock order: task rows first, then this lock. A transaction holding it never waits for a
    /// task row (claims and rescues skip locked rows), so no cycle of waits can form.
    func lockCheckedWriters() async throws {
        try await rows("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.nightshift.checked'))")
    }

    /// Tasks waiting to run (queued, waiting, paused): what the depth cap counts. Exact only under
    /// ``lockCheckedWriters()``, which every write that can add to it takes.
    func queueDepth() async throws -> Int {
        try await rows("SELECT count(*) AS n FROM tasks WHERE state IN ('queued', 'waiting', 'paused')")
            .first.map { try $0["n"].decode(Int.self) } ?? 0
    }

    /// Appends non-state events to one task's log (nothing if the task is gone); with `lease`,
    /// only while that lease is current. Answers whether it appended.
    @discardableResult
    func appendEvents(task: TaskID, _ events: [NewTaskEvent], fencedBy lease: Lease? = nil) async throws -> Bool {
        try await appendEvents(task: task, events, steps: [], fencedBy: lease)
    }
}

extension Transaction {
    /// Appends `events` to a task's log and records workflow `steps` (replacing those at their
    /// positions) in one statement, if `lease` (when given) is still current; answers whether the
    /// task was written.
    func appendEvents(task: TaskID, _ events: [NewTaskEvent], steps: [WorkflowStep], fencedBy lease: Lease?) async throws -> Bool {
        guard !events.isEmpty else { return true }
        let members: [JSONValue] = events.enumerated().map { .object(Self.record(of: $1, ord: $0 + 1)) }
        let records: [JSONValue] = Self.latest(steps).map { .object(Self.record(of: $0)) }
        var sql = SQL("WITH bumped AS (UPDATE tasks SET last_seq = last_seq + ")
        sql.append(.int(events.count))
        sql.append(" WHERE id = ")
        let id = sql.bind(.text(task.rawValue))
        sql.append(id)
        if let lease { sql.append(fence: lease) }
        sql.append(" RETURNING last_seq, workspace_id), logged AS (INSERT INTO task_events (task_id, seq, time, type, data, workspace_id) SELECT \(id), bumped.last_seq - ")
        sql.append(.int(events.count))
        sql.append(" + e.ord, e.time, e.type, e.data, bumped.workspace_id FROM bumped, jsonb_to_recordset(")
        sql.append(.json(JSONValue.array(members).jsonText))
        sql.append(") AS e(ord bigint, time float8, type text, data text))")
        if !records.isEmpty {
            sql.append(", recorded AS (\(Self.stepInsert) SELECT \(id), \(Self.stepValues) FROM bumped, jsonb_to_recordset(")
            sql.append(.json(JSONValue.array(records).jsonText))
            sql.append(") AS s(\(Self.stepRecordColumns)) \(Self.stepUpsert))")
        }
        sql.append(" SELECT 1 AS current FROM bumped")
        return try await !rows(sql).isEmpty
    }

    /// The columns of a step's row, besides its task: the INSERT of both statements that record steps.
    static let stepInsert = "INSERT INTO task_steps (task_id, position, name, state, output, error, attempts, run_id, started_at, finished_at)"
    /// The values of ``stepInsert`` besides the task, from the step records `s`.
    static let stepValues = "s.position, s.name, s.state, s.output, s.error, s.attempts, s.run_id, s.started_at, s.finished_at"
    /// The step records' columns as `jsonb_to_recordset` reads them (``record(of:)``'s members).
    static let stepRecordColumns =
        "position bigint, name text, state text, output text, error text, attempts bigint, run_id text, started_at float8, finished_at float8"
    /// A step recorded again at its position replaces the earlier record.
    static let stepUpsert = """
        ON CONFLICT (task_id, position) DO UPDATE SET name = excluded.name, state = excluded.state, output = excluded.output, \
        error = excluded.error, attempts = excluded.attempts, run_id = excluded.run_id, started_at = excluded.started_at, \
        finished_at = excluded.finished_at
        """

    /// One step per position, the last record of it (as SQLite's INSERT OR REPLACE would keep), by position.
    static func latest(_ steps: [WorkflowStep]) -> [WorkflowStep] {
        Dictionary(steps.map { ($0.position, $0) }, uniquingKeysWith: { $1 }).values.sorted { $0.position < $1.position }
    }

    /// An event's columns as a JSON object, for `jsonb_to_recordset`, at `ord` (from 1) in its write.
    static func record(of event: NewTaskEvent, ord: Int) -> [String: JSONValue] {
        [
            "ord": .int(Int64(ord)), "time": .double(event.time.timeIntervalSince1970), "type": .string(event.type),
            "data": .string(event.data.jsonText),
        ]
    }

    /// A step's columns as a JSON object, for `jsonb_to_recordset`.
    static func record(of step: WorkflowStep) -> [String: JSONValue] {
        [
            "position": .int(Int64(step.position)), "name": .string(step.name), "state": .string(step.state.rawValue),
            "output": step.output.map { .string($0.jsonText) } ?? .null, "error": step.error.map(JSONValue.string) ?? .null,
            "attempts": .int(Int64(step.attempts)), "run_id": .string(step.runID),
            "started_at": .double(step.startedAt.timeIntervalSince1970), "finished_at": .double(step.finishedAt.timeIntervalSince1970),
        ]
    }

    /// Several runs' writes of events and steps (no other facts), each fenced by its own lease, in
    /// one statement: whether each was written, in order. One write alone is ``appendEvents(task:_:steps:fencedBy:)``.
    func appendRunWrites(_ writes: [RunWrite]) async throws -> [Bool] {
        if writes.count == 1, let write = writes.first {
            return [try await appendEvents(task: write.lease.taskID, write.events, steps: write.steps, fencedBy: write.lease)]
        }
        var fences: [JSONValue] = []
        var events: [JSONValue] = []
        var records: [JSONValue] = []
        for (index, write) in writes.enumerated() {
            let ordinal = JSONValue.int(Int64(index))
            fences.append([
                "w": ordinal, "task": .string(write.lease.taskID.rawValue), "run": .string(write.lease.runID),
                "token": .string(write.lease.token), "n": .int(Int64(write.events.count)),
            ])
            for (offset, event) in write.events.enumerated() {
                events.append(.object(Self.record(of: event, ord: offset + 1).merging(["w": ordinal]) { $1 }))
            }
            for step in Self.latest(write.steps) {
                records.append(.object(Self.record(of: step).merging(["w": ordinal]) { $1 }))
            }
        }
        var sql = SQL("WITH w AS (SELECT * FROM jsonb_to_recordset(")
        sql.append(.json(JSONValue.array(fences).jsonText))
        sql.append("""
            ) AS w(w bigint, task text, run text, token text, n bigint) ORDER BY task), bumped AS (UPDATE tasks SET last_seq = tasks.last_seq + w.n
            FROM w WHERE tasks.id = w.task AND tasks.run_id = w.run AND tasks.lease_token = w.token AND tasks.state = 'running'
            RETURNING w.w, w.n, tasks.id, tasks.last_seq, tasks.workspace_id), logged AS (INSERT INTO task_events (task_id, seq, time, type,
            data, workspace_id) SELECT b.id, b.last_seq - b.n + e.ord, e.time, e.type, e.data, b.workspace_id FROM bumped b JOIN jsonb_to_recordset(
            """)
        sql.append(.json(JSONValue.array(events).jsonText))
        sql.append(") AS e(w bigint, ord bigint, time float8, type text, data text) ON e.w = b.w), ")
        sql.append("recorded AS (\(Self.stepInsert) SELECT b.id, \(Self.stepValues) FROM bumped b JOIN jsonb_to_recordset(")
        sql.append(.json(JSONValue.array(records).jsonText))
        sql.append(") AS s(w bigint, \(Self.stepRecordColumns)) ON s.w = b.w \(Self.stepUpsert)) SELECT w FROM bumped")
        let written = Set(try await rows(sql).map { try $0["w"].decode(Int.self) })
        return writes.indices.map(written.contains)
    }

    /// Whether `lease` is still its task's current lease (the task runs that run under that
    /// token), locking the task's row with `lock` (`FOR SHARE`, `FOR UPDATE`) until the end of
    /// the transaction: the fence of a run's writes.
    func holds(_ lease: Lease, lock: String) async throws -> Bool {
        var sql = SQL("SELECT 1 AS current FROM tasks WHERE id = ")
        sql.append(.text(lease.taskID.rawValue))
        sql.append(fence: lease)
        sql.append(" " + lock)
        return try await !rows(sql).isEmpty
    }
}

extension SQL {
    /// ` AND run_id = … AND lease_token = … AND state = 'running'`: the condition on a task's row
    /// that `lease` is still current.
    mutating func append(fence lease: Lease) {
        append(" AND run_id = ")
        append(.text(lease.runID))
        append(" AND lease_token = ")
        append(.text(lease.token))
        append(" AND state = 'running'")
    }

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
