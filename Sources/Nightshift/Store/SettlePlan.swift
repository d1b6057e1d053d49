import Foundation

/// One run's end, to record.
package struct Settlement: Sendable {
    package var lease: Lease
    package var outcome: RunOutcome
    /// The checkpoints the run left, saved only if the settle moves its task.
    package var checkpoints: CheckpointCollection
    package var now: Date

    package init(lease: Lease, outcome: RunOutcome, checkpoints: CheckpointCollection = CheckpointCollection(), now: Date) {
        self.lease = lease
        self.outcome = outcome
        self.checkpoints = checkpoints
        self.now = now
    }
}

/// What an agent may spend and has spent, while a batch of settles adds to it.
package struct AgentSpend: Sendable {
    package var budget: Double?
    package var before: Double
    package var spent: Double

    package init(budget: Double?, spent: Double) {
        self.budget = budget
        before = spent
        self.spent = spent
    }
}

/// A change a plan makes to a task column, besides its state: the stores give each its SQL form.
package struct TaskChange: Sendable, Equatable {
    /// How the column changes.
    package enum Kind: Sendable, Equatable {
        /// It becomes `value`.
        case set
        /// `value` is added to it.
        case add
        /// It becomes `NULL` (`value` is unused).
        case null
    }

    package var column: String
    package var kind: Kind
    package var value: JSONValue

    package static func set(_ column: String, _ value: JSONValue) -> TaskChange { TaskChange(column: column, kind: .set, value: value) }
    package static func add(_ column: String, _ value: JSONValue) -> TaskChange { TaskChange(column: column, kind: .add, value: value) }
    package static func null(_ column: String) -> TaskChange { TaskChange(column: column, kind: .null, value: .null) }
}

/// How a batch of settles moves its tasks, decided from their facts alone: fencing on each
/// lease, budgets, retry or not, the backoff, the event details. Both stores write what it decides,
/// with their own statements, in the transaction that read the facts.
package struct SettlePlan {
    /// One settle that moves its task.
    package struct Move {
        /// The position of the settle in the batch.
        package var index: Int
        /// The task's facts before the move.
        package var facts: TaskFacts
        package var action: LifecycleAction
        package var budget: RetryBudget
        package var next: TaskState
        /// The outcome as recorded: a retryable failure past a budget becomes final.
        package var outcome: RunOutcome
        package var failures: Int
        package var interruptions: Int
        /// When the settle happened, in seconds since 1970.
        package var time: Double
        /// For a task queued again: when it becomes available.
        package var availableAt: Double?
        /// Members of the `state` event's data beyond from, to and action.
        package var details: [String: JSONValue]
        package var settler: String

        /// The task's columns this settle changes, in an order that depends only on ``next`` (so the
        /// moves to one state share a statement): the counters, the cost and totals added, what
        /// the new state keeps (result, error, times), and the lease cleared.
        package var changes: [TaskChange] {
            let usage = outcome.usage
            var changes: [TaskChange] = [
                .set("failures", .int(Int64(failures))), .set("interruptions", .int(Int64(interruptions))),
                .add("cost_usd", .double(usage.costUSD)),
            ]
            let totals: [JSONValue] = [
                .int(Int64(usage.tokensIn)), .int(Int64(usage.tokensOut)), .int(Int64(usage.cacheReadTokens)),
                .int(Int64(usage.cacheWriteTokens)), .int(Int64(usage.turns)), .double(usage.durationSeconds),
            ]
            changes += zip(TaskTotals.columns, totals).map { TaskChange.add($0, $1) }
            let text = { (value: String?) in value.map(JSONValue.string) ?? .null }
            switch next {
            case .done: changes += [.set("result", text(outcome.result)), .set("finished_at", .double(time)), .null("error")]
            case .error: changes += [.set("error", text(outcome.error)), .set("finished_at", .double(time))]
            case .queued: changes += [.set("available_at", availableAt.map(JSONValue.double) ?? .null), .set("error", text(outcome.error))]
            case .waiting:
                var wait = outcome.wait
                wait.runID = facts.runID
                changes += [
                    .set("wake_at", outcome.wakeAt.map { .double($0.timeIntervalSince1970) } ?? .null),
                    .set("waiting_for", .string(wait.json.jsonText)),
                ]
            default: break
            }
            // A pause request ends with the run it was made to (it paused the task, or came too late).
            return changes + [.null("lease_expires_at"), .null("lease_token"), .set("pause_requested", .int(0))]
        }
    }

    /// Each settle's result; `nil` for a lease that is not current, which the store explains (a
    /// repeat of a settle already written, or stale) from the run row.
    package var results: [SettleResult?]
    /// The settles that move their tasks, in batch order.
    package var moves: [Move] = []
    /// The checkpoints and quarantined files of the settles that move their tasks, each with its
    /// task's workspace (a stale settle's are dropped), in batch order: saved first, before
    /// ``ended``'s are resolved.
    package var checkpoints: [(workspace: String, collection: CheckpointCollection)] = []
    /// The tasks this batch ends: their active checkpoints are resolved in the same transaction.
    package var ended: [TaskID] = []
    /// The runs (task, run id) this batch ends as released (lost to their node): the inputs they
    /// took by resume go back to the inbox if their agent never started (no process recorded), so
    /// a node that died between taking an input and starting its agent loses nothing.
    package var released: [(task: TaskID, run: String)] = []
    /// The follow-up prompts of runs that asked to be woken with one: each goes into its task's
    /// inbox (sender `agent`), so that the run that wakes delivers it like any input.
    package var followUps: [(task: TaskID, workspace: String, input: NewInput)] = []
    /// The spend of every agent read, with this batch's costs added.
    package var agentSpend: [ScopedName: AgentSpend]
    /// The parks of the quota groups read for ``parksToRead(_:facts:)``, with this batch's new
    /// parks in their place.
    package var parks: [ScopedName: QuotaPark]
    /// The quota groups this batch parks: each row is written (inserted or replaced) as it stands
    /// in ``parks``.
    package var parked: Set<ScopedName> = []
    /// Runs that succeeded and failed in this batch.
    package var succeeded = 0
    package var failed = 0

    /// The agents whose budgets a batch must read: none unless a run cost something.
    package static func agentsToRead(_ settlements: [Settlement], facts: [TaskID: TaskFacts]) -> Set<ScopedName> {
        guard settlements.contains(where: { $0.outcome.usage.costUSD > 0 }) else { return [] }
        return Set(settlements.compactMap { facts[$0.lease.taskID]?.agentName })
    }

    /// The quota groups whose parks a batch must read: none unless a run was parked.
    package static func parksToRead(_ settlements: [Settlement], facts: [TaskID: TaskFacts]) -> Set<ScopedName> {
        Set(settlements.compactMap { settlement in
            guard let park = settlement.outcome.park, let task = facts[settlement.lease.taskID] else { return nil }
            return ScopedName(workspace: task.workspace, name: park.group)
        })
    }

    /// Plans `settlements` against the tasks' `facts`, the `agentSpend` read for
    /// ``agentsToRead(_:facts:)`` and the `parks` read for ``parksToRead(_:facts:)``. A second
    /// settle of one run in the batch is a repeat of the first.
    package init(
        _ settlements: [Settlement], facts: [TaskID: TaskFacts], agentSpend: [ScopedName: AgentSpend],
        parks: [ScopedName: QuotaPark] = [:], settler: String, random: () -> Double = { Double.random(in: 0..<1) }
    ) throws(NightshiftError) {
        var facts = facts
        self.agentSpend = agentSpend
        self.parks = parks
        results = Array(repeating: nil, count: settlements.count)
        var settledHere: [Lease: TaskState] = [:]
        for (index, settlement) in settlements.enumerated() {
            let lease = settlement.lease
            guard let current = facts[lease.taskID] else {
                results[index] = .stale(reason: "task \(lease.taskID) does not exist")
                continue
            }
            guard current.state == .running, current.runID == lease.runID, current.leaseToken == lease.token else {
                results[index] = settledHere[lease].map(SettleResult.alreadySettled)
                continue
            }
            var outcome = settlement.outcome
            // Inputs reached the inbox while the agent ran and it did not take them live: rather
            // than end or park, the task runs again at once, resuming the session with them.
            if current.pendingInputs > 0, outcome.resolution == .succeeded || outcome.resolution == .waiting {
                outcome.resolution = .continued
            }
            let time = settlement.now.timeIntervalSince1970
            let cost = outcome.usage.costUSD
            if cost > 0 { self.agentSpend[current.agentName]?.spent += cost }
            let spend = self.agentSpend[current.agentName]
            if case .failed(retryable: true) = outcome.resolution,
               let exceeded = Budget.exceeded(
                   agent: current.agent, taskSpent: current.costUSD + cost, taskBudget: current.budgetUSD,
                   agentSpent: spend?.spent ?? 0, agentBudget: spend?.budget)
            {
                outcome.resolution = .failed(retryable: false)
                outcome.error = [exceeded, outcome.error].compactMap { $0 }.joined(separator: "; last run: ")
            }
            var (failures, interruptions) = (current.failures, current.interruptions)
            switch outcome.resolution {
            case .failed: failures += 1
            case .released: interruptions += 1
            default: break
            }
            let budget = RetryBudget(failures: failures, maxAttempts: current.retry.maxAttempts, interruptions: interruptions)
            let action = LifecycleAction.settle(outcome.resolution)
            let next = try current.next(on: action, budget: budget)
            if outcome.resolution == .released, next == .error {
                let limit = "interrupted \(interruptions) times (the limit is \(RetryBudget.interruptionLimit)): the node kept losing the run"
                outcome.error = [limit, outcome.error].compactMap { $0 }.joined(separator: "; last: ")
            }
            var details: [String: JSONValue] = ["run_id": .string(lease.runID), "outcome": .string(outcome.label)]
            // Times in event data are RFC 3339 text, like every time the API answers.
            if let resetsAt = outcome.resetsAt { details["resets_at"] = JSONTime.json(resetsAt) }
            var availableAt: Double?
            switch next {
            case .error:
                details["error"] = outcome.error.map(JSONValue.string) ?? .null
            case .queued where outcome.resolution == .parked, .paused where outcome.resolution == .parked:
                // The whole quota group waits for the reset; the task with it, no attempt charged.
                let group = ScopedName(workspace: current.workspace, name: outcome.park?.group ?? current.agent)
                let park = QuotaPark.starting(
                    group: group, resetsAt: outcome.resetsAt, reason: outcome.error ?? "usage limit reached",
                    policy: outcome.park?.policy ?? ParkPolicy(), previous: self.parks[group], now: time)
                self.parks[group] = park
                parked.insert(group)
                availableAt = park.until
                details["parked_until"] = JSONTime.json(Date(timeIntervalSince1970: park.until))
                details["quota_group"] = .string(group.name)
                if let error = outcome.error { details["reason"] = .string(error) }
            case .queued:
                let delay = outcome.resolution == .released || outcome.resolution == .continued
                    ? 0 : current.retry.delay(afterFailure: failures, random: random())
                availableAt = time + delay
                // A usage limit the agent does not park for: no retry before the reset.
                if case .failed = outcome.resolution, let reset = outcome.resetsAt?.timeIntervalSince1970, reset > time + delay {
                    availableAt = reset
                }
                details["retry_in"] = .double(((availableAt! - time) * 1000).rounded() / 1000)
                if let error = outcome.error { details["error"] = .string(error) }
            case .waiting:
                if let wakeAt = outcome.wakeAt { details["wake_at"] = JSONTime.json(wakeAt) }
                if let message = outcome.message { details["message"] = .string(message) }

            default:
                break
            }
            // A wake's follow-up prompt goes to the inbox, also when inputs make the task continue at once.
            if settlement.outcome.resolution == .waiting, settlement.outcome.wakeAt != nil, settlement.outcome.waitingFor == nil,
               let prompt = settlement.outcome.message, !prompt.isEmpty
            {
                followUps.append((lease.taskID, current.workspace, NewInput(kind: .message, text: prompt, sender: "agent")))
            }
            moves.append(Move(
                index: index, facts: current, action: action, budget: budget, next: next, outcome: outcome, failures: failures,
                interruptions: interruptions, time: time, availableAt: availableAt, details: details, settler: settler))
            if settlement.checkpoints != CheckpointCollection() {
                checkpoints.append((current.workspace, settlement.checkpoints))
            }
            if next.isTerminal { ended.append(lease.taskID) }
            if outcome.resolution == .released { released.append((lease.taskID, lease.runID)) }
            switch outcome.resolution {
            case .succeeded: succeeded += 1
            case .failed: failed += 1
            default: break
            }
            // A second settle of the same run later in this batch sees the run as ended.
            facts[lease.taskID]?.state = next
            facts[lease.taskID]?.leaseToken = nil
            facts[lease.taskID]?.costUSD += cost
            settledHere[lease] = next
            results[index] = .settled(next)
        }
    }
}
