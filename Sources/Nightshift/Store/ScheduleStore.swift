import Foundation

/// Schedules: recurring tasks fired by every node's scheduler, each occurrence exactly once. A
/// schedule not in `workspace` is not found (`nil`: any workspace, the engine's view). A key is a
/// schedule's id, or its name in the workspace.
public protocol ScheduleStore: Sendable {
    /// Stores a new schedule (`source`: `api` or `config`), its next fire time computed from
    /// `now`. Throws `invalid_input` naming the field, `conflict` (field `name`) for a name the
    /// workspace already has.
    func createSchedule(_ new: NewSchedule, source: String, now: Date) async throws -> Schedule
    /// The workspace's schedules, by name then id.
    func schedules(workspace: String?) async throws -> [Schedule]
    /// The schedule with this key, if any.
    func schedule(_ key: String, workspace: String?) async throws -> Schedule?
    /// Replaces what the schedule is (its id, source and history stay), its next fire time
    /// computed again from `now`. Throws `not_found`, `invalid_input`, `conflict`.
    func replaceSchedule(_ key: String, with new: NewSchedule, now: Date, workspace: String?) async throws -> Schedule
    /// Pauses (no next fire time) or resumes (the next fire time after `now`) the schedule.
    func pauseSchedule(_ key: String, paused: Bool, now: Date, workspace: String?) async throws -> Schedule
    /// Deletes the schedule; `false` if there was none. Its tasks stay.
    func deleteSchedule(_ key: String, workspace: String?) async throws -> Bool
    /// Schedules whose next fire time is at or before `now`, earliest first, at most `limit`.
    func dueSchedules(now: Date, limit: Int) async throws -> [Schedule]
    /// The earliest next fire time of any schedule, if any fires at all.
    func earliestScheduleDue() async throws -> Date?
    /// Fires the schedule's `occurrence` (its next fire time as the caller read it), in one
    /// transaction: the next fire time moves on only if it still is `occurrence` (a
    /// compare-and-set, so of many nodes one fires it), and the task (see ``SchedulePlan``) is
    /// submitted with it. A submit the store refuses (an unknown agent, a spent budget, a full
    /// queue) moves nothing: the fire time stays, for a later retry, and the error is kept as the
    /// schedule's `last_error`.
    func fireSchedule(_ id: String, occurrence: Date, now: Date, missedGrace: Double) async throws -> ScheduleFireResult
    /// Submits the schedule's task now, as a firing outside its times would (its next fire time
    /// does not move), with `idempotencyKey` if given: a repeat with the key answers the task it
    /// submitted first (not inserted) and changes nothing. Throws what a submit throws, and `not_found`.
    func triggerSchedule(_ key: String, now: Date, workspace: String?, idempotencyKey: String?) async throws -> SubmitResult
}

extension ScheduleStore {
    /// Submits the schedule's task now, without an idempotency key.
    public func triggerSchedule(_ key: String, now: Date, workspace: String?) async throws -> SubmitResult {
        try await triggerSchedule(key, now: now, workspace: workspace, idempotencyKey: nil)
    }
}

/// What ``ScheduleStore/fireSchedule(_:occurrence:now:missedGrace:)`` did.
public enum ScheduleFireResult: Sendable, Hashable {
    /// Submitted this task (or found the one an earlier firing of the occurrence submitted).
    case fired(AgentTask)
    /// Moved on without a task: a missed time skipped, or an overlap.
    case skipped(String)
    /// The store refused the task; nothing moved.
    case refused(NightshiftError)
    /// The fire time had moved (another node fired it, or the schedule changed): nothing done.
    case lost
}

/// What a firing writes back to its schedule: the next fire time, and the occurrence fired and
/// its task if one was submitted (compare-and-set on the occurrence read).
package struct ScheduleMove: Sendable, Equatable {
    /// The next fire time; `nil`: none.
    package var next: Date?
    /// The occurrence fired, if a task was submitted.
    package var fired: Date?
    /// The task submitted.
    package var task: TaskID?
    /// What the firing reports.
    package var result: ScheduleFireResult
}

/// How a schedule fires an occurrence, decided from the schedule as read in the firing's
/// transaction: both stores compile it.
package enum SchedulePlan: Sendable, Equatable {
    /// Submit the task of `occurrence`; then the next fire time is `next`.
    case fire(occurrence: Date, next: Date?)
    /// Submit nothing (`reason`); the next fire time is `next`.
    case skip(reason: String, next: Date?)
    /// Nothing: the schedule no longer fires at that time.
    case lost

    /// The plan for `schedule` firing `occurrence` at `now`. Late by more than `missedGrace`
    /// seconds the occurrence was missed (no node ran): `skip` fires none of the missed times,
    /// `once` the latest of them; `lastTaskLive` with overlap `skip` skips it.
    package init(_ schedule: Schedule, occurrence: Date, now: Date, lastTaskLive: Bool, missedGrace: Double) {
        guard schedule.nextRunAt == occurrence, !schedule.spec.paused, let timing = try? schedule.timing else {
            self = .lost
            return
        }
        let spec = schedule.spec
        var fireAt = occurrence
        var next = spec.nextFire(after: occurrence, timing: timing)
        if now.timeIntervalSince(occurrence) > missedGrace {
            next = spec.nextFire(after: now, timing: timing)
            if spec.missed == .skip {
                self = .skip(reason: "missed", next: next)
                return
            }
            fireAt = spec.latestFire(after: occurrence, notAfter: now, timing: timing) ?? occurrence
        }
        if spec.overlap == .skip, lastTaskLive {
            self = .skip(reason: "overlap", next: next)
            return
        }
        self = .fire(occurrence: fireAt, next: next)
    }

    /// The task this plan submits, validated (`nil` for a skip): its idempotency key is made of
    /// the schedule and the occurrence, so a retry of the occurrence cannot submit twice.
    package func task(of schedule: Schedule) throws(NightshiftError) -> NewTask? {
        guard case .fire(let occurrence, _) = self else { return nil }
        let task = Self.task(of: schedule, occurrence: occurrence, idempotencyKey: Self.idempotencyKey(schedule: schedule.id, occurrence: occurrence))
        try task.validate()
        return task
    }

    /// What the firing writes back to the schedule once `submitted` (the task of a `fire`, `nil`
    /// for a skip) is in, and what it reports; `nil` for `lost`.
    package func move(submitted: AgentTask?) -> ScheduleMove? {
        switch self {
        case .lost:
            return nil
        case .skip(let reason, let next):
            return ScheduleMove(next: next, fired: nil, task: nil, result: .skipped(reason))
        case .fire(let occurrence, let next):
            guard let submitted else { return nil }
            return ScheduleMove(next: next, fired: occurrence, task: submitted.id, result: .fired(submitted))
        }
    }

    /// The task of `schedule` for `occurrence` (a firing's, or `now` for a trigger), not yet validated.
    package static func task(of schedule: Schedule, occurrence: Date, idempotencyKey: String?) -> NewTask {
        var task = schedule.spec.task.task(workspace: schedule.spec.workspaceID)
        task.idempotencyKey = idempotencyKey
        task.scheduleID = schedule.id
        task.scheduledFor = occurrence
        return task
    }

    /// `schedule:<id>:<occurrence in ms since 1970>`.
    package static func idempotencyKey(schedule: String, occurrence: Date) -> String {
        "schedule:\(schedule):\(Int64((occurrence.timeIntervalSince1970 * 1000).rounded()))"
    }
}

extension NightshiftError {
    /// No schedule with this id or name.
    public static func scheduleNotFound(_ key: String) -> NightshiftError {
        NightshiftError(.notFound, "no schedule '\(key)'", field: "id")
    }

    /// The workspace has a schedule of this name already.
    public static func scheduleNameTaken(_ name: String) -> NightshiftError {
        NightshiftError(.conflict, "a schedule named '\(name)' exists already", field: "name")
    }
}
