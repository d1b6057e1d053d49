import Foundation
import Nightshift

/// The body of `POST /v1/schedules` and `PUT /v1/schedules/{id}`: a schedule to create or
/// replace. Nil members take the defaults (on PUT, a missing `name` keeps the schedule's).
public struct WireScheduleWrite: WireRequest, Hashable {
    /// A name unique in the workspace (as an agent's: letters, digits, `.`, `_`, `-`).
    public var name: String?
    /// A cron expression (5 fields), a macro (`@daily`) or `@every DURATION`.
    public var cron: String
    /// The IANA time zone the expression is read in (default `UTC`).
    public var timezone: String?
    /// The task each firing submits.
    public var task: WireTaskTemplateWrite
    /// Fire no earlier than this.
    public var startsAt: Date?
    /// Fire no later than this (after `starts_at`).
    public var endsAt: Date?
    /// After downtime: `skip` (the default) the missed times, or fire `once` for them.
    public var missed: String?
    /// When the previous task is still live: `allow` (the default) or `skip`.
    public var overlap: String?
    /// Whether it starts paused (default false).
    public var paused: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, cron, timezone, task, missed, overlap, paused
        case startsAt = "starts_at", endsAt = "ends_at"
    }

    /// A schedule write; `cron` and `task` are required.
    public init(
        name: String? = nil, cron: String, timezone: String? = nil, task: WireTaskTemplateWrite, startsAt: Date? = nil, endsAt: Date? = nil,
        missed: String? = nil, overlap: String? = nil, paused: Bool? = nil
    ) {
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

    /// Reads a request body: as ``WireRequest`` does, and an unknown member of `task` is refused
    /// too (naming `task.<member>`).
    static func read(body: JSONValue) throws -> WireScheduleWrite {
        if case .object(let task)? = body.objectValue?["task"] {
            let allowed = Set(WireTaskTemplateWrite.CodingKeys.allCases.map(\.stringValue))
            if let unknown = task.keys.filter({ !allowed.contains($0) }).sorted().first {
                throw NightshiftError(.invalidInput, "unknown field; expected one of \(allowed.sorted().joined(separator: ", "))", field: "task.\(unknown)")
            }
        }
        return try WireScheduleWrite(body: body)
    }

    /// The schedule this body describes, checked (the error names the member: `cron` with the
    /// bad token's position, `timezone`, `task.prompt`, …); `currentName` is kept when the body
    /// gives none (a PUT).
    func schedule(currentName: String? = nil) throws -> NewSchedule {
        let schedule = NewSchedule(
            name: name ?? currentName, cron: cron, timezone: timezone ?? "UTC", task: try task.template(), startsAt: startsAt, endsAt: endsAt,
            missed: try Self.choice(missed, field: "missed", default: MissedRunPolicy.skip),
            overlap: try Self.choice(overlap, field: "overlap", default: OverlapPolicy.allow), paused: paused ?? false)
        try schedule.validate()
        return schedule
    }

    /// The case named `text`, `fallback` when absent; `invalid_input` naming `field` otherwise.
    private static func choice<T: RawRepresentable & CaseIterable>(
        _ text: String?, field: String, default fallback: T
    ) throws -> T where T.RawValue == String {
        guard let text else { return fallback }
        guard let value = T(rawValue: text) else {
            throw NightshiftError.invalid(field, "expected one of \(T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), got '\(text)'")
        }
        return value
    }
}

/// A schedule's task template in a request body (the `task` of ``WireScheduleWrite``): every
/// member but `agent` and `prompt` may be left out (or null).
public struct WireTaskTemplateWrite: WireValue, Hashable {
    /// The agent.
    public var agent: String
    /// The prompt.
    public var prompt: String
    /// Extra input for the agent (an object; `{}` when left out).
    public var payload: JSONValue?
    /// Lower runs first; null: the default (10).
    public var priority: Int?
    /// The lane, if any.
    public var lane: String?
    /// Labels (`[]` when left out).
    public var labels: [String]?
    /// The spending limit of each task in US dollars, if any.
    public var budgetUSD: Double?
    /// Seconds a run may take, if limited.
    public var timeout: Double?
    /// Attempts in all, the first included; null: the agent's.
    public var maxAttempts: Int?
    /// The tasks' ask policy (`off`, `always`, `on-miss`); null: the agent's.
    public var ask: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case agent, prompt, payload, priority, lane, labels, timeout, ask
        case budgetUSD = "budget_usd", maxAttempts = "max_attempts"
    }

    /// A template for `agent` to run `prompt`; the other members are optional.
    public init(
        agent: String, prompt: String, payload: JSONValue? = nil, priority: Int? = nil, lane: String? = nil, labels: [String]? = nil,
        budgetUSD: Double? = nil, timeout: Double? = nil, maxAttempts: Int? = nil, ask: String? = nil
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

    /// The template this describes (checked with the schedule, naming `task.<member>`).
    func template() throws -> TaskTemplate {
        TaskTemplate(
            agent: agent, prompt: prompt, payload: payload ?? [:], priority: priority, lane: lane, labels: labels ?? [],
            budgetUSD: budgetUSD, timeout: timeout, maxAttempts: maxAttempts, ask: try ask.map { try AskPolicy(wire: $0, field: "task.ask") })
    }
}
