import Foundation

/// A task as stored: the request, the defaults it was given, and where it is in its life.
public struct AgentTask: Sendable, Hashable, Codable {
    /// UUIDv7 id.
    public var id: TaskID
    /// The workspace that owns it.
    public var workspaceID: String
    /// The agent that runs it.
    public var agent: String
    /// What the agent is asked to do.
    public var prompt: String
    /// Structured input: a JSON object.
    public var payload: JSONValue
    /// Lower runs first.
    public var priority: Int
    /// Concurrency lane, if any.
    public var lane: String?
    /// Labels for filtering.
    public var labels: [String]
    /// Where it came from.
    public var origin: Origin?
    /// Its idempotency key, if any.
    public var idempotencyKey: String?
    /// Its dedup key, if any.
    public var dedupKey: String?
    /// Spending cap in USD.
    public var budgetUSD: Double?
    /// Per-run timeout in seconds (the agent's default when the submit gave none).
    public var timeout: Double?
    /// Retry policy (the agent's default when the submit gave none).
    public var retry: RetryPolicy
    /// Not claimed before this time.
    public var availableAt: Date
    /// The current state.
    public var state: TaskState
    /// Runs started so far: the number of the current or last run.
    public var attempt: Int
    /// Failed runs since submit or the last manual retry: the agent's failures, which use up
    /// ``RetryPolicy/maxAttempts``.
    public var failures: Int
    /// Runs lost to the node rather than failed by the agent (worker lost, reclaimed at restart,
    /// store unavailable before the agent started, released at shutdown) since submit or the last
    /// manual retry. They never use up attempts; ``RetryBudget/interruptionLimit`` caps them.
    public var interruptions: Int
    /// When it was submitted.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date
    /// When it reached a terminal state, if it has.
    public var finishedAt: Date?
    /// The result of the successful run.
    public var result: String?
    /// Why the last run failed, or why the task ended in error.
    public var error: String?
    /// Total cost of its runs in USD.
    public var costUSD: Double
    /// When the task was archived (hidden from default listings), if it was.
    public var archivedAt: Date?
    /// Tokens, turns and run time summed over its settled runs (the cost is ``costUSD``).
    public var totals: TaskTotals
    /// What it waits for, while it is waiting.
    public var waitingFor: WaitingFor?
    /// Inputs in its inbox not yet handed to the agent.
    public var pendingInputs: Int
    /// The task that created it, for a subtask.
    public var parentID: TaskID?
    /// How deep it is in its tree: 0 for a top-level task, its parent's depth + 1 for a subtask.
    public var subtaskDepth: Int
    /// Its own ask policy, overriding its agent's; `nil`: the agent's.
    public var ask: AskPolicy?
    /// The schedule that fired it, if one did.
    public var scheduleID: String?
    /// The occurrence of the schedule it was fired for.
    public var scheduledFor: Date?
    /// Its own execution policy, narrowing its agent's (``ExecutionPolicy``); `nil`: the agent's.
    public var policy: ExecutionPolicy?
    /// The W3C `traceparent` of the span its submit was traced in, if tracing was on: its claim,
    /// runs and settles are traced as children of it, across nodes and restarts.
    public var traceParent: String?

    /// Creates a task value (stores build these from rows).
    public init(
        id: TaskID, workspaceID: String, agent: String, prompt: String, payload: JSONValue, priority: Int,
        lane: String?, labels: [String], origin: Origin?, idempotencyKey: String?, dedupKey: String?,
        budgetUSD: Double?, timeout: Double?, retry: RetryPolicy, availableAt: Date, state: TaskState,
        attempt: Int, failures: Int, createdAt: Date, updatedAt: Date, finishedAt: Date?,
        result: String?, error: String?, costUSD: Double, archivedAt: Date? = nil, totals: TaskTotals = TaskTotals(),
        interruptions: Int = 0, waitingFor: WaitingFor? = nil, pendingInputs: Int = 0, parentID: TaskID? = nil, subtaskDepth: Int = 0,
        ask: AskPolicy? = nil, scheduleID: String? = nil, scheduledFor: Date? = nil, policy: ExecutionPolicy? = nil
    ) {
        self.policy = policy
        self.scheduleID = scheduleID
        self.scheduledFor = scheduledFor
        self.ask = ask
        self.parentID = parentID
        self.subtaskDepth = subtaskDepth
        self.waitingFor = waitingFor
        self.pendingInputs = pendingInputs
        self.interruptions = interruptions
        self.archivedAt = archivedAt
        self.totals = totals
        self.id = id
        self.workspaceID = workspaceID
        self.agent = agent
        self.prompt = prompt
        self.payload = payload
        self.priority = priority
        self.lane = lane
        self.labels = labels
        self.origin = origin
        self.idempotencyKey = idempotencyKey
        self.dedupKey = dedupKey
        self.budgetUSD = budgetUSD
        self.timeout = timeout
        self.retry = retry
        self.availableAt = availableAt
        self.state = state
        self.attempt = attempt
        self.failures = failures
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
        self.result = result
        self.error = error
        self.costUSD = costUSD
    }
}

/// A task's figures summed over its settled runs, covering the same scope as its cost.
public struct TaskTotals: Sendable, Hashable, Codable {
    /// Input tokens (cache reads and writes not counted).
    public var tokensIn: Int
    /// Output tokens (reasoning and thought tokens included).
    public var tokensOut: Int
    /// Input tokens read from the prompt cache.
    public var cacheReadTokens: Int
    /// Input tokens written to the prompt cache.
    public var cacheWriteTokens: Int
    /// The agent's turns.
    public var turns: Int
    /// The time its runs took, in seconds.
    public var runSeconds: Double

    /// Creates totals; all zero by default.
    public init(
        tokensIn: Int = 0, tokensOut: Int = 0, cacheReadTokens: Int = 0, cacheWriteTokens: Int = 0, turns: Int = 0,
        runSeconds: Double = 0
    ) {
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.turns = turns
        self.runSeconds = runSeconds
    }

    /// Every token the task's runs used: in, out, cache reads and cache writes.
    public var tokensUsed: Int { tokensIn + tokensOut + cacheReadTokens + cacheWriteTokens }
}

/// One agent's figures summed over its tasks: the same scope as the tasks' totals and cost.
public struct AgentStats: Sendable, Hashable {
    /// The agent.
    public var agent: String
    /// Its tasks.
    public var tasks: Int
    /// What their runs cost, in USD.
    public var costUSD: Double
    /// Their tokens, turns and run time.
    public var totals: TaskTotals

    /// Creates an agent's stats.
    public init(agent: String, tasks: Int, costUSD: Double, totals: TaskTotals) {
        self.agent = agent
        self.tasks = tasks
        self.costUSD = costUSD
        self.totals = totals
    }
}

/// What a submit did.
public enum SubmitResult: Sendable, Hashable {
    /// A new task was queued.
    case inserted(AgentTask)
    /// A task with the same idempotency key exists: this is it, unchanged.
    case existingIdempotent(AgentTask)
    /// A live task with the same dedup key exists: this is it, unchanged.
    case existingDedup(AgentTask)

    /// The task, new or existing.
    public var task: AgentTask {
        switch self {
        case .inserted(let task), .existingIdempotent(let task), .existingDedup(let task): task
        }
    }

    /// Whether a new task was written.
    public var inserted: Bool {
        if case .inserted = self { return true }
        return false
    }
}
