import Foundation
import Nightshift
import Testing

/// The decisions both stores compile to SQL, tested as plain values: no database.
@Suite("Plans")
struct PlanTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static let agent = SubmitAgent(timeout: 600, retry: RetryPolicy(maxAttempts: 4, initialBackoff: 2, maxBackoff: 20), budgetUSD: 5, spentUSD: 1)

    /// A task as a submit would insert it, then in `state`.
    static func task(_ state: TaskState = .queued, dedupKey: String? = nil) throws -> AgentTask {
        guard case .insert(var task) = try SubmitPlan(
            NewTask(agent: "a", prompt: "p", dedupKey: dedupKey), facts: SubmitFacts(agent: agent), maxDepth: nil, now: now)
        else { throw NightshiftError(.invalidInput, "expected an insert") }
        task.state = state
        return task
    }

    static func facts(_ state: TaskState) throws -> TaskFacts {
        TaskFacts(try task(state), runID: state == .running ? "run-1" : nil, leaseToken: state == .running ? "lease" : nil, lastSeq: 3)
    }

    // MARK: Submit

    @Test("a submit checks idempotency, then the agent, then its budget, then the dedup key, then the depth cap")
    func submitOrder() throws {
        let new = NewTask(agent: "a", prompt: "p", idempotencyKey: "k", dedupKey: "d")
        let earlier = try Self.task()
        let live = try Self.task(.running, dedupKey: "d")
        let spent = SubmitAgent(timeout: nil, retry: RetryPolicy(), budgetUSD: 1, spentUSD: 1)
        // A repeated idempotency key wins over everything, even an agent deleted since.
        guard case .existing(.existingIdempotent(let first)) = try SubmitPlan(
            new, facts: SubmitFacts(idempotent: earlier, agent: nil, dedup: live, depth: 99), maxDepth: 1, now: Self.now)
        else { Issue.record("expected the first task"); return }
        #expect(first == earlier)
        // Then the agent must exist…
        #expect(throws: NightshiftError.invalid("agent", "expected the name of a defined agent, got 'a'")) {
            try SubmitPlan(new, facts: SubmitFacts(dedup: live, depth: 99), maxDepth: 1, now: Self.now)
        }
        // …and have budget left, before a dedup key answers the live task.
        let refusal = #expect(throws: NightshiftError.self) {
            try SubmitPlan(new, facts: SubmitFacts(agent: spent, dedup: live, depth: 99), maxDepth: 1, now: Self.now)
        }
        #expect(refusal?.code == .budgetExceeded)
        guard case .existing(.existingDedup(let holder)) = try SubmitPlan(
            new, facts: SubmitFacts(agent: Self.agent, dedup: live, depth: 99), maxDepth: 1, now: Self.now)
        else { Issue.record("expected the live task"); return }
        #expect(holder == live)
        // Last, the depth cap.
        let full = #expect(throws: NightshiftError.self) {
            try SubmitPlan(new, facts: SubmitFacts(agent: Self.agent, depth: 3), maxDepth: 3, now: Self.now)
        }
        #expect(full?.code == .queueFull)
        guard case .insert = try SubmitPlan(new, facts: SubmitFacts(agent: Self.agent, depth: 2), maxDepth: 3, now: Self.now) else {
            Issue.record("expected an insert under the cap")
            return
        }
    }

    @Test("an inserted task is queued with its agent's defaults for what it leaves out, available no earlier than now")
    func submitInsert() throws {
        var new = NewTask(agent: "a", prompt: "p", availableAt: Self.now.addingTimeInterval(-60))
        guard case .insert(let task) = try SubmitPlan(new, facts: SubmitFacts(agent: Self.agent), maxDepth: nil, now: Self.now) else {
            Issue.record("expected an insert")
            return
        }
        #expect(task.state == .queued && task.attempt == 0)
        #expect(task.timeout == 600 && task.retry == Self.agent.retry)
        #expect(task.availableAt == Self.now, "a time in the past is now")
        new.timeout = 5
        new.retry = RetryPolicy(maxAttempts: 1)
        new.availableAt = Self.now.addingTimeInterval(30)
        guard case .insert(let own) = try SubmitPlan(new, facts: SubmitFacts(agent: Self.agent), maxDepth: nil, now: Self.now) else {
            Issue.record("expected an insert")
            return
        }
        #expect(own.timeout == 5 && own.retry.maxAttempts == 1 && own.availableAt == Self.now.addingTimeInterval(30))
    }

    // MARK: Actions

    @Test("cancelling a running task ends its run as cancelled, clears its lease, stamps finished_at and resolves its checkpoints")
    func cancelRunning() throws {
        let plan = try ActionPlan(.cancel, on: try Self.facts(.running))
        #expect(plan.next == .cancelled)
        #expect(plan.assignments == [.now("finished_at"), .null("lease_expires_at"), .null("lease_token"), .null("waiting_for"), .zero("pause_requested")])
        #expect(plan.runEnd == ActionPlan.RunEnd(outcome: "cancelled", settledBy: "cancel"))
        #expect(plan.resolvesCheckpoints && !plan.checksDepth && plan.skipsDeclaredSteps && plan.pauseRequest == nil)
        // A queued task has no run to end.
        #expect(try ActionPlan(.cancel, on: try Self.facts(.queued)).runEnd == nil)
    }

    @Test("retry re-enters the queue (depth checked, counters reset); resume keeps a later start; wake clears the wake time")
    func requeueing() throws {
        let retry = try ActionPlan(.retry, on: try Self.facts(.error))
        #expect(retry.next == .queued && retry.checksDepth && !retry.resolvesCheckpoints && retry.clearsUnfinishedSteps)
        #expect(retry.assignments == [.now("available_at"), .zero("failures"), .zero("interruptions"), .null("finished_at")])
        let resume = try ActionPlan(.resume, on: try Self.facts(.paused))
        #expect(resume.next == .queued && !resume.checksDepth)
        #expect(resume.assignments == [.notBefore("available_at"), .null("wake_at"), .zero("pause_requested")])
        #expect(!resume.clearsUnfinishedSteps && !resume.skipsDeclaredSteps)
        #expect(try ActionPlan(.wake, on: try Self.facts(.waiting)).assignments == [.now("available_at"), .null("wake_at"), .null("waiting_for")])
    }

    @Test("a pause of a running task plans a request and no move: no run ends, no column changes; a resume withdraws it")
    func pauseRequest() throws {
        let pause = try ActionPlan(.pause, on: try Self.facts(.running))
        #expect(pause.next == .running && pause.pauseRequest == true && pause.assignments.isEmpty && pause.runEnd == nil)
        let id = try Self.facts(.running).id
        #expect(pause.pauseRequestEvent(task: id, was: false, now: Self.now)?.type == "pause_requested")
        #expect(pause.pauseRequestEvent(task: id, was: true, now: Self.now) == nil, "asked already")
        var requested = try Self.facts(.running)
        requested.pauseRequested = true
        let resume = try ActionPlan(.resume, on: requested)
        #expect(resume.next == .running && resume.pauseRequest == false)
        #expect(resume.pauseRequestEvent(task: id, was: true, now: Self.now)?.type == "pause_withdrawn")
        #expect(try ActionPlan(.pause, on: try Self.facts(.queued)).pauseRequest == nil, "a queued task pauses at once")
    }

    @Test("an action that is not a person's, or that the state does not take, is refused with nothing planned")
    func refused() throws {
        #expect(throws: NightshiftError.invalid("action", "expected cancel, pause, resume, retry, drop or wake, got dispatch")) {
            try ActionPlan(.dispatch, on: try Self.facts(.queued))
        }
        let illegal = #expect(throws: NightshiftError.self) { try ActionPlan(.resume, on: try Self.facts(.done)) }
        #expect(illegal?.code == .illegalTransition)
    }

    // MARK: Settles

    @Test("a settle's column changes follow the new state; moves to one state share their shape")
    func settleChanges() throws {
        let facts = try Self.facts(.running)
        func move(_ outcome: RunOutcome) throws -> SettlePlan.Move {
            let settlement = Settlement(lease: Lease(taskID: facts.id, runID: "run-1", token: "lease"), outcome: outcome, now: Self.now)
            let plan = try SettlePlan([settlement], facts: [facts.id: facts], agentSpend: [:], settler: "w") { 0.5 }
            return try #require(plan.moves.first)
        }
        let done = try move(.succeeded("ok"))
        #expect(done.next == .done)
        let columns = { (move: SettlePlan.Move) in move.changes.map { "\($0.kind) \($0.column)" } }
        #expect(Array(columns(done).suffix(6)) == [
            "set result", "set finished_at", "null error", "null lease_expires_at", "null lease_token", "set pause_requested",
        ])
        #expect(done.changes.first { $0.column == "result" }?.value == "ok")
        let retried = try move(.failed("boom", retryable: true))
        #expect(retried.next == .queued)
        #expect(retried.changes.first { $0.column == "available_at" }?.value == .double(retried.availableAt ?? -1))
        #expect(retried.changes.first { $0.column == "failures" }?.value == 1)
        #expect(columns(try move(.succeeded("other"))) == columns(done), "one shape per state")
        #expect(columns(retried) != columns(done))
        #expect(columns(done).filter { $0.hasPrefix("add ") } == ["add cost_usd"] + TaskTotals.columns.map { "add \($0)" })
    }

    // MARK: Inbox

    @Test("the input that wakes a task waiting on a deferred tool call is stamped with the call; others are kept as sent")
    func inputPlanStampsDeferredCall() throws {
        var deferred = try Self.facts(.waiting)
        deferred.waitingFor = WaitingFor(kind: .approval, tool: "Bash", toolUseID: "toolu_1")
        let scoped = NewInput(kind: .approve, decisions: ["scope": "tool"], sender: "a")
        let plan = try InputPlan(scoped, on: deferred)
        #expect(plan.decisions == ["scope": "tool", "tool_use_id": "toolu_1", "tool": "Bash"])
        #expect(plan.stamped(scoped).decisions == plan.decisions)
        let listed = try InputPlan(NewInput(kind: .approve, decisions: ["a", "b"], sender: "a"), on: deferred)
        #expect(listed.decisions == ["items": ["a", "b"], "tool_use_id": "toolu_1", "tool": "Bash"])
        // A message waits beside the approval: it decides nothing.
        let message = NewInput(kind: .message, text: "later", sender: "a")
        #expect(try InputPlan(message, on: deferred).decisions == nil)
        // A question Claude asked through its tool: the answer decides it.
        deferred.waitingFor = WaitingFor(kind: .input, tool: "AskUserQuestion", toolUseID: "toolu_2")
        #expect(try InputPlan(NewInput(kind: .answer, text: "blue", sender: "a"), on: deferred).decisions
            == ["tool_use_id": "toolu_2", "tool": "AskUserQuestion"])
    }

    @Test("an input wakes a waiting task, a decision only one that waits for approval; a finished task takes none")
    func inputPlan() throws {
        let answer = NewInput(kind: .answer, text: "yes", sender: "a")
        var asked = try Self.facts(.waiting)
        asked.waitingFor = WaitingFor(kind: .input)
        #expect(try InputPlan(answer, on: asked).wakes)
        #expect(try !InputPlan(answer, on: try Self.facts(.running)).wakes, "a running task gets it when its run ends")
        let approve = NewInput(kind: .approve, sender: "a")
        let refused = #expect(throws: NightshiftError.self) { try InputPlan(approve, on: asked) }
        #expect(refused?.message.contains("waits for an answer") == true)
        var approval = asked
        approval.waitingFor = WaitingFor(kind: .approval)
        #expect(try InputPlan(approve, on: approval).wakes)
        #expect(try InputPlan(approve, on: approval).decisions == nil, "no deferred call: the decisions are kept as sent")
        #expect(try !InputPlan(answer, on: approval).wakes, "a message waits beside the approval")
        #expect(try InputPlan(NewInput(kind: .message, text: "go", sender: "a", forcesWake: true), on: approval).wakes)
        let wakeQueued = #expect(throws: NightshiftError.self) {
            try InputPlan(NewInput(kind: .message, text: "go", sender: "a", forcesWake: true), on: try Self.facts(.queued))
        }
        #expect(wakeQueued?.message.contains("it is queued") == true)
        let done = #expect(throws: NightshiftError.self) { try InputPlan(answer, on: try Self.facts(.done)) }
        #expect(done?.field == "state")
    }

    @Test("a run that ends while inputs wait continues at once; a wake's follow-up prompt goes to the inbox")
    func settleWithInputs() throws {
        var facts = try Self.facts(.running)
        func plan(_ outcome: RunOutcome) throws -> SettlePlan {
            let settlement = Settlement(lease: Lease(taskID: facts.id, runID: "run-1", token: "lease"), outcome: outcome, now: Self.now)
            return try SettlePlan([settlement], facts: [facts.id: facts], agentSpend: [:], settler: "w") { 0.5 }
        }
        let parked = try plan(.wake(at: Self.now.addingTimeInterval(60), prompt: "look again"))
        #expect(parked.moves.first?.next == .waiting)
        #expect(parked.followUps.map(\.input.text) == ["look again"])
        let wait = try #require(parked.moves.first?.changes.first { $0.column == "waiting_for" }?.value.stringValue)
        #expect(try WaitingFor(json: JSONValue(jsonText: wait)).kind == .wake)
        facts.pendingInputs = 1
        for outcome in [RunOutcome.succeeded("ok"), .waitingForInput("?")] {
            let move = try #require(try plan(outcome).moves.first)
            #expect(move.next == .queued)
            #expect(move.action == .settle(.continued))
            #expect(move.availableAt == Self.now.timeIntervalSince1970, "no backoff")
        }
        #expect(try plan(.failed("boom", retryable: false)).moves.first?.next == .error, "a failure is still a failure")
        let continued = try plan(.wake(at: Self.now.addingTimeInterval(60), prompt: "look again"))
        #expect(continued.moves.first?.next == .queued)
        #expect(continued.followUps.map(\.input.text) == ["look again"], "the wake's prompt is kept for the run that continues")
    }
}
