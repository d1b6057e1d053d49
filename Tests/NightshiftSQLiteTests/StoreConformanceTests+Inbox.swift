import Foundation
import Nightshift
import Testing

/// The task inbox, on every store kind.
@Suite("Store conformance: inbox")
struct InboxConformanceTests {
    /// A store with a task that ran once and ended with `outcome` (a wait, usually).
    private func parked(_ kind: StoreKind, _ outcome: RunOutcome) async throws -> (store: any TaskStore, id: TaskID, run: ClaimedRun) {
        let store = try await kind.make().with(echoAgent)
        let id = try await store.submit(NewTask(agent: "echo", prompt: "fix the bug"), now: t0).task.id
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        _ = try await store.settle(run.lease, outcome: outcome, now: t0)
        return (store, id, run)
    }

    @Test("an answer to a waiting task wakes it and is delivered once, fenced by the next run's lease", arguments: StoreKind.allCases)
    func answerWakes(kind: StoreKind) async throws {
        var asked = RunOutcome.waitingForInput("Which branch?")
        asked.waitingFor = WaitingFor(kind: .input, question: "Which branch?", options: ["main", "dev"])
        let (store, id, first) = try await parked(kind, asked)
        let waiting = try #require(try await store.task(id))
        #expect(waiting.state == .waiting)
        #expect(waiting.waitingFor?.kind == .input)
        #expect(waiting.waitingFor?.question == "Which branch?")
        #expect(waiting.waitingFor?.options == ["main", "dev"])
        #expect(waiting.waitingFor?.runID == first.run.id)

        let receipt = try await store.addInput(NewInput(kind: .answer, text: "dev", sender: "alice"), to: id, now: t1, workspace: nil)
        #expect(receipt.created)
        #expect(receipt.input.seq == 1)
        #expect(receipt.input.delivery == .pending)
        #expect(receipt.task.state == .queued, "the answer woke the task")
        #expect(receipt.task.waitingFor == nil)
        #expect(receipt.task.pendingInputs == 1)
        let events = try await store.events(task: id, after: 0, limit: 50)
        #expect(Array(events.suffix(2).map(\.type)) == ["state", "input"])
        #expect(events.last?.data["sender"] == "alice")
        let hooks = try await store.allHookEvents()
        #expect(Array(hooks.suffix(2).map(\.type)) == ["task.queued", HookEvent.inputType])
        #expect(hooks.last?.data["kind"] == "answer")

        let second = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t1).first)
        #expect(second.task.pendingInputs == 1)
        // The first run's lease is long gone: it hands nothing over.
        #expect(try await store.deliverInputs(first.lease, how: .deliveredResume, now: t1) == nil)
        let delivered = try #require(try await store.deliverInputs(second.lease, how: .deliveredResume, now: t1))
        #expect(delivered.map(\.text) == ["dev"])
        #expect(delivered.first?.delivery == .deliveredResume)
        #expect(try await store.deliverInputs(second.lease, how: .deliveredResume, now: t1) == [], "exactly once")
        let inbox = try await store.inputs(of: id, workspace: nil)
        #expect(inbox.map(\.delivery) == [.deliveredResume])
        #expect(inbox.first?.runID == second.run.id)
        #expect(try await store.task(id)?.pendingInputs == 0)
        #expect(try await store.events(task: id, after: 0, limit: 50).last?.type == "input_delivered")
        #expect(try await store.settle(second.lease, outcome: .succeeded("on dev"), now: t1) == .settled(.done))
    }

    @Test("inputs a lost run took before its agent started go back to the inbox; once the agent started they stay delivered", arguments: StoreKind.allCases)
    func lostBeforeTheAgentStarted(kind: StoreKind) async throws {
        let (store, id, _) = try await parked(kind, .waitingForInput("Which branch?"))
        _ = try await store.addInput(NewInput(kind: .answer, text: "dev", sender: "a"), to: id, now: t1, workspace: nil)
        let taker = try #require(try await store.claim(worker: "dies", limit: 1, leaseDuration: 30, now: t1).first)
        #expect(try await store.deliverInputs(taker.lease, how: .deliveredResume, now: t1)?.count == 1)
        // The node dies before it starts the agent: its restart reclaims the run as lost.
        #expect(try await store.reclaimRuns(ofWorker: "dies", now: t1).count == 1)
        #expect(try await store.inputs(of: id, workspace: nil).map(\.delivery) == [.pending])
        let second = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t1).first)
        #expect(second.task.pendingInputs == 1)
        // This time the agent starts (its process is recorded) before the node dies.
        #expect(try await store.deliverInputs(second.lease, how: .deliveredResume, now: t1)?.map(\.text) == ["dev"])
        #expect(try await store.appendRunWrite(RunWrite(lease: second.lease, process: AgentProcessRecord(host: "h/1", pid: 7, startTicks: 1))))
        _ = try await store.reclaimRuns(ofWorker: "w", now: t1)
        let inbox = try await store.inputs(of: id, workspace: nil)
        #expect(inbox.map(\.delivery) == [.deliveredResume])
        #expect(inbox.first?.runID == second.run.id, "handed to the agent that started with it, not repeated")
        #expect(try await store.task(id)?.pendingInputs == 0)
    }

    @Test("a repeated idempotency key answers the first input and writes nothing", arguments: StoreKind.allCases)
    func idempotentInput(kind: StoreKind) async throws {
        let (store, id, _) = try await parked(kind, .waitingForInput("Go?"))
        let first = try await store.addInput(NewInput(kind: .answer, text: "yes", sender: "a", idempotencyKey: "k"), to: id, now: t1, workspace: nil)
        let events = try await store.events(task: id, after: 0, limit: 50).count
        let again = try await store.addInput(NewInput(kind: .answer, text: "no", sender: "b", idempotencyKey: "k"), to: id, now: t1, workspace: nil)
        #expect(!again.created)
        #expect(again.input == first.input)
        #expect(try await store.inputs(of: id, workspace: nil).count == 1)
        #expect(try await store.events(task: id, after: 0, limit: 50).count == events)
    }

    @Test("bad input is refused naming what is wrong, and nothing is written", arguments: StoreKind.allCases)
    func refusals(kind: StoreKind) async throws {
        let (store, id, _) = try await parked(kind, .waitingForInput("Go?"))
        let before = try await store.events(task: id, after: 0, limit: 50).count
        let empty = await #expect(throws: NightshiftError.self) {
            try await store.addInput(NewInput(kind: .message, text: "  ", sender: "a"), to: id, now: t1, workspace: nil)
        }
        #expect(empty?.field == "text")
        let approve = await #expect(throws: NightshiftError.self) {
            try await store.addInput(NewInput(kind: .approve, sender: "a"), to: id, now: t1, workspace: nil)
        }
        #expect(approve?.code == .illegalTransition)
        #expect(approve?.message.contains("waits for an answer") == true)
        let unknown = await #expect(throws: NightshiftError.self) {
            try await store.addInput(NewInput(kind: .message, text: "hi", sender: "a"), to: TaskID.generate(), now: t1, workspace: nil)
        }
        #expect(unknown?.code == .notFound)
        let elsewhere = await #expect(throws: NightshiftError.self) {
            try await store.addInput(NewInput(kind: .message, text: "hi", sender: "a"), to: id, now: t1, workspace: "other")
        }
        #expect(elsewhere?.code == .notFound)
        #expect(try await store.events(task: id, after: 0, limit: 50).count == before)
        #expect(try await store.task(id)?.state == .waiting)

        _ = try await store.transition(id, .cancel, now: t1)
        let finished = await #expect(throws: NightshiftError.self) {
            try await store.addInput(NewInput(kind: .message, text: "too late", sender: "a"), to: id, now: t1, workspace: nil)
        }
        #expect(finished?.code == .illegalTransition)
        #expect(finished?.message.contains("cancelled") == true)
        #expect(try await store.inputs(of: id, workspace: nil).isEmpty)
    }

    @Test("a task waiting for approval wakes only for a decision; a message waits beside it", arguments: StoreKind.allCases)
    func approvals(kind: StoreKind) async throws {
        let (store, id, _) = try await parked(kind, .approvalRequested("May I push?", tool: "Bash", input: ["command": "git push"]))
        let waiting = try #require(try await store.task(id))
        #expect(waiting.waitingFor?.kind == .approval)
        #expect(waiting.waitingFor?.tool == "Bash")
        #expect(waiting.waitingFor?.toolInput?["command"] == "git push")
        let note = try await store.addInput(NewInput(kind: .message, text: "careful", sender: "a"), to: id, now: t1, workspace: nil)
        #expect(note.task.state == .waiting)
        let approved = try await store.addInput(NewInput(kind: .approve, text: "go ahead", sender: "b"), to: id, now: t1, workspace: nil)
        #expect(approved.task.state == .queued)
        #expect(approved.task.pendingInputs == 2)
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t1).first)
        let delivered = try #require(try await store.deliverInputs(run.lease, how: .deliveredResume, now: t1))
        #expect(delivered.map(\.kind) == [.message, .approve])
        #expect(TaskInput.prompt(delivering: delivered) == "careful\n\nApproved: go ahead")
    }

    @Test("inputs sent while the agent runs make its task run again instead of ending", arguments: StoreKind.allCases)
    func inputsWhileRunning(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let id = try await store.submit(NewTask(agent: "echo", prompt: "p"), now: t0).task.id
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        let sent = try await store.addInput(NewInput(kind: .message, text: "also update the docs", sender: "a"), to: id, now: t0, workspace: nil)
        #expect(sent.task.state == .running)
        #expect(try await store.settle(run.lease, outcome: .succeeded("done"), now: t1) == .settled(.queued))
        let task = try #require(try await store.task(id))
        #expect(task.availableAt <= t1, "queued again at once, not after a backoff")
        #expect(task.failures == 0)
        let next = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t1).first)
        #expect(next.task.pendingInputs == 1)
        #expect(try await store.deliverInputs(next.lease, how: .deliveredResume, now: t1)?.map(\.text) == ["also update the docs"])
        #expect(try await store.settle(next.lease, outcome: .succeeded("done"), now: t1) == .settled(.done))
    }

    @Test("a wake directive's follow-up waits in the inbox; the waker wakes the task", arguments: StoreKind.allCases)
    func wakeFollowUp(kind: StoreKind) async throws {
        let (store, id, _) = try await parked(kind, .wake(at: t0.addingTimeInterval(60), prompt: "check CI again"))
        let waiting = try #require(try await store.task(id))
        #expect(waiting.waitingFor?.kind == .wake)
        #expect(waiting.waitingFor?.wakeAt == t0.addingTimeInterval(60))
        let inbox = try await store.inputs(of: id, workspace: nil)
        #expect(inbox.map(\.sender) == ["agent"])
        #expect(inbox.map(\.text) == ["check CI again"])
        #expect(try await store.wakeDue(now: t0.addingTimeInterval(30)).isEmpty)
        #expect(try await store.wakeDue(now: t0.addingTimeInterval(61)) == [id])
        let woken = try #require(try await store.task(id))
        #expect(woken.state == .queued)
        #expect(woken.waitingFor == nil)
        #expect(woken.pendingInputs == 1)
    }

    @Test("ask = always holds a new task until a person approves it; a reject drops it with the reason; a task may override", arguments: StoreKind.allCases)
    func askAlways(kind: StoreKind) async throws {
        let store = try await kind.make()
        try await store.saveAgent(Agent(name: "careful", runner: .builtin, ask: .always))
        #expect(try await store.agent(named: "careful")?.ask == .always)
        let held = try await store.submit(NewTask(agent: "careful", prompt: "deploy"), now: t0).task
        #expect(held.state == .waiting)
        #expect(held.waitingFor?.kind == .approval)
        #expect(held.waitingFor?.question?.contains("before its first run") == true)
        #expect(try await store.events(task: held.id, after: 0, limit: 10).map { $0.data["to"]?.stringValue } == ["queued", "waiting"])
        #expect(try await store.claim(worker: "w", limit: 5, leaseDuration: 30, now: t0).isEmpty, "nothing runs before the approval")
        let approved = try await store.addInput(NewInput(kind: .approve, text: "ship it", sender: "alice"), to: held.id, now: t1, workspace: nil)
        #expect(approved.task.state == .queued)
        let run = try #require(try await store.claim(worker: "w", limit: 5, leaseDuration: 30, now: t1).first)
        #expect(run.task.id == held.id)
        #expect(try await store.deliverInputs(run.lease, how: .deliveredResume, now: t1)?.map(\.kind) == [.approve], "the approval is recorded with the run")

        let rejected = try await store.submit(NewTask(agent: "careful", prompt: "drop the table"), now: t0).task
        let receipt = try await store.addInput(NewInput(kind: .reject, text: "too risky", sender: "bob"), to: rejected.id, now: t1, workspace: nil)
        #expect(receipt.task.state == .dropped)
        #expect(receipt.task.error == "rejected by bob: too risky")
        let overridden = try await store.submit(NewTask(agent: "careful", prompt: "read only", ask: .off), now: t0).task
        #expect(overridden.state == .queued)
        try await store.saveAgent(Agent(name: "plain", runner: .builtin))
        #expect(try await store.submit(NewTask(agent: "plain", prompt: "p", ask: .always), now: t0).task.state == .waiting)
        let onMiss = await #expect(throws: NightshiftError.self) { try await store.saveAgent(Agent(name: "x", runner: .builtin, ask: .onMiss)) }
        #expect(onMiss?.field == "ask")
        #expect(onMiss?.message.contains("'claude_code'") == true, "it names the runners that can: \(onMiss?.message ?? "")")
    }

    @Test("ask = on-miss: only for runners with an approval hook; a task's own policy is kept; the input deciding a deferred call is stamped with it", arguments: StoreKind.allCases)
    func askOnMiss(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        try await store.saveAgent(Agent(name: "claude", runner: .claudeCode, ask: .onMiss))
        #expect(try await store.agent(named: "claude")?.ask == .onMiss)
        let before = try await store.countsByState().values.reduce(0, +)
        let refused = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "echo", prompt: "p", ask: .onMiss), now: t0)
        }
        #expect(refused?.field == "ask")
        #expect(refused?.message.contains("'builtin' has none") == true, "\(refused?.message ?? "")")
        #expect(try await store.countsByState().values.reduce(0, +) == before, "nothing written")
        let own = try await store.submit(NewTask(agent: "claude", prompt: "p", ask: .off), now: t0).task
        #expect(own.ask == .off)
        #expect(try await store.task(own.id)?.ask == .off, "a task's own policy is stored")
        #expect(try await store.submit(NewTask(agent: "claude", prompt: "p"), now: t0).task.ask == nil, "none given: its agent's")

        var deferred = RunOutcome.approvalRequested("Claude asks to use Bash", tool: "Bash", input: ["command": "make deploy"])
        deferred.waitingFor?.toolUseID = "toolu_9"
        let (parked, id, _) = try await parked(kind, deferred)
        let waiting = try #require(try await parked.task(id))
        #expect(waiting.waitingFor?.toolUseID == "toolu_9")
        #expect(waiting.waitingFor?.tool == "Bash")
        _ = try await parked.addInput(NewInput(kind: .message, text: "careful", sender: "alice"), to: id, now: t1, workspace: nil)
        let approved = try await parked.addInput(
            NewInput(kind: .approve, text: "ok", decisions: ["scope": "tool"], sender: "alice"), to: id, now: t1, workspace: nil)
        #expect(approved.task.state == .queued)
        let inbox = try await parked.inputs(of: id, workspace: nil)
        #expect(inbox.map(\.decisions) == [nil, ["scope": "tool", "tool_use_id": "toolu_9", "tool": "Bash"]])
        let approvals = ToolApprovals(inbox: inbox, delivering: inbox)
        #expect(approvals.resumesCall == "toolu_9")
        #expect(approvals.allow == ["Bash"])
        #expect(approvals.context == "careful")
    }

    @Test("tasks waiting since before a cutoff are the blocked_stale ones, longest waiting first", arguments: StoreKind.allCases)
    func blockedStale(kind: StoreKind) async throws {
        let (store, id, _) = try await parked(kind, .waitingForInput("still there?"))
        #expect(try await store.waiting(since: t0.addingTimeInterval(-1), workspace: nil, limit: 10).isEmpty, "not waiting that long yet")
        #expect(try await store.waiting(since: t0.addingTimeInterval(60), workspace: nil, limit: 10).map(\.id) == [id])
        #expect(try await store.waiting(since: t0.addingTimeInterval(60), workspace: "other", limit: 10).isEmpty)
        _ = try await store.addInput(NewInput(kind: .answer, text: "yes", sender: "a"), to: id, now: t1, workspace: nil)
        #expect(try await store.waiting(since: t0.addingTimeInterval(60), workspace: nil, limit: 10).isEmpty, "answered: no longer waiting")
    }

    @Test("an input never delivered shows as superseded once its task ends", arguments: StoreKind.allCases)
    func superseded(kind: StoreKind) async throws {
        let (store, id, _) = try await parked(kind, .approvalRequested("deploy?"))
        _ = try await store.addInput(NewInput(kind: .message, text: "wait for me", sender: "a"), to: id, now: t1, workspace: nil)
        #expect(try await store.inputs(of: id, workspace: nil).map(\.delivery) == [.pending])
        _ = try await store.transition(id, .drop, now: t1)
        #expect(try await store.inputs(of: id, workspace: nil).map(\.delivery) == [.superseded])
        #expect(try await store.task(id)?.waitingFor == nil)
    }
}

/// A second instant, after ``t0``.
private let t1 = t0.addingTimeInterval(5)
