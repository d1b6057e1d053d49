import Foundation

/// What a schedule does about the times it missed while no node ran it (downtime).
public enum MissedRunPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Fires none of them: the next time after now is the next fire.
    case skip
    /// Fires once for all of them (the latest missed time), then goes on.
    case once
}

/// What a schedule does when its previous task is still live at a fire time.
public enum OverlapPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Fires anyway: the tasks run side by side.
    case allow
    /// Skips this time.
    case skip
}

/// When a schedule fires: a cron expression on a time zone's wall clock, or a fixed interval.
public enum ScheduleTiming: Sendable, Hashable {
    /// A cron expression (``CronExpression``) read on the clock of the zone.
    case cron(CronExpression, TimeZone)
    /// Every so many seconds (`@every 30s`), counted from the schedule's start or creation.
    case every(Double, anchor: Date)

    /// The prefix of an interval schedule: `@every 5m`.
    public static let everyPrefix = "@every "

    /// The timing of `cron` (an expression, a macro or `@every DURATION`) in the zone named
    /// `timezone`, intervals counted from `anchor`. Throws `invalid_input` naming `cron` (and the
    /// bad token's position) or `timezone`.
    public init(cron: String, timezone: String, anchor: Date) throws(NightshiftError) {
        if cron.hasPrefix(Self.everyPrefix) {
            let text = cron.dropFirst(Self.everyPrefix.count).trimmingCharacters(in: .whitespaces)
            guard let seconds = DurationText.seconds(text), seconds >= 1 else {
                throw .invalid("cron", "expected a duration of at least 1s after @every at position \(Self.everyPrefix.count + 1), got '\(text)'")
            }
            self = .every(seconds, anchor: anchor)
            return
        }
        let expression = try CronExpression(cron)
        guard let zone = TimeZone(identifier: timezone) else {
            throw .invalid("timezone", "expected an IANA time zone such as Europe/Berlin or UTC, got '\(timezone)'")
        }
        self = .cron(expression, zone)
    }

    /// The first fire time after `date`, or `nil` if there is none.
    public func next(after date: Date) -> Date? {
        switch self {
        case .cron(let expression, let zone):
            return expression.next(after: date, in: zone)
        case .every(let seconds, let anchor):
            guard date >= anchor else { return anchor }
            let count = ((date.timeIntervalSince(anchor)) / seconds).rounded(.down) + 1
            return anchor.addingTimeInterval(count * seconds)
        }
    }
}

/// What a schedule's tasks are made of: a task's fields, without what each firing sets itself
/// (its workspace, idempotency key, schedule and occurrence).
public struct TaskTemplate: Sendable, Hashable, Codable {
    /// The agent.
    public var agent: String
    /// The prompt.
    public var prompt: String
    /// Application data.
    public var payload: JSONValue
    /// Lower runs first; nil: the default.
    public var priority: Int?
    /// The lane.
    public var lane: String?
    /// Labels.
    public var labels: [String]
    /// A budget per task, in USD.
    public var budgetUSD: Double?
    /// A timeout per run, in seconds.
    public var timeout: Double?
    /// At most this many attempts.
    public var maxAttempts: Int?
    /// The task's own ask policy.
    public var ask: AskPolicy?

    enum CodingKeys: String, CodingKey {
        case agent, prompt, payload, priority, lane, labels, timeout, ask
        case budgetUSD = "budget_usd", maxAttempts = "max_attempts"
    }

    /// A template.
    public init(
        agent: String, prompt: String, payload: JSONValue = [:], priority: Int? = nil, lane: String? = nil, labels: [String] = [],
        budgetUSD: Double? = nil, timeout: Double? = nil, maxAttempts: Int? = nil, ask: AskPolicy? = nil
    ) {
        self.agent = agent
        self.prompt = prompt
        self.payload = payload
        self.priority = priority
        self.lane = lane
        self.labels = labels
        self.budgetUSD = budgetUSD
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.ask = ask
    }

    /// The task a firing submits in `workspace`.
    public func task(workspace: String) -> NewTask {
        var task = NewTask(
            agent: agent, prompt: prompt, workspaceID: workspace, payload: payload, lane: lane, labels: labels, budgetUSD: budgetUSD,
            timeout: timeout, ask: ask)
        if let priority { task.priority = priority }
        if let maxAttempts { task.retry = RetryPolicy(maxAttempts: maxAttempts) }
        return task
    }

    /// The template as stored (JSON text).
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Reads a template stored as ``jsonText``.
    public init(jsonText: String) throws {
        self = try JSONDecoder().decode(TaskTemplate.self, from: Data(jsonText.utf8))
    }
}

/// A schedule to create or replace.
public struct NewSchedule: Sendable, Hashable {
    /// Its workspace: the tasks it fires are there.
    public var workspaceID: String
    /// A name unique in the workspace, if it has one (a schedule declared in nightshift.toml has
    /// its table's name).
    public var name: String?
    /// A cron expression (5 fields), a macro (`@daily`) or `@every DURATION`.
    public var cron: String
    /// The IANA time zone the expression is read in.
    public var timezone: String
    /// The task each firing submits.
    public var task: TaskTemplate
    /// Fires no earlier than this, if set.
    public var startsAt: Date?
    /// Fires no later than this, if set.
    public var endsAt: Date?
    /// After downtime: skip the missed times, or fire once for them.
    public var missed: MissedRunPolicy
    /// When the previous task is still live: fire anyway, or skip.
    public var overlap: OverlapPolicy
    /// Whether it starts paused.
    public var paused: Bool

    /// A schedule.
    public init(
        workspaceID: String = Workspace.defaultID, name: String? = nil, cron: String, timezone: String = "UTC", task: TaskTemplate,
        startsAt: Date? = nil, endsAt: Date? = nil, missed: MissedRunPolicy = .skip, overlap: OverlapPolicy = .allow, paused: Bool = false
    ) {
        self.workspaceID = workspaceID
        self.name = name
        self.cron = cron
        self.timezone = timezone
        self.task = task
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.missed = missed
        self.overlap = overlap
        self.paused = paused
    }

    /// Checks every field, naming the first bad one: the timing (`cron`, `timezone`), the task (as
    /// a submit checks it, under `task.`), `ends_at` after `starts_at`, the name.
    public func validate() throws(NightshiftError) {
        _ = try ScheduleTiming(cron: cron, timezone: timezone, anchor: startsAt ?? Date())
        if let name, !TextRules.isAgentName(name) {
            throw .invalid("name", "expected \(TextRules.agentNameRule), got '\(name)'")
        }
        if let startsAt, let endsAt, endsAt <= startsAt { throw .invalid("ends_at", "expected a time after starts_at") }
        do {
            try task.task(workspace: workspaceID).validate()
        } catch {
            throw NightshiftError(error.code, error.message, field: error.field.map { "task.\($0)" } ?? "task")
        }
    }
}

/// A stored schedule.
public struct Schedule: Sendable, Hashable {
    /// UUIDv7 id.
    public var id: String
    /// What it is.
    public var spec: NewSchedule
    /// The next time it fires; `nil` while paused or once it has ended.
    public var nextRunAt: Date?
    /// The occurrence it fired last, if any.
    public var lastRunAt: Date?
    /// The task it fired last, if any.
    public var lastTaskID: TaskID?
    /// Why its last firing did not submit (the task was refused), until one succeeds.
    public var lastError: String?
    /// Where it came from: `api` or `config` (nightshift.toml, reconciled at start).
    public var source: String
    /// When it was made.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date

    /// A schedule value (stores build these from rows).
    public init(
        id: String, spec: NewSchedule, nextRunAt: Date?, lastRunAt: Date?, lastTaskID: TaskID?, lastError: String?, source: String,
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.spec = spec
        self.nextRunAt = nextRunAt
        self.lastRunAt = lastRunAt
        self.lastTaskID = lastTaskID
        self.lastError = lastError
        self.source = source
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// When it fires (intervals counted from its start, else its creation).
    public var timing: ScheduleTiming {
        get throws { try ScheduleTiming(cron: spec.cron, timezone: spec.timezone, anchor: spec.startsAt ?? createdAt) }
    }
}

extension NewSchedule {
    /// The first fire time after `date` within the schedule's start and end, or `nil`.
    public func nextFire(after date: Date, anchor: Date) -> Date? {
        guard let timing = try? ScheduleTiming(cron: cron, timezone: timezone, anchor: startsAt ?? anchor) else { return nil }
        return nextFire(after: date, timing: timing)
    }

    /// The first time of `timing` (this schedule's, read once) after `date` within the
    /// schedule's start and end, or `nil`.
    public func nextFire(after date: Date, timing: ScheduleTiming) -> Date? {
        var after = date
        if let startsAt, after < startsAt { after = startsAt.addingTimeInterval(-0.001) }
        guard let next = timing.next(after: after) else { return nil }
        if let endsAt, next > endsAt { return nil }
        return next
    }

    /// The latest time of `timing` after `date` and not after `limit` (nor the schedule's end),
    /// or `nil` if there is none: what a missed occurrence fires with `missed = once`.
    public func latestFire(after date: Date, notAfter limit: Date, timing: ScheduleTiming) -> Date? {
        let limit = endsAt.map { min($0, limit) } ?? limit
        if case .every(let seconds, let anchor) = timing {
            guard limit >= anchor else { return nil }
            let latest = anchor.addingTimeInterval((limit.timeIntervalSince(anchor) / seconds).rounded(.down) * seconds)
            return latest > date && startsAt.map({ latest >= $0 }) ?? true ? latest : nil
        }
        // A cron expression fires at most once a minute: a year of downtime is some 500,000 steps.
        var latest: Date?
        var after = date
        while let next = nextFire(after: after, timing: timing), next <= limit {
            latest = next
            after = next
        }
        return latest
    }
}
