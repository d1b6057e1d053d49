import Foundation

/// One attempt at a task by one worker.
public struct Run: Sendable, Hashable, Codable {
    /// UUIDv7 id.
    public var id: String
    /// The task.
    public var taskID: TaskID
    /// 1 for the first run of the task, 2 for the next …
    public var attempt: Int
    /// The worker (node) that holds or held it.
    public var workerID: String
    /// The fencing token: only the holder of the current token may settle.
    public var leaseToken: String
    /// The lease ends here unless a heartbeat extends it.
    public var leaseExpiresAt: Date
    /// The last heartbeat.
    public var heartbeatAt: Date
    /// When it started.
    public var startedAt: Date
    /// When it ended, if it has.
    public var finishedAt: Date?
    /// How it ended (`succeeded`, `failed`, `usage_limit`, `parked`, `timed_out`, `cancelled`, `waiting`; lost to the
    /// node: `lost`, `released`, `interrupted`).
    public var outcome: String?
    /// The agent process's exit code, if there was one.
    public var exitCode: Int?
    /// Input tokens.
    public var tokensIn: Int
    /// Output tokens.
    public var tokensOut: Int
    /// Input tokens read from the prompt cache.
    public var cacheReadTokens: Int
    /// Input tokens written to the prompt cache.
    public var cacheWriteTokens: Int
    /// Cost in USD.
    public var costUSD: Double
    /// Whether the cost is an estimate from a price table.
    public var costEstimated: Bool
    /// The agent CLI's own session id, for resume.
    public var agentSessionID: String?
    /// Why it failed, if it did.
    public var error: String?
    /// The agent's turns (model round trips), when the agent reports them.
    public var turns: Int
    /// What went wrong without failing the run (a tool call the agent's permissions denied, say).
    public var warnings: [String]
    /// The agent's process as its run recorded it (for killing what a lost run left), if any.
    public var agentProcess: AgentProcessRecord?
    /// The agent's tool calls, by tool name (see ``RunUsage/toolCalls``).
    public var toolCalls: [String: Int]

    /// Creates a run value (stores build these from rows).
    public init(
        id: String, taskID: TaskID, attempt: Int, workerID: String, leaseToken: String, leaseExpiresAt: Date,
        heartbeatAt: Date, startedAt: Date, finishedAt: Date? = nil, outcome: String? = nil, exitCode: Int? = nil,
        tokensIn: Int = 0, tokensOut: Int = 0, cacheReadTokens: Int = 0, cacheWriteTokens: Int = 0, costUSD: Double = 0,
        costEstimated: Bool = false, agentSessionID: String? = nil, error: String? = nil, turns: Int = 0,
        warnings: [String] = [], toolCalls: [String: Int] = [:]
    ) {
        self.turns = turns
        self.warnings = warnings
        self.toolCalls = toolCalls
        self.id = id
        self.taskID = taskID
        self.attempt = attempt
        self.workerID = workerID
        self.leaseToken = leaseToken
        self.leaseExpiresAt = leaseExpiresAt
        self.heartbeatAt = heartbeatAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.exitCode = exitCode
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.costUSD = costUSD
        self.costEstimated = costEstimated
        self.agentSessionID = agentSessionID
        self.error = error
    }

    /// The lease this run holds (or held).
    public var lease: Lease { Lease(taskID: taskID, runID: id, token: leaseToken) }
}

/// The right to settle one run of one task: proof, checked by the store, that the holder is still
/// the task's current worker.
public struct Lease: Sendable, Hashable, Codable {
    /// The task.
    public var taskID: TaskID
    /// The run.
    public var runID: String
    /// The fencing token.
    public var token: String

    /// Creates a lease value.
    public init(taskID: TaskID, runID: String, token: String) {
        self.taskID = taskID
        self.runID = runID
        self.token = token
    }
}

/// A task a worker claimed: the task (now running) and its new run.
public struct ClaimedRun: Sendable, Hashable {
    /// The task, in state running.
    public var task: AgentTask
    /// The run just started.
    public var run: Run

    /// Creates a claimed run.
    public init(task: AgentTask, run: Run) {
        self.task = task
        self.run = run
    }

    /// The lease to heartbeat and settle with.
    public var lease: Lease { run.lease }
}

/// Tokens, cost and identity a run reports.
public struct RunUsage: Sendable, Hashable, Codable {
    /// Input tokens (not counting cache reads and writes).
    public var tokensIn: Int
    /// Output tokens.
    public var tokensOut: Int
    /// Input tokens read from the prompt cache.
    public var cacheReadTokens: Int
    /// Input tokens written to the prompt cache.
    public var cacheWriteTokens: Int
    /// Cost in USD.
    public var costUSD: Double
    /// Whether ``costUSD`` is an estimate from a price table rather than the agent's own figure.
    public var costEstimated: Bool
    /// The agent CLI's session id.
    public var agentSessionID: String?
    /// The process's exit code.
    public var exitCode: Int?
    /// The agent's turns (model round trips), when it reports them.
    public var turns: Int
    /// How long the run took, in seconds (the engine measures it).
    public var durationSeconds: Double
    /// The agent's tool calls, by tool name: one per `tool_call` event its runner wrote (and, for
    /// Codex, one per file change, as `file_change`).
    public var toolCalls: [String: Int]
    /// The model the run used, when its runner knows it: the one the CLI reported (Claude Code's
    /// `init` line; the model of Gemini's result stats with the most tokens, else its `init`'s),
    /// else the agent's configured model (docs/metrics.md). A label of the token and cost metrics,
    /// not stored with the run.
    public var model: String?

    /// Creates usage figures; all zero by default.
    public init(
        tokensIn: Int = 0, tokensOut: Int = 0, cacheReadTokens: Int = 0, cacheWriteTokens: Int = 0,
        costUSD: Double = 0, costEstimated: Bool = false, agentSessionID: String? = nil, exitCode: Int? = nil,
        turns: Int = 0, durationSeconds: Double = 0, toolCalls: [String: Int] = [:], model: String? = nil
    ) {
        self.model = model
        self.turns = turns
        self.toolCalls = toolCalls
        self.durationSeconds = durationSeconds
        self.tokensIn = tokensIn
        self.tokensOut = tokensOut
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.costUSD = costUSD
        self.costEstimated = costEstimated
        self.agentSessionID = agentSessionID
        self.exitCode = exitCode
    }
}

/// How a run ended, with what it produced.
public struct RunOutcome: Sendable, Hashable {
    /// What the lifecycle does with it.
    public var resolution: RunResolution
    /// The outcome's name on the run (`succeeded`, `failed`, `timed_out`, …).
    public var label: String
    /// The result text (success).
    public var result: String?
    /// Why it failed.
    public var error: String?
    /// For a wait: when to wake the task by itself, if at all.
    public var wakeAt: Date?
    /// For a wait: the question asked or the prompt to continue with.
    public var message: String?
    /// Tokens, cost, session id, exit code.
    public var usage: RunUsage
    /// For a provider's usage limit: when the provider says it resets, if it says.
    public var resetsAt: Date?
    /// What went wrong without deciding the outcome (a denied tool call, say), for the run's record.
    public var warnings: [String]
    /// For a run parked by a usage limit: the quota group to park and for how long (the settle
    /// computes the end from ``resetsAt`` and the group's previous park).
    public var park: ParkRequest?
    /// For a wait that is not a plain question or wake time (an approval the agent asks for): what
    /// the task waits for. `nil`: derived from ``wakeAt`` and ``message`` (see ``wait``).
    public var waitingFor: WaitingFor?

    /// Creates an outcome.
    public init(
        resolution: RunResolution, label: String, result: String? = nil, error: String? = nil,
        wakeAt: Date? = nil, message: String? = nil, usage: RunUsage = RunUsage(), resetsAt: Date? = nil,
        warnings: [String] = []
    ) {
        self.resetsAt = resetsAt
        self.warnings = warnings
        self.resolution = resolution
        self.label = label
        self.result = result
        self.error = error
        self.wakeAt = wakeAt
        self.message = message
        self.usage = usage
    }

    /// The agent finished with `result`.
    public static func succeeded(_ result: String?, usage: RunUsage = RunUsage()) -> RunOutcome {
        RunOutcome(resolution: .succeeded, label: "succeeded", result: result, usage: usage)
    }

    /// The run failed; `retryable` says whether another attempt may help.
    public static func failed(_ error: String, retryable: Bool = true, usage: RunUsage = RunUsage()) -> RunOutcome {
        RunOutcome(resolution: .failed(retryable: retryable), label: "failed", error: error, usage: usage)
    }

    /// The node lost or gave back the run, not through the agent's fault (see
    /// ``RunResolution/released``): `label` says how (`released`, `lost`, `interrupted`) and
    /// `reason` why, if there is more to say.
    public static func interrupted(_ label: String, reason: String?) -> RunOutcome {
        RunOutcome(resolution: .released, label: label, error: reason)
    }

    /// The end of a run whose worker is gone (its lease expired, or its node restarted): label
    /// `lost`, an interruption, not a failure.
    public static func lost(_ reason: String) -> RunOutcome {
        interrupted("lost", reason: reason)
    }

    /// The provider's usage limit (a plan's quota, not a momentary rate limit) stopped the run:
    /// its own kind, labelled `usage_limit`, with the reset time when the provider gives one.
    /// Retryable; the engine parks the agent's quota group instead (``parked(_:resetsAt:park:usage:)``)
    /// unless the agent turned parking off.
    public static func usageLimit(_ error: String, resetsAt: Date?, usage: RunUsage = RunUsage()) -> RunOutcome {
        RunOutcome(resolution: .failed(retryable: true), label: usageLimitLabel, error: error, usage: usage, resetsAt: resetsAt)
    }

    /// The label of a run stopped by a provider's usage limit.
    public static let usageLimitLabel = "usage_limit"

    /// A provider's usage limit stopped the run and parks `park`'s quota group until `resetsAt`
    /// (plus the margin; a default when `nil`): labelled `parked`, no failure charged, the task
    /// queued again for the park's end.
    public static func parked(_ reason: String, resetsAt: Date?, park: ParkRequest, usage: RunUsage = RunUsage()) -> RunOutcome {
        var outcome = RunOutcome(resolution: .parked, label: parkedLabel, error: reason, usage: usage, resetsAt: resetsAt)
        outcome.park = park
        return outcome
    }

    /// The label of a run parked by a provider's usage limit.
    public static let parkedLabel = "parked"

    /// The agent asks a question and waits for input.
    public static func waitingForInput(_ question: String, usage: RunUsage = RunUsage()) -> RunOutcome {
        RunOutcome(resolution: .waiting, label: "waiting", message: question, usage: usage)
    }

    /// The agent asks for a person's approval (of `tool` with `input`, when it is a tool call):
    /// the task waits until someone approves or rejects.
    public static func approvalRequested(
        _ question: String?, tool: String? = nil, input: JSONValue? = nil, usage: RunUsage = RunUsage()
    ) -> RunOutcome {
        var outcome = RunOutcome(resolution: .waiting, label: "waiting", message: question, usage: usage)
        outcome.waitingFor = WaitingFor(kind: .approval, question: question, tool: tool, toolInput: input)
        return outcome
    }

    /// The agent waits for the subtasks it created: the task wakes when every one has ended, and
    /// resumes with a summary of their states and results.
    public static func waitingForChildren(_ message: String? = nil, usage: RunUsage = RunUsage()) -> RunOutcome {
        var outcome = RunOutcome(resolution: .waiting, label: "waiting", message: message, usage: usage)
        outcome.waitingFor = WaitingFor(kind: .children, question: message)
        return outcome
    }

    /// What a waiting outcome waits for: ``waitingFor`` when given, else a wake time (with its
    /// follow-up prompt as ``message``) or the question in ``message``.
    public var wait: WaitingFor {
        if let waitingFor { return waitingFor }
        if let wakeAt { return WaitingFor(kind: .wake, wakeAt: wakeAt) }
        return WaitingFor(kind: .input, question: message)
    }

    /// The agent asks to be woken at `date`, continuing with `prompt` if given.
    public static func wake(at date: Date, prompt: String?, usage: RunUsage = RunUsage()) -> RunOutcome {
        RunOutcome(resolution: .waiting, label: "waiting", wakeAt: date, message: prompt, usage: usage)
    }
}

/// What a settle did.
public enum SettleResult: Sendable, Hashable {
    /// The run was settled now; the task moved to this state.
    case settled(TaskState)
    /// The same lease settled before: nothing changed; the task went to this state then.
    case alreadySettled(TaskState)
    /// The lease is no longer the task's current lease (lost, rescued, cancelled): nothing changed.
    case stale(reason: String)
}
