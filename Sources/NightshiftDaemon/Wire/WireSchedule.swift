import Foundation
import Nightshift

/// A schedule's task template as the API answers it: the task each firing submits.
public struct WireTaskTemplate: WireValue, Hashable {
    /// The agent.
    public var agent: String
    /// The prompt.
    public var prompt: String
    /// Extra input for the agent.
    public var payload: JSONValue
    /// Lower runs first; null: the default (10).
    public var priority: Int?
    /// The lane, if any.
    public var lane: String?
    /// Labels.
    public var labels: [String]
    /// The spending limit of each task in US dollars, if any.
    public var budgetUSD: Double?
    /// Seconds a run may take, if limited.
    public var timeout: Double?
    /// Attempts in all, the first included; null: the agent's.
    public var maxAttempts: Int?
    /// The tasks' ask policy (`off`, `always`, `on-miss`); null: the agent's.
    public var ask: String?

    enum CodingKeys: String, CodingKey {
        case agent, prompt, payload, priority, lane, labels, timeout, ask
        case budgetUSD = "budget_usd", maxAttempts = "max_attempts"
    }
}

extension WireTaskTemplate {
    /// The wire form of `template`.
    public init(_ template: TaskTemplate) {
        self.init(
            agent: template.agent, prompt: template.prompt, payload: template.payload, priority: template.priority, lane: template.lane,
            labels: template.labels, budgetUSD: template.budgetUSD, timeout: template.timeout, maxAttempts: template.maxAttempts,
            ask: template.ask?.rawValue)
    }
}

/// A schedule as the API answers it (`GET /v1/schedules/{id}` and every route that answers one).
public struct WireSchedule: WireValue, Hashable {
    /// The schedule's id (a UUIDv7).
    public var id: String
    /// The workspace its tasks are submitted in.
    public var workspaceID: String
    /// Its name, unique in the workspace, if it has one.
    public var name: String?
    /// A cron expression (5 fields), a macro (`@daily`) or `@every DURATION`.
    public var cron: String
    /// The IANA time zone the expression is read in.
    public var timezone: String
    /// The task each firing submits.
    public var task: WireTaskTemplate
    /// It fires no earlier than this, if set.
    public var startsAt: Date?
    /// It fires no later than this, if set.
    public var endsAt: Date?
    /// After downtime: `skip` the missed times, or fire `once` for them.
    public var missed: String
    /// When its previous task is still live: `allow` (fire anyway) or `skip`.
    public var overlap: String
    /// Whether it is paused.
    public var paused: Bool
    /// The next time it fires; null while paused or once it has ended.
    public var nextRunAt: Date?
    /// The occurrence it fired last, if any.
    public var lastRunAt: Date?
    /// The task it submitted last, if any.
    public var lastTaskID: String?
    /// Why its last firing submitted nothing (the task was refused), until one succeeds.
    public var lastError: String?
    /// Where it came from: `api`, or `config` (nightshift.toml).
    public var source: String
    /// When it was made.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, cron, timezone, task, missed, overlap, paused, source
        case workspaceID = "workspace_id", startsAt = "starts_at", endsAt = "ends_at", nextRunAt = "next_run_at"
        case lastRunAt = "last_run_at", lastTaskID = "last_task_id", lastError = "last_error", createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}

extension WireSchedule {
    /// The wire form of `schedule`.
    public init(_ schedule: Schedule) {
        let spec = schedule.spec
        self.init(
            id: schedule.id, workspaceID: spec.workspaceID, name: spec.name, cron: spec.cron, timezone: spec.timezone,
            task: WireTaskTemplate(spec.task), startsAt: spec.startsAt, endsAt: spec.endsAt, missed: spec.missed.rawValue,
            overlap: spec.overlap.rawValue, paused: spec.paused, nextRunAt: schedule.nextRunAt, lastRunAt: schedule.lastRunAt,
            lastTaskID: schedule.lastTaskID?.rawValue, lastError: schedule.lastError, source: schedule.source,
            createdAt: schedule.createdAt, updatedAt: schedule.updatedAt)
    }
}

/// The answer of `GET /v1/schedules`.
public struct WireScheduleList: WireValue, Hashable {
    /// The workspace's schedules, by name then id.
    public var schedules: [WireSchedule]

    /// A list of `schedules`.
    public init(schedules: [WireSchedule]) {
        self.schedules = schedules
    }
}
