import Foundation
import Nightshift

/// A run (one attempt of a task) as the API answers it.
public struct WireRun: WireValue, Hashable {
    /// The run's id.
    public var id: String
    /// The task it is an attempt of.
    public var taskID: String
    /// The attempt number, from 1.
    public var attempt: Int
    /// The worker that runs or ran it.
    public var workerID: String
    /// When it started.
    public var startedAt: Date
    /// Its worker's last heartbeat.
    public var heartbeatAt: Date
    /// When its lease runs out unless renewed.
    public var leaseExpiresAt: Date
    /// When it ended, if it has.
    public var finishedAt: Date?
    /// How it ended (`succeeded`, `failed`, …), if it has.
    public var outcome: String?
    /// The agent process's exit status, if it exited.
    public var exitCode: Int?
    /// Input tokens.
    public var tokensIn: Int
    /// Output tokens.
    public var tokensOut: Int
    /// Cache-read tokens.
    public var cacheReadTokens: Int
    /// Cache-write tokens.
    public var cacheWriteTokens: Int
    /// What it cost in US dollars.
    public var costUSD: Double
    /// Whether the cost was estimated from tokens rather than reported.
    public var costEstimated: Bool
    /// The agent's own session id, if it reported one.
    public var agentSessionID: String?
    /// Why it failed, if it did.
    public var error: String?
    /// Agent turns.
    public var turns: Int
    /// What went wrong without failing the run.
    public var warnings: [String]
    /// The agent's tool calls, by tool name.
    public var toolCalls: [String: Int]

    enum CodingKeys: String, CodingKey {
        case id, attempt, outcome, error, turns, warnings
        case toolCalls = "tool_calls"
        case taskID = "task_id", workerID = "worker_id", startedAt = "started_at", heartbeatAt = "heartbeat_at"
        case leaseExpiresAt = "lease_expires_at", finishedAt = "finished_at", exitCode = "exit_code", tokensIn = "tokens_in"
        case tokensOut = "tokens_out", cacheReadTokens = "cache_read_tokens", cacheWriteTokens = "cache_write_tokens"
        case costUSD = "cost_usd", costEstimated = "cost_estimated", agentSessionID = "agent_session_id"
    }
}

extension WireRun {
    /// The wire form of `run`.
    public init(_ run: Run) {
        self.init(
            id: run.id, taskID: run.taskID.rawValue, attempt: run.attempt, workerID: run.workerID, startedAt: run.startedAt,
            heartbeatAt: run.heartbeatAt, leaseExpiresAt: run.leaseExpiresAt, finishedAt: run.finishedAt, outcome: run.outcome,
            exitCode: run.exitCode, tokensIn: run.tokensIn, tokensOut: run.tokensOut, cacheReadTokens: run.cacheReadTokens,
            cacheWriteTokens: run.cacheWriteTokens, costUSD: run.costUSD, costEstimated: run.costEstimated,
            agentSessionID: run.agentSessionID, error: run.error, turns: run.turns, warnings: run.warnings,
            toolCalls: run.toolCalls)
    }
}

/// An event of a task's log as the API answers it (and as each SSE message's data).
public struct WireEvent: WireValue, Hashable {
    /// Its place in the task's log, from 1.
    public var seq: Int64
    /// When it happened.
    public var time: Date
    /// What happened (`state`, `output`, …).
    public var type: String
    /// The details, by type.
    public var data: JSONValue
}

extension WireEvent {
    /// The wire form of `event`.
    public init(_ event: TaskEvent) {
        self.init(seq: event.seq, time: event.time, type: event.type, data: event.data)
    }

    /// The state a `state` event moved the task to, if it is one.
    public var stateTo: String? { type == "state" ? data["to"]?.stringValue : nil }
}

/// A recorded workflow step as the API answers it (`GET /v1/tasks/{id}/steps`).
public struct WireStep: WireValue, Hashable {
    /// Its place in the workflow, from 0.
    public var position: Int
    /// Its name.
    public var name: String
    /// `completed`, `failed` or `skipped`.
    public var state: String
    /// What it returned (completed steps).
    public var output: JSONValue?
    /// Why it failed.
    public var error: String?
    /// Attempts made.
    public var attempts: Int
    /// The run that ran it.
    public var runID: String
    /// When its first attempt started.
    public var startedAt: Date
    /// When it ended.
    public var finishedAt: Date
    /// How long it took, in seconds.
    public var durationSeconds: Double

    enum CodingKeys: String, CodingKey {
        case position, name, state, output, error, attempts
        case runID = "run_id", startedAt = "started_at", finishedAt = "finished_at", durationSeconds = "duration_s"
    }
}

extension WireStep {
    /// The wire form of `step`.
    public init(_ step: WorkflowStep) {
        self.init(
            position: step.position, name: step.name, state: step.state.rawValue, output: step.output, error: step.error,
            attempts: step.attempts, runID: step.runID, startedAt: step.startedAt, finishedAt: step.finishedAt, durationSeconds: step.duration)
    }
}
