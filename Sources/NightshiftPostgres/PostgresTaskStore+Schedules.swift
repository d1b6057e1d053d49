import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Stores a new schedule (see ``ScheduleStore/createSchedule(_:source:now:)``).
    public func createSchedule(_ new: NewSchedule, source: String, now: Date) async throws -> Schedule {
        try new.validate()
        return try await write { transaction in
            let id = UUIDv7.generate(at: now)
            let next = new.paused ? nil : new.nextFire(after: now, anchor: now)
            try await transaction.checkScheduleName(new, except: nil)
            var sql = SQL("""
                INSERT INTO schedules (id, workspace_id, name, cron, timezone, task, starts_at, ends_at, missed, overlap, paused,
                    next_run_at, source, created_at, updated_at) VALUES (
                """)
            let values: [SQLValue] = [
                .text(id), .text(new.workspaceID), .text(new.name), .text(new.cron), .text(new.timezone), .text(new.task.jsonText),
                .double(new.startsAt?.timeIntervalSince1970), .double(new.endsAt?.timeIntervalSince1970), .text(new.missed.rawValue),
                .text(new.overlap.rawValue), .bool(new.paused), .double(next?.timeIntervalSince1970), .text(source),
                .double(now.timeIntervalSince1970), .double(now.timeIntervalSince1970),
            ]
            sql.append(values.map { sql.bind($0) }.joined(separator: ", "))
            sql.append(")")
            try await transaction.rows(sql)
            guard let stored = try await transaction.schedule(id, workspace: nil) else { throw NightshiftError.scheduleNotFound(id) }
            return stored
        }
    }

    /// The workspace's schedules (see ``ScheduleStore/schedules(workspace:)``).
    public func schedules(workspace: String?) async throws -> [Schedule] {
        try await autocommit { transaction in
            var sql = SQL("SELECT \(Transaction.scheduleColumns) FROM schedules")
            if let workspace {
                sql.append(" WHERE workspace_id = ")
                sql.append(.text(workspace))
            }
            sql.append(" ORDER BY name IS NULL, name COLLATE \"C\", id")
            return try await transaction.rows(sql).map(Transaction.schedule)
        }
    }

    /// The schedule with this key (see ``ScheduleStore/schedule(_:workspace:)``).
    public func schedule(_ key: String, workspace: String?) async throws -> Schedule? {
        try await autocommit { try await $0.schedule(key, workspace: workspace) }
    }

    /// Replaces what a schedule is (see ``ScheduleStore/replaceSchedule(_:with:now:workspace:)``).
    public func replaceSchedule(_ key: String, with new: NewSchedule, now: Date, workspace: String?) async throws -> Schedule {
        try new.validate()
        return try await write { transaction in
            guard let current = try await transaction.schedule(key, workspace: workspace, lock: true) else {
                throw NightshiftError.scheduleNotFound(key)
            }
            var new = new
            new.workspaceID = current.spec.workspaceID
            try await transaction.checkScheduleName(new, except: current.id)
            let next = new.paused ? nil : new.nextFire(after: now, anchor: current.createdAt)
            var sql = SQL("UPDATE schedules SET ")
            let columns: [(String, SQLValue)] = [
                ("name", .text(new.name)), ("cron", .text(new.cron)), ("timezone", .text(new.timezone)), ("task", .text(new.task.jsonText)),
                ("starts_at", .double(new.startsAt?.timeIntervalSince1970)), ("ends_at", .double(new.endsAt?.timeIntervalSince1970)),
                ("missed", .text(new.missed.rawValue)), ("overlap", .text(new.overlap.rawValue)), ("paused", .bool(new.paused)),
                ("next_run_at", .double(next?.timeIntervalSince1970)), ("last_error", .text(nil)), ("updated_at", .double(now.timeIntervalSince1970)),
            ]
            sql.append(columns.map { "\($0.0) = \(sql.bind($0.1))" }.joined(separator: ", "))
            sql.append(" WHERE id = ")
            sql.append(.text(current.id))
            try await transaction.rows(sql)
            guard let stored = try await transaction.schedule(current.id, workspace: nil) else { throw NightshiftError.scheduleNotFound(key) }
            return stored
        }
    }

    /// Pauses or resumes a schedule (see ``ScheduleStore/pauseSchedule(_:paused:now:workspace:)``).
    public func pauseSchedule(_ key: String, paused: Bool, now: Date, workspace: String?) async throws -> Schedule {
        try await write { transaction in
            guard let current = try await transaction.schedule(key, workspace: workspace, lock: true) else {
                throw NightshiftError.scheduleNotFound(key)
            }
            let next = paused ? nil : current.spec.nextFire(after: now, anchor: current.createdAt)
            var sql = SQL("UPDATE schedules SET paused = ")
            sql.append(.bool(paused))
            sql.append(", next_run_at = ")
            sql.append(.double(next?.timeIntervalSince1970))
            sql.append(", updated_at = ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(" WHERE id = ")
            sql.append(.text(current.id))
            try await transaction.rows(sql)
            guard let stored = try await transaction.schedule(current.id, workspace: nil) else { throw NightshiftError.scheduleNotFound(key) }
            return stored
        }
    }

    /// Deletes a schedule (see ``ScheduleStore/deleteSchedule(_:workspace:)``).
    public func deleteSchedule(_ key: String, workspace: String?) async throws -> Bool {
        try await write { transaction in
            guard let current = try await transaction.schedule(key, workspace: workspace, lock: true) else { return false }
            var sql = SQL("DELETE FROM schedules WHERE id = ")
            sql.append(.text(current.id))
            try await transaction.rows(sql)
            return true
        }
    }

    /// Schedules due at `now` (see ``ScheduleStore/dueSchedules(now:limit:)``).
    public func dueSchedules(now: Date, limit: Int) async throws -> [Schedule] {
        try await autocommit { transaction in
            var sql = SQL("SELECT \(Transaction.scheduleColumns) FROM schedules WHERE next_run_at <= ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(" ORDER BY next_run_at LIMIT ")
            sql.append(.int(limit))
            return try await transaction.rows(sql).map(Transaction.schedule)
        }
    }

    /// The earliest next fire time (see ``ScheduleStore/earliestScheduleDue()``).
    public func earliestScheduleDue() async throws -> Date? {
        try await autocommit { transaction in
            try await transaction.rows(SQL("SELECT min(next_run_at) AS due FROM schedules WHERE next_run_at IS NOT NULL")).first
                .flatMap { try $0["due"].decode(Double?.self) }.map(Date.init(timeIntervalSince1970:))
        }
    }

    /// Fires an occurrence (see ``ScheduleStore/fireSchedule(_:occurrence:now:missedGrace:)``). The
    /// row is locked with SKIP LOCKED: a node that finds another firing it has lost the race.
    public func fireSchedule(_ id: String, occurrence: Date, now: Date, missedGrace: Double) async throws -> ScheduleFireResult {
        let (maxDepth, subtasks) = (configuration.maxQueueDepth, configuration.subtasks)
        return try await write { transaction in
            guard let schedule = try await transaction.schedule(id, workspace: nil, lock: true, skipLocked: true) else { return .lost }
            var lastTaskLive = false
            if let last = schedule.lastTaskID {
                var sql = SQL("SELECT state FROM tasks WHERE id = ")
                sql.append(.text(last.rawValue))
                let state = try await transaction.rows(sql).first.flatMap { try $0["state"].decode(String?.self) }.flatMap(TaskState.init(rawValue:))
                lastTaskLive = state.map { !$0.isTerminal } ?? false
            }
            let plan = SchedulePlan(schedule, occurrence: occurrence, now: now, lastTaskLive: lastTaskLive, missedGrace: missedGrace)
            guard plan != .lost else { return .lost }
            var submitted: AgentTask?
            do {
                if let task = try plan.task(of: schedule) {
                    submitted = try await transaction.submit(task, now: now, maxDepth: maxDepth, subtasks: subtasks).task
                }
            } catch let refusal as NightshiftError {
                // Nothing moves: the next poll retries the occurrence.
                var sql = SQL("UPDATE schedules SET last_error = ")
                sql.append(.text(refusal.message))
                sql.append(", updated_at = ")
                sql.append(.double(now.timeIntervalSince1970))
                sql.append(" WHERE id = ")
                sql.append(.text(id))
                try await transaction.rows(sql)
                return .refused(refusal)
            }
            guard let moved = plan.move(submitted: submitted) else { return .lost }
            var sql = SQL("UPDATE schedules SET next_run_at = ")
            sql.append(.double(moved.next?.timeIntervalSince1970))
            sql.append(", last_run_at = coalesce(")
            sql.append(.double(moved.fired?.timeIntervalSince1970))
            sql.append(", last_run_at), last_task_id = coalesce(")
            sql.append(.text(moved.task?.rawValue))
            sql.append(", last_task_id), last_error = NULL, updated_at = ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(" WHERE id = ")
            sql.append(.text(id))
            sql.append(" AND next_run_at = ")
            sql.append(.double(occurrence.timeIntervalSince1970))
            try await transaction.rows(sql)
            return moved.result
        }
    }

    /// Submits a schedule's task now (see ``ScheduleStore/triggerSchedule(_:now:workspace:idempotencyKey:)``).
    public func triggerSchedule(_ key: String, now: Date, workspace: String?, idempotencyKey: String?) async throws -> SubmitResult {
        let (maxDepth, subtasks) = (configuration.maxQueueDepth, configuration.subtasks)
        return try await write { transaction in
            guard let schedule = try await transaction.schedule(key, workspace: workspace, lock: true) else {
                throw NightshiftError.scheduleNotFound(key)
            }
            let task = SchedulePlan.task(of: schedule, occurrence: now, idempotencyKey: idempotencyKey)
            try task.validate()
            let submitted = try await transaction.submit(task, now: now, maxDepth: maxDepth, subtasks: subtasks)
            guard submitted.inserted else { return submitted }
            var sql = SQL("UPDATE schedules SET last_run_at = ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(", last_task_id = ")
            sql.append(.text(submitted.task.id.rawValue))
            sql.append(", last_error = NULL, updated_at = ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(" WHERE id = ")
            sql.append(.text(schedule.id))
            try await transaction.rows(sql)
            return submitted
        }
    }
}

extension Transaction {
    /// The schedule columns, in the order ``schedule(_:)`` reads them.
    static let scheduleColumns = """
        id, workspace_id, name, cron, timezone, task, starts_at, ends_at, missed, overlap, paused, next_run_at, last_run_at, \
        last_task_id, last_error, source, created_at, updated_at
        """

    static func schedule(_ row: PostgresRandomAccessRow) throws -> Schedule {
        func date(_ column: String) throws -> Date? { try row[column].decode(Double?.self).map(Date.init(timeIntervalSince1970:)) }
        let spec = NewSchedule(
            workspaceID: try row["workspace_id"].decode(String.self), name: try row["name"].decode(String?.self),
            cron: try row["cron"].decode(String.self), timezone: try row["timezone"].decode(String.self),
            task: try TaskTemplate(jsonText: try row["task"].decode(String.self)), startsAt: try date("starts_at"), endsAt: try date("ends_at"),
            missed: MissedRunPolicy(rawValue: try row["missed"].decode(String.self)) ?? .skip,
            overlap: OverlapPolicy(rawValue: try row["overlap"].decode(String.self)) ?? .allow, paused: try row["paused"].decode(Bool.self))
        return Schedule(
            id: try row["id"].decode(String.self), spec: spec, nextRunAt: try date("next_run_at"), lastRunAt: try date("last_run_at"),
            lastTaskID: try row["last_task_id"].decode(String?.self).map(TaskID.init(trusted:)), lastError: try row["last_error"].decode(String?.self),
            source: try row["source"].decode(String.self), createdAt: try date("created_at") ?? Date(), updatedAt: try date("updated_at") ?? Date())
    }

    /// The schedule with this key (id, or name in the workspace); with `lock`, its row locked for
    /// the transaction (with `skipLocked`, `nil` when another transaction holds it).
    func schedule(_ key: String, workspace: String?, lock: Bool = false, skipLocked: Bool = false) async throws -> Schedule? {
        // By id, then by name: two lookups that each use an index (a firing reads by id).
        for column in ["id", "name"] {
            var sql = SQL("SELECT \(Self.scheduleColumns) FROM schedules WHERE \(column) = ")
            sql.append(.text(key))
            if let workspace {
                sql.append(" AND workspace_id = ")
                sql.append(.text(workspace))
            }
            sql.append(" LIMIT 1")
            if lock { sql.append(skipLocked ? " FOR UPDATE SKIP LOCKED" : " FOR UPDATE") }
            if let row = try await rows(sql).first { return try Self.schedule(row) }
        }
        return nil
    }

    /// Refuses a name the workspace already has on another schedule (`conflict`, field `name`).
    func checkScheduleName(_ new: NewSchedule, except id: String?) async throws {
        guard let name = new.name else { return }
        var sql = SQL("SELECT id FROM schedules WHERE workspace_id = ")
        sql.append(.text(new.workspaceID))
        sql.append(" AND name = ")
        sql.append(.text(name))
        let holder = try await rows(sql).first.map { try $0["id"].decode(String.self) }
        if let holder, holder != id { throw NightshiftError.scheduleNameTaken(name) }
    }
}
