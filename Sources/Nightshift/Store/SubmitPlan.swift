import Foundation

/// The settings of a task's agent that a submit reads: the defaults the task takes for what it
/// leaves out, and the budget it checks.
package struct SubmitAgent: Sendable, Equatable {
    package var timeout: Double?
    package var retry: RetryPolicy
    package var budgetUSD: Double?
    package var spentUSD: Double
    /// The agent's ask policy.
    package var ask: AskPolicy = .off
    /// The agent's runner, which decides whether a task may ask `on-miss`.
    package var runner: RunnerKind?
    /// The lane its tasks take when they name none: its repository's, when that has a
    /// `repo_concurrency` (``Agent/repoLane``).
    package var repoLane: String?

    package init(
        timeout: Double?, retry: RetryPolicy, budgetUSD: Double?, spentUSD: Double, ask: AskPolicy = .off, runner: RunnerKind? = nil,
        repoLane: String? = nil
    ) {
        self.repoLane = repoLane
        self.runner = runner
        self.ask = ask
        self.timeout = timeout
        self.retry = retry
        self.budgetUSD = budgetUSD
        self.spentUSD = spentUSD
    }
}

/// What a store read, in the submit's transaction, for the checks of ``SubmitPlan``: each only
/// when it can matter (a key's task only for a task with that key, the depth only under a cap).
package struct SubmitFacts: Sendable {
    /// The task that holds the new task's idempotency key in its workspace.
    package var idempotent: AgentTask?
    /// The task's agent, in its workspace; `nil` if there is no such agent.
    package var agent: SubmitAgent?
    /// The live task that holds the new task's dedup key in its workspace.
    package var dedup: AgentTask?
    /// Tasks waiting to run (queued, waiting, paused), read when a depth cap applies.
    package var depth: Int?
    /// For a subtask: its parent, as read (and checked by ``SubmitPlan/subtask(_:parent:children:limits:)``).
    package var parent: AgentTask?

    package init(idempotent: AgentTask? = nil, agent: SubmitAgent? = nil, dedup: AgentTask? = nil, depth: Int? = nil) {
        self.idempotent = idempotent
        self.agent = agent
        self.dedup = dedup
        self.depth = depth
    }
}

/// What a submit does, decided from its facts alone, with the checks in this order: a repeated
/// idempotency key answers the first task; the agent must exist; its budget must not be spent;
/// a live task with the dedup key answers instead; the queue must be under its depth cap. Else
/// the task is inserted, `queued` (through ``Lifecycle``), with its agent's defaults for the
/// timeout and retry policy it leaves out, available no earlier than now. Both stores read the
/// facts and compile the insert to their SQL (PostgreSQL's one-statement insert, for a task whose
/// checks need no transaction, takes the same defaults with `COALESCE` over the agent's row).
package enum SubmitPlan: Sendable {
    /// What a task that asks before its first run waits for.
    package static let approvalBeforeRun = WaitingFor(kind: .approval, question: "Approve this task before its first run")

    /// Whether the task `new` for `agent` waits for a person's approval before its first run
    /// (``AskPolicy/always``, the task's own policy or else its agent's): the store holds it
    /// (queued → waiting, the lifecycle's `hold`) in the submit's transaction.
    package static func holds(_ new: NewTask, agent: SubmitAgent?) -> Bool {
        (new.ask ?? agent?.ask ?? .off) == .always
    }

    /// A subtask request completed from its `parent` (read in the submit's transaction, in the
    /// submit's workspace; `nil` if there is none), which has `children` subtasks already: its
    /// parent's workspace, and unless given its agent, origin and what is left of its budget.
    /// Throws `invalid_input` (field `parent_id`) for a parent that is missing or has ended, or
    /// beyond the depth or fan-out limit (naming the limit), and (field `budget_usd`) for a parent
    /// that has spent its budget.
    /// `new` in its agent's repository lane, when it names no lane and its agent has one.
    package static func inRepoLane(_ new: NewTask, agent: SubmitAgent?) -> NewTask {
        guard new.lane == nil, let lane = agent?.repoLane else { return new }
        var new = new
        new.lane = lane
        return new
    }

    package static func subtask(
        _ new: NewTask, parent: AgentTask?, children: Int, limits: SubtaskLimits
    ) throws(NightshiftError) -> NewTask {
        guard let parentID = new.parentID else { return new }
        guard let parent else {
            throw .invalid("parent_id", "expected the id of a task in workspace '\(new.workspaceID)', got '\(parentID)'")
        }
        if parent.state.isTerminal {
            throw .invalid("parent_id", "task \(parentID) is \(parent.state.rawValue): an ended task takes no subtasks")
        }
        if parent.subtaskDepth + 1 > limits.maxDepth {
            throw .invalid("parent_id", "task \(parentID) is at depth \(parent.subtaskDepth): subtasks nest at most \(limits.maxDepth) deep")
        }
        if children >= limits.maxChildren {
            throw .invalid("parent_id", "task \(parentID) has \(children) subtasks: the limit is \(limits.maxChildren)")
        }
        var child = new
        child.workspaceID = parent.workspaceID
        if child.agent.isEmpty { child.agent = parent.agent }
        if child.origin == nil { child.origin = parent.origin }
        // A subtask of the same agent keeps its parent's policy (on another agent it could widen it).
        if child.policy == nil, child.agent == parent.agent { child.policy = parent.policy }
        if child.budgetUSD == nil, let budget = parent.budgetUSD {
            let left = budget - parent.costUSD
            guard left > 0 else { throw .invalid("budget_usd", "task \(parentID) has spent its budget of \(budget) USD: none is left to share") }
            child.budgetUSD = left
        }
        return child
    }

    /// Answer this task, inserting nothing.
    case existing(SubmitResult)
    /// Insert this task (with its `submit` event and hook event).
    case insert(AgentTask)

    /// Plans the submit of `new` at `now`. Throws `invalid_input` (field `agent`) for an unknown
    /// agent, `budget_exceeded` for a spent budget, `queue_full` at the depth cap.
    package init(_ new: NewTask, facts: SubmitFacts, maxDepth: Int?, now: Date) throws(NightshiftError) {
        if let task = facts.idempotent {
            self = .existing(.existingIdempotent(task))
            return
        }
        guard let agent = facts.agent else {
            throw .invalid("agent", "expected the name of a defined agent, got '\(new.agent)'")
        }
        try new.ask?.validate(field: "ask", runner: agent.runner)
        if let refusal = Budget.submitRefusal(agent: new.agent, spent: agent.spentUSD, budget: agent.budgetUSD) { throw refusal }
        if let task = facts.dedup {
            self = .existing(.existingDedup(task))
            return
        }
        if let maxDepth, let depth = facts.depth, depth >= maxDepth { throw .queueFull(depth: depth, cap: maxDepth) }
        let id = TaskID.generate(at: now)
        let state: TaskState
        do { state = try Lifecycle.next(from: nil, on: .submit, task: id) } catch { throw NightshiftError(error) }
        let availableAt = max(new.availableAt ?? now, now)
        var task = AgentTask(
            id: id, workspaceID: new.workspaceID, agent: new.agent, prompt: new.prompt, payload: new.payload,
            priority: new.priority, lane: new.lane, labels: new.labels, origin: new.origin,
            idempotencyKey: new.idempotencyKey, dedupKey: new.dedupKey, budgetUSD: new.budgetUSD, timeout: new.timeout ?? agent.timeout,
            retry: new.retry ?? agent.retry, availableAt: availableAt, state: state, attempt: 0, failures: 0,
            createdAt: now, updatedAt: now, finishedAt: nil, result: nil, error: nil, costUSD: 0,
            parentID: facts.parent?.id, subtaskDepth: facts.parent.map { $0.subtaskDepth + 1 } ?? 0, ask: new.ask,
            scheduleID: new.scheduleID, scheduledFor: new.scheduledFor, policy: new.policy)
        task.traceParent = new.traceParent
        self = .insert(task)
    }
}
