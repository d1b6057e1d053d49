import Foundation

/// A task row's facts that a transition needs. Both stores read them (with ``columns``) before
/// moving a task; ``SettlePlan`` decides settles from them.
package struct TaskFacts: Sendable {
    package var id: TaskID
    /// The task's workspace (its agent is the one of that name there).
    package var workspace: String
    package var agent: String
    package var state: TaskState
    package var failures: Int
    /// Runs lost to the node so far (see ``AgentTask/interruptions``).
    package var interruptions: Int
    package var retry: RetryPolicy
    package var runID: String?
    package var leaseToken: String?
    package var attempt: Int
    /// The seq of the task's last event; the move's `state` event takes the next one.
    package var lastSeq: Int64
    /// The task's budget in USD, if any.
    package var budgetUSD: Double?
    /// What its runs have cost so far.
    package var costUSD: Double
    /// Inputs in its inbox not yet handed to the agent.
    package var pendingInputs: Int = 0
    /// What it waits for, when it is waiting.
    package var waitingFor: WaitingFor?
    /// Whether a person asked the task to pause while it runs (see ``Lifecycle``).
    package var pauseRequested = false

    /// The columns, in this order, that the stores read facts from.
    package static let columns = """
        id, agent, state, failures, max_attempts, initial_backoff, max_backoff, run_id, lease_token, attempt, last_seq,
        budget_usd, cost_usd, interruptions, workspace_id, pending_inputs, waiting_for, pause_requested
        """

    package init(
        id: TaskID, agent: String, state: TaskState, failures: Int, retry: RetryPolicy, runID: String?, leaseToken: String?,
        attempt: Int, lastSeq: Int64, budgetUSD: Double?, costUSD: Double, interruptions: Int, workspace: String,
        pendingInputs: Int = 0, waitingFor: WaitingFor? = nil, pauseRequested: Bool = false
    ) {
        self.pauseRequested = pauseRequested
        self.workspace = workspace
        self.interruptions = interruptions
        self.pendingInputs = pendingInputs
        self.waitingFor = waitingFor
        self.id = id
        self.agent = agent
        self.state = state
        self.failures = failures
        self.retry = retry
        self.runID = runID
        self.leaseToken = leaseToken
        self.attempt = attempt
        self.lastSeq = lastSeq
        self.budgetUSD = budgetUSD
        self.costUSD = costUSD
    }

    /// The facts of a task read in full.
    package init(_ task: AgentTask, runID: String?, leaseToken: String?, lastSeq: Int64) {
        self.init(
            id: task.id, agent: task.agent, state: task.state, failures: task.failures, retry: task.retry, runID: runID,
            leaseToken: leaseToken, attempt: task.attempt, lastSeq: lastSeq, budgetUSD: task.budgetUSD, costUSD: task.costUSD,
            interruptions: task.interruptions, workspace: task.workspaceID, pendingInputs: task.pendingInputs,
            waitingFor: task.waitingFor)
    }

    /// The task's agent, by workspace and name.
    package var agentName: ScopedName { ScopedName(workspace: workspace, name: agent) }

    /// The state `action` leads to, or the lifecycle's error as a ``NightshiftError``.
    package func next(on action: LifecycleAction, budget: RetryBudget? = nil) throws(NightshiftError) -> TaskState {
        do {
            return try Lifecycle.next(
                from: state, on: action, task: id,
                budget: budget ?? RetryBudget(failures: failures, maxAttempts: retry.maxAttempts, interruptions: interruptions),
                pauseRequested: pauseRequested)
        } catch {
            throw NightshiftError(error)
        }
    }
}

extension TaskTotals {
    /// The task columns that hold the totals, in the order of the figures a settle adds to them
    /// (tokens in, out, cache read, cache write, turns, run seconds). Both stores use these names.
    package static let columns = ["tokens_in", "tokens_out", "cache_read_tokens", "cache_write_tokens", "turns", "run_seconds"]
}

extension RunOutcome {
    /// The warnings as a JSON array's text, or `nil` when there are none: how both stores keep them.
    package var warningsText: String? {
        warnings.isEmpty ? nil : JSONValue.array(warnings.map(JSONValue.string)).jsonText
    }
}

extension RunUsage {
    /// The tool calls as a JSON object's text (`{"Bash":3,"Read":1}`, by name), or `nil` when there
    /// are none: how both stores keep them in `runs.tool_calls`.
    package var toolCallsText: String? {
        toolCalls.isEmpty ? nil : JSONValue.objectText(toolCalls.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })
    }

    /// Tool calls read back from their JSON object's text (``toolCallsText``); none for `nil` or
    /// text that is not such an object.
    package static func toolCalls(fromText text: String?) -> [String: Int] {
        guard let text, case .object(let members)? = try? JSONValue(jsonText: text) else { return [:] }
        return members.compactMapValues { value in
            if case .int(let count) = value { return Int(count) }
            return nil
        }
    }
}
