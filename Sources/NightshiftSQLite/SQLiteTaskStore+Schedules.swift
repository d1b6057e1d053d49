import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// The schedule columns, in the order ``schedule(_:)`` reads them.
    static let scheduleColumns = """
        id, workspace_id, name, cron, timezone, task, starts_at, ends_at, missed, overlap, paused, next_run_at, last_run_at, \
        last_task_id, last_error, source, created_at, updated_at
        """

    static func schedule(_ row: Row) throws -> Schedule {
        let spec = NewSchedule(
            workspaceID: row[1], name: row[2], cron: row[3], timezone: row[4], task: try TaskTemplate(jsonText: row[5]),
            startsAt: SQLiteRows.date(row[6]), endsAt: SQLiteRows.date(row[7]),
            missed: MissedRunPolicy(rawValue: row[8]) ?? .skip, overlap: OverlapPolicy(rawValue: row[9]) ?? .allow, paused: row[10])
        return Schedule(
            id: row[0], spec: spec, nextRunAt: SQLiteRows.date(row[11]), lastRunAt: SQLiteRows.date(row[12]),
            lastTaskID: (row[13] as String?).map(TaskID.init(trusted:)), lastError: row[14], source: row[15],
            createdAt: Date(timeIntervalSince1970: row[16]), updatedAt: Date(timeIntervalSince1970: row[17]))
    }

    /// The schedule with this key (id, or name in the workspace), in `db`.
    static func schedule(_ key: String, workspace: String?, in db: Database) throws -> Schedule? {
        // By id, then by name: two lookups that each use an index (one `id = ? OR name = ?` scanned
        // the table, and a firing reads its schedule by id).
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(scheduleColumns) FROM schedules WHERE id = ?1 AND (?2 IS NULL OR workspace_id = ?2)"),
            arguments: [key, workspace])
        {
            return try schedule(row)
        }
        if let workspace {
            return try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(scheduleColumns) FROM schedules WHERE workspace_id = ? AND name = ?"), arguments: [workspace, key]
            ).map(schedule)
        }
        return try Row.fetchOne(db.cachedStatement(sql: "SELECT \(scheduleColumns) FROM schedules WHERE name = ? LIMIT 1"), arguments: [key])
            .map(schedule)
    }

    /// Stores a new schedule (see ``ScheduleStore/createSchedule(_:source:now:)``).
    public func createSchedule(_ new: NewSchedule, source: String, now: Date) async throws -> Schedule {
        try new.validate()
        return try await writer.write { transaction in
            let id = UUIDv7.generate(at: now)
            let next = new.paused ? nil : new.nextFire(after: now, anchor: now)
            try Self.checkName(new, except: nil, in: transaction.db)
            try transaction.db.execute(
                sql: """
                    INSERT INTO schedules (id, workspace_id, name, cron, timezone, task, starts_at, ends_at, missed, overlap, paused,
                        next_run_at, source, created_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, new.workspaceID, new.name, new.cron, new.timezone, new.task.jsonText, new.startsAt?.timeIntervalSince1970,
                    new.endsAt?.timeIntervalSince1970, new.missed.rawValue, new.overlap.rawValue, new.paused,
                    next?.timeIntervalSince1970, source, now.timeIntervalSince1970, now.timeIntervalSince1970,
                ])
            guard let stored = try Self.schedule(id, workspace: nil, in: transaction.db) else { throw NightshiftError.scheduleNotFound(id) }
            return stored
        }
    }

    /// Refuses a name the workspace already has on another schedule (`conflict`, field `name`).
    private static func checkName(_ new: NewSchedule, except id: String?, in db: Database) throws {
        guard let name = new.name else { return }
        let holder = try String.fetchOne(
            db, sql: "SELECT id FROM schedules WHERE workspace_id = ? AND name = ?", arguments: [new.workspaceID, name])
        if let holder, holder != id { throw NightshiftError.scheduleNameTaken(name) }
    }

    /// The workspace's schedules (see ``ScheduleStore/schedules(workspace:)``).
    public func schedules(workspace: String?) async throws -> [Schedule] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.scheduleColumns) FROM schedules WHERE ?1 IS NULL OR workspace_id = ?1 ORDER BY name IS NULL, name, id",
                arguments: [workspace]
            ).map(Self.schedule)
        }
    }

    /// The schedule with this key (see ``ScheduleStore/schedule(_:workspace:)``).
    public func schedule(_ key: String, workspace: String?) async throws -> Schedule? {
        try await read { db in try Self.schedule(key, workspace: workspace, in: db) }
    }

    /// Replaces what a schedule is (see ``ScheduleStore/replaceSchedule(_:with:now:workspace:)``).
    public func replaceSchedule(_ key: String, with new: NewSchedule, now: Date, workspace: String?) async throws -> Schedule {
        try new.validate()
        return try await writer.write { transaction in
            guard let current = try Self.schedule(key, workspace: workspace, in: transaction.db) else { throw NightshiftError.scheduleNotFound(key) }
            var new = new
            new.workspaceID = current.spec.workspaceID
            try Self.checkName(new, except: current.id, in: transaction.db)
            let next = new.paused ? nil : new.nextFire(after: now, anchor: current.createdAt)
            try transaction.db.execute(
                sql: """
                    UPDATE schedules SET name = ?, cron = ?, timezone = ?, task = ?, starts_at = ?, ends_at = ?, missed = ?, overlap = ?,
                        paused = ?, next_run_at = ?, last_error = NULL, updated_at = ? WHERE id = ?
                    """,
                arguments: [
                    new.name, new.cron, new.timezone, new.task.jsonText, new.startsAt?.timeIntervalSince1970, new.endsAt?.timeIntervalSince1970,
                    new.missed.rawValue, new.overlap.rawValue, new.paused, next?.timeIntervalSince1970, now.timeIntervalSince1970, current.id,
                ])
            guard let stored = try Self.schedule(current.id, workspace: nil, in: transaction.db) else { throw NightshiftError.scheduleNotFound(key) }
            return stored
        }
    }

    /// Pauses or resumes a schedule (see ``ScheduleStore/pauseSchedule(_:paused:now:workspace:)``).
    public func pauseSchedule(_ key: String, paused: Bool, now: Date, workspace: String?) async throws -> Schedule {
        try await writer.write { transaction in
            guard let current = try Self.schedule(key, workspace: workspace, in: transaction.db) else { throw NightshiftError.scheduleNotFound(key) }
            let next = paused ? nil : current.spec.nextFire(after: now, anchor: current.createdAt)
            try transaction.db.execute(
                sql: "UPDATE schedules SET paused = ?, next_run_at = ?, updated_at = ? WHERE id = ?",
                arguments: [paused, next?.timeIntervalSince1970, now.timeIntervalSince1970, current.id])
            guard let stored = try Self.schedule(current.id, workspace: nil, in: transaction.db) else { throw NightshiftError.scheduleNotFound(key) }
            return stored
        }
    }

    /// Deletes a schedule (see ``ScheduleStore/deleteSchedule(_:workspace:)``).
    public func deleteSchedule(_ key: String, workspace: String?) async throws -> Bool {
        try await writer.write { transaction in
            guard let current = try Self.schedule(key, workspace: workspace, in: transaction.db) else { return false }
            try transaction.db.execute(sql: "DELETE FROM schedules WHERE id = ?", arguments: [current.id])
            return true
        }
    }

    /// Schedules due at `now` (see ``ScheduleStore/dueSchedules(now:limit:)``).
    public func dueSchedules(now: Date, limit: Int) async throws -> [Schedule] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT \(Self.scheduleColumns) FROM schedules WHERE next_run_at <= ? ORDER BY next_run_at LIMIT ?
                    """),
                arguments: [now.timeIntervalSince1970, limit]
            ).map(Self.schedule)
        }
    }

    /// The earliest next fire time (see ``ScheduleStore/earliestScheduleDue()``).
    public func earliestScheduleDue() async throws -> Date? {
        try await read { db in
            try Double.fetchOne(db.cachedStatement(sql: "SELECT min(next_run_at) FROM schedules WHERE next_run_at IS NOT NULL")).map(Date.init(timeIntervalSince1970:))
        }
    }

    /// Fires an occurrence (see ``ScheduleStore/fireSchedule(_:occurrence:now:missedGrace:)``).
    public func fireSchedule(_ id: String, occurrence: Date, now: Date, missedGrace: Double) async throws -> ScheduleFireResult {
        let (maxDepth, subtasks) = (configuration.maxQueueDepth, configuration.subtasks)
        return try await writer.write { transaction in
            let db = transaction.db
            guard let schedule = try Self.schedule(id, workspace: nil, in: db) else { return .lost }
            let lastTaskLive = try schedule.lastTaskID.map { last in
                try String.fetchOne(db, sql: "SELECT state FROM tasks WHERE id = ?", arguments: [last.rawValue])
                    .flatMap(TaskState.init(rawValue:)).map { !$0.isTerminal } ?? false
            } ?? false
            let plan = SchedulePlan(schedule, occurrence: occurrence, now: now, lastTaskLive: lastTaskLive, missedGrace: missedGrace)
            guard plan != .lost else { return .lost }
            var submitted: AgentTask?
            do {
                if let task = try plan.task(of: schedule) {
                    submitted = try transaction.submit(task, now: now, maxDepth: maxDepth, subtasks: subtasks).task
                }
            } catch let refusal as NightshiftError {
                // Nothing moves: the next poll retries the occurrence.
                try db.execute(
                    sql: "UPDATE schedules SET last_error = ?, updated_at = ? WHERE id = ?",
                    arguments: [refusal.message, now.timeIntervalSince1970, id])
                return .refused(refusal)
            }
            guard let moved = plan.move(submitted: submitted) else { return .lost }
            try db.execute(
                sql: """
                    UPDATE schedules SET next_run_at = ?, last_run_at = coalesce(?, last_run_at), last_task_id = coalesce(?, last_task_id),
                        last_error = NULL, updated_at = ? WHERE id = ? AND next_run_at = ?
                    """,
                arguments: [
                    moved.next?.timeIntervalSince1970, moved.fired?.timeIntervalSince1970, moved.task?.rawValue, now.timeIntervalSince1970, id,
                    occurrence.timeIntervalSince1970,
                ])
            return moved.result
        }
    }

    /// Submits a schedule's task now (see ``ScheduleStore/triggerSchedule(_:now:workspace:idempotencyKey:)``).
    public func triggerSchedule(_ key: String, now: Date, workspace: String?, idempotencyKey: String?) async throws -> SubmitResult {
        let (maxDepth, subtasks) = (configuration.maxQueueDepth, configuration.subtasks)
        return try await writer.write { transaction in
            guard let schedule = try Self.schedule(key, workspace: workspace, in: transaction.db) else {
                throw NightshiftError.scheduleNotFound(key)
            }
            let task = SchedulePlan.task(of: schedule, occurrence: now, idempotencyKey: idempotencyKey)
            try task.validate()
            let submitted = try transaction.submit(task, now: now, maxDepth: maxDepth, subtasks: subtasks)
            guard submitted.inserted else { return submitted }
            try transaction.db.execute(
                sql: "UPDATE schedules SET last_run_at = ?, last_task_id = ?, last_error = NULL, updated_at = ? WHERE id = ?",
                arguments: [now.timeIntervalSince1970, submitted.task.id.rawValue, now.timeIntervalSince1970, schedule.id])
            return submitted
        }
    }
}
