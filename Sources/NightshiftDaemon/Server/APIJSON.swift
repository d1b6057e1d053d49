import Foundation
import Nightshift

/// The API's JSON forms of domain values (see docs/api.md), and the reading of request bodies
/// with errors that name the field.
public enum APIJSON {
    /// RFC 3339 in UTC with milliseconds (``JSONTime``).
    public static func time(_ date: Date) -> JSONValue {
        JSONTime.json(date)
    }

    static func time(_ date: Date?) -> JSONValue { date.map(time) ?? .null }
    static func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
    static func number(_ value: Double?) -> JSONValue { value.map(JSONValue.double) ?? .null }
    static func int(_ value: Int?) -> JSONValue { value.map { .int(Int64($0)) } ?? .null }

    /// A task.
    public static func task(_ task: AgentTask) -> JSONValue {
        [
            "id": .string(task.id.rawValue), "workspace_id": .string(task.workspaceID), "agent": .string(task.agent),
            "prompt": .string(task.prompt), "payload": task.payload, "priority": .int(Int64(task.priority)),
            "lane": string(task.lane), "labels": .array(task.labels.map(JSONValue.string)),
            "origin": task.origin.map { ["channel": .string($0.channel), "session": string($0.session)] } ?? .null,
            "idempotency_key": string(task.idempotencyKey), "dedup_key": string(task.dedupKey),
            "budget_usd": number(task.budgetUSD), "timeout": number(task.timeout),
            "max_attempts": .int(Int64(task.retry.maxAttempts)), "state": .string(task.state.rawValue),
            "attempt": .int(Int64(task.attempt)), "failures": .int(Int64(task.failures)),
            "interruptions": .int(Int64(task.interruptions)), "available_at": time(task.availableAt), "created_at": time(task.createdAt), "updated_at": time(task.updatedAt),
            "finished_at": time(task.finishedAt), "result": string(task.result), "error": string(task.error),
            "cost_usd": .double(task.costUSD), "archived": .bool(task.archivedAt != nil),
            "tokens_in": .int(Int64(task.totals.tokensIn)), "tokens_out": .int(Int64(task.totals.tokensOut)),
            "cache_read_tokens": .int(Int64(task.totals.cacheReadTokens)),
            "cache_write_tokens": .int(Int64(task.totals.cacheWriteTokens)), "tokens_used": .int(Int64(task.totals.tokensUsed)),
            "turns": .int(Int64(task.totals.turns)), "run_seconds": .double(task.totals.runSeconds),
        ]
    }

    /// A task event.
    public static func event(_ event: TaskEvent) -> JSONValue {
        ["seq": .int(event.seq), "time": time(event.time), "type": .string(event.type), "data": event.data]
    }

    /// A run.
    public static func run(_ run: Run) -> JSONValue {
        [
            "id": .string(run.id), "task_id": .string(run.taskID.rawValue), "attempt": .int(Int64(run.attempt)),
            "worker_id": .string(run.workerID), "started_at": time(run.startedAt), "heartbeat_at": time(run.heartbeatAt),
            "lease_expires_at": time(run.leaseExpiresAt), "finished_at": time(run.finishedAt), "outcome": string(run.outcome),
            "exit_code": int(run.exitCode), "tokens_in": .int(Int64(run.tokensIn)), "tokens_out": .int(Int64(run.tokensOut)),
            "cache_read_tokens": .int(Int64(run.cacheReadTokens)), "cache_write_tokens": .int(Int64(run.cacheWriteTokens)),
            "cost_usd": .double(run.costUSD), "cost_estimated": .bool(run.costEstimated),
            "agent_session_id": string(run.agentSessionID), "error": string(run.error), "turns": .int(Int64(run.turns)),
            "warnings": .array(run.warnings.map(JSONValue.string)),
        ]
    }

    /// Whether an agent's program can run here.
    public static func availability(_ report: AgentAvailability) -> JSONValue {
        [
            "agent": .string(report.agent), "runner": .string(report.runner.rawValue), "available": .bool(report.available),
            "path": string(report.path), "version": string(report.version), "problem": string(report.problem),
        ]
    }

    /// An agent's stats: its tasks, cost, tokens, turns and run time, summed over its tasks.
    public static func agentStats(_ stats: AgentStats) -> JSONValue {
        [
            "tasks": .int(Int64(stats.tasks)), "cost_usd": .double(stats.costUSD),
            "tokens_in": .int(Int64(stats.totals.tokensIn)), "tokens_out": .int(Int64(stats.totals.tokensOut)),
            "cache_read_tokens": .int(Int64(stats.totals.cacheReadTokens)),
            "cache_write_tokens": .int(Int64(stats.totals.cacheWriteTokens)), "tokens_used": .int(Int64(stats.totals.tokensUsed)),
            "turns": .int(Int64(stats.totals.turns)), "run_seconds": .double(stats.totals.runSeconds),
        ]
    }

    /// An agent's latest quota status: the CLI's fields and when it was seen.
    public static func quota(_ quota: AgentQuota) -> JSONValue {
        ["status": quota.status, "observed_at": time(quota.observedAt)]
    }

    /// An agent.
    public static func agent(_ agent: Agent) -> JSONValue {
        [
            "name": .string(agent.name), "runner": .string(agent.runner.rawValue), "config": agent.config,
            "concurrency": int(agent.concurrency), "timeout": number(agent.timeout),
            "max_attempts": .int(Int64(agent.retry.maxAttempts)), "initial_backoff": .double(agent.retry.initialBackoff),
            "max_backoff": .double(agent.retry.maxBackoff), "budget_usd": number(agent.budgetUSD),
            "spent_usd": .double(agent.spentUSD), "inject_memories": .bool(agent.injectMemories),
        ]
    }

    // MARK: Reading request bodies

    /// The members of a request body that must be a JSON object.
    static func object(_ body: JSONValue) throws -> [String: JSONValue] {
        guard let members = body.objectValue else {
            throw NightshiftError(.invalidInput, "expected a JSON object as the request body", field: "body")
        }
        return members
    }

    /// Refuses members the route does not know, so a typo is not silently ignored.
    static func rejectUnknown(_ members: [String: JSONValue], allowed: Set<String>) throws {
        if let unknown = members.keys.filter({ !allowed.contains($0) }).sorted().first {
            throw NightshiftError(.invalidInput, "unknown field; expected one of \(allowed.sorted().joined(separator: ", "))", field: unknown)
        }
    }

    static func string(_ members: [String: JSONValue], _ key: String, required: Bool = false) throws -> String? {
        switch members[key] {
        case nil, .null?:
            if required { throw NightshiftError(.invalidInput, "is required (a string)", field: key) }
            return nil
        case .string(let value)?: return value
        case let other?: throw NightshiftError(.invalidInput, "expected a string, got \(other.kindName)", field: key)
        }
    }

    static func int(_ members: [String: JSONValue], _ key: String) throws -> Int? {
        switch members[key] {
        case nil, .null?: return nil
        case .int(let value)?: return Int(value)
        case .double(let value)? where value.rounded() == value && abs(value) < 1e15: return Int(value)
        case let other?: throw NightshiftError(.invalidInput, "expected an integer, got \(other.kindName)", field: key)
        }
    }

    static func number(_ members: [String: JSONValue], _ key: String) throws -> Double? {
        switch members[key] {
        case nil, .null?: return nil
        case .int(let value)?: return Double(value)
        case .double(let value)?: return value
        case let other?: throw NightshiftError(.invalidInput, "expected a number, got \(other.kindName)", field: key)
        }
    }

    static func bool(_ members: [String: JSONValue], _ key: String) throws -> Bool? {
        switch members[key] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?: throw NightshiftError(.invalidInput, "expected true or false, got \(other.kindName)", field: key)
        }
    }

    static func strings(_ members: [String: JSONValue], _ key: String) throws -> [String]? {
        switch members[key] {
        case nil, .null?: return nil
        case .array(let values)?:
            return try values.enumerated().map { index, value in
                guard case .string(let text) = value else {
                    throw NightshiftError(.invalidInput, "expected a string, got \(value.kindName)", field: "\(key)[\(index)]")
                }
                return text
            }
        case let other?: throw NightshiftError(.invalidInput, "expected an array of strings, got \(other.kindName)", field: key)
        }
    }


    /// A submit request; `idempotencyHeader` is the `Idempotency-Key` header, if sent.
    static func newTask(_ body: JSONValue, idempotencyHeader: String?, now: Date) throws -> NewTask {
        let members = try object(body)
        try rejectUnknown(members, allowed: [
            "agent", "prompt", "payload", "priority", "lane", "labels", "idempotency_key", "dedup_key", "timeout",
            "max_attempts", "budget_usd", "delay", "workspace_id",
        ])
        var task = NewTask(agent: try string(members, "agent", required: true)!, prompt: try string(members, "prompt", required: true)!)
        if let workspace = try string(members, "workspace_id") { task.workspaceID = workspace }
        if let payload = members["payload"], payload != .null { task.payload = payload }
        if let priority = try int(members, "priority") { task.priority = priority }
        task.lane = try string(members, "lane")
        task.labels = try strings(members, "labels") ?? []
        let bodyKey = try string(members, "idempotency_key")
        if let bodyKey, let idempotencyHeader, bodyKey != idempotencyHeader {
            throw NightshiftError(.invalidInput, "differs from the Idempotency-Key header; send one or make them equal", field: "idempotency_key")
        }
        task.idempotencyKey = bodyKey ?? idempotencyHeader
        task.dedupKey = try string(members, "dedup_key")
        task.timeout = try number(members, "timeout")
        task.budgetUSD = try number(members, "budget_usd")
        if let attempts = try int(members, "max_attempts") {
            guard attempts >= 1 else { throw NightshiftError(.invalidInput, "expected an integer ≥ 1, got \(attempts)", field: "max_attempts") }
            task.retry = RetryPolicy(maxAttempts: attempts)
        }
        if let delay = try number(members, "delay") {
            guard delay >= 0, delay <= NewTask.maxDelay else {
                throw NightshiftError(.invalidInput, "expected seconds from 0 to \(Int(NewTask.maxDelay)) (a year), got \(delay)", field: "delay")
            }
            task.availableAt = now.addingTimeInterval(delay)
        }
        return task
    }

    /// An agent from a request body; `name` comes from the path on PUT.
    static func agent(_ body: JSONValue, name pathName: String?) throws -> Agent {
        let members = try object(body)
        try rejectUnknown(members, allowed: [
            "name", "runner", "config", "concurrency", "timeout", "max_attempts", "initial_backoff", "max_backoff",
            "budget_usd", "inject_memories",
        ])
        let bodyName = try string(members, "name", required: pathName == nil)
        if let pathName, let bodyName, pathName != bodyName {
            throw NightshiftError(.invalidInput, "differs from the name in the path", field: "name")
        }
        var retry = RetryPolicy.default
        if let attempts = try int(members, "max_attempts") { retry.maxAttempts = attempts }
        if let initial = try number(members, "initial_backoff") { retry.initialBackoff = initial }
        if let maximum = try number(members, "max_backoff") { retry.maxBackoff = maximum }
        let config = members["config"] ?? .object([:])
        let agent = Agent(
            name: pathName ?? bodyName!, runner: RunnerKind(try string(members, "runner", required: true)!),
            config: config == .null ? .object([:]) : config, concurrency: try int(members, "concurrency"),
            timeout: try number(members, "timeout"), retry: retry, budgetUSD: try number(members, "budget_usd"),
            injectMemories: try bool(members, "inject_memories") ?? false)
        try agent.validate()
        return agent
    }
}
