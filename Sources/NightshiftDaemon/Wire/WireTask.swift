import Foundation
import Nightshift

/// A task as the API answers it (`GET /v1/tasks/{id}` and every route that answers a task).
public struct WireTask: WireValue, Hashable {
    /// Where a task came from: a channel and, within it, a session.
    public struct Origin: WireValue, Hashable {
        /// The channel (`slack`, `cli`, …).
        public var channel: String
        /// The session within the channel, if any.
        public var session: String?
        /// The thread to reply in, if any.
        public var thread: String?
        /// Whether the channel is told about the task.
        public var notify: Bool
    }

    /// The task's id (a UUIDv7).
    public var id: String
    /// The workspace the task belongs to.
    public var workspaceID: String
    /// The agent that runs it.
    public var agent: String
    /// The prompt.
    public var prompt: String
    /// Extra input for the agent.
    public var payload: JSONValue
    /// Lower runs first.
    public var priority: Int
    /// The lane (a concurrency group), if any.
    public var lane: String?
    /// Labels to filter by.
    public var labels: [String]
    /// Where it came from, if known.
    public var origin: Origin?
    /// The key that makes a repeated submit answer this task.
    public var idempotencyKey: String?
    /// The key that makes a submit answer this task while it is live.
    public var dedupKey: String?
    /// The spending limit in US dollars, if any.
    public var budgetUSD: Double?
    /// Seconds a run may take, if limited.
    public var timeout: Double?
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// The lifecycle state (`queued`, `running`, `done`, …).
    public var state: String
    /// Runs started so far.
    public var attempt: Int
    /// Runs that failed.
    public var failures: Int
    /// Runs cut short by a crash or shutdown.
    public var interruptions: Int
    /// When it may run next.
    public var availableAt: Date
    /// When it was submitted.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date
    /// When it ended, if it has.
    public var finishedAt: Date?
    /// The agent's answer, if done.
    public var result: String?
    /// Why it failed, if it did.
    public var error: String?
    /// What its runs cost in US dollars.
    public var costUSD: Double
    /// Whether it was archived (left out of default listings).
    public var archived: Bool
    /// Input tokens over its runs.
    public var tokensIn: Int
    /// Output tokens over its runs.
    public var tokensOut: Int
    /// Cache-read tokens over its runs.
    public var cacheReadTokens: Int
    /// Cache-write tokens over its runs.
    public var cacheWriteTokens: Int
    /// All tokens over its runs.
    public var tokensUsed: Int
    /// Agent turns over its runs.
    public var turns: Int
    /// Seconds its runs took.
    public var runSeconds: Double
    /// What it waits for, while it is waiting (a question, an approval, a wake time).
    public var waitingFor: WireWaitingFor?
    /// Inputs in its inbox not yet handed to the agent.
    public var pendingInputs: Int
    /// The task it is a subtask of, if any.
    public var parentID: String?
    /// How deep it nests: 0 for a top-level task, 1 for its subtasks, and so on.
    public var subtaskDepth: Int
    /// The task's own ask policy (`off`, `always`, `on-miss`), if it was given one; its agent's otherwise.
    public var ask: String? = nil
    /// The schedule that fired it, if one did (its id).
    public var scheduleID: String? = nil
    /// The fire time it was submitted for, if a schedule fired it (the time of a trigger for one fired by hand).
    public var scheduledFor: Date? = nil
    /// The task's own execution policy over its agent's (only the fields it sets), if it has one.
    public var policy: JSONValue? = nil

    enum CodingKeys: String, CodingKey {
        case id, agent, prompt, payload, priority, lane, labels, origin, timeout, state, attempt, failures, interruptions
        case result, error, archived, turns
        case workspaceID = "workspace_id", idempotencyKey = "idempotency_key", dedupKey = "dedup_key"
        case budgetUSD = "budget_usd", maxAttempts = "max_attempts", availableAt = "available_at", createdAt = "created_at"
        case updatedAt = "updated_at", finishedAt = "finished_at", costUSD = "cost_usd", tokensIn = "tokens_in"
        case tokensOut = "tokens_out", cacheReadTokens = "cache_read_tokens", cacheWriteTokens = "cache_write_tokens"
        case tokensUsed = "tokens_used", runSeconds = "run_seconds", waitingFor = "waiting_for", pendingInputs = "pending_inputs"
        case parentID = "parent_id", subtaskDepth = "subtask_depth", ask
        case scheduleID = "schedule_id", scheduledFor = "scheduled_for", policy
    }
}

extension WireTask {
    /// The wire form of `task`.
    public init(_ task: AgentTask) {
        self.init(
            id: task.id.rawValue, workspaceID: task.workspaceID, agent: task.agent, prompt: task.prompt, payload: task.payload,
            priority: task.priority, lane: task.lane, labels: task.labels,
            origin: task.origin.map { Origin(channel: $0.channel, session: $0.session, thread: $0.thread, notify: $0.notify) },
            idempotencyKey: task.idempotencyKey, dedupKey: task.dedupKey, budgetUSD: task.budgetUSD, timeout: task.timeout,
            maxAttempts: task.retry.maxAttempts, state: task.state.rawValue, attempt: task.attempt, failures: task.failures,
            interruptions: task.interruptions, availableAt: task.availableAt, createdAt: task.createdAt, updatedAt: task.updatedAt,
            finishedAt: task.finishedAt, result: task.result, error: task.error, costUSD: task.costUSD,
            archived: task.archivedAt != nil, tokensIn: task.totals.tokensIn, tokensOut: task.totals.tokensOut,
            cacheReadTokens: task.totals.cacheReadTokens, cacheWriteTokens: task.totals.cacheWriteTokens,
            tokensUsed: task.totals.tokensUsed, turns: task.totals.turns, runSeconds: task.totals.runSeconds,
            waitingFor: task.waitingFor.map(WireWaitingFor.init), pendingInputs: task.pendingInputs,
            parentID: task.parentID?.rawValue, subtaskDepth: task.subtaskDepth, ask: task.ask?.rawValue,
            scheduleID: task.scheduleID, scheduledFor: task.scheduledFor, policy: task.policy?.json)
    }

    /// Whether the task has ended and never changes on its own again.
    public var isTerminal: Bool { TaskState(rawValue: state)?.isTerminal ?? false }
}
