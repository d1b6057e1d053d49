import Foundation
import Nightshift
import Testing

/// Every store behaviour, run against every store kind.
@Suite("Store conformance")
struct StoreConformanceTests {
    @Test("submit queues a task with a state event and a hook event", arguments: StoreKind.allCases)
    func submit(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let result = try await store.submit(NewTask(agent: "echo", prompt: "hi", labels: ["x"]), now: t0)
        #expect(result.inserted)
        let task = try #require(try await store.task(result.task.id))
        #expect(task.state == .queued)
        #expect(task.labels == ["x"])
        #expect(task.retry.maxAttempts == 2, "default max_attempts is 2")
        let events = try await store.events(task: task.id, after: 0, limit: 10)
        #expect(events.map(\.seq) == [1])
        #expect(events[0].type == "state")
        #expect(events[0].data["to"] == "queued")
        let hooks = try await store.allHookEvents()
        #expect(hooks.map(\.type) == ["task.queued"])
        #expect(try await store.countsByState()[.queued] == 1)
    }

    @Test("an idempotency key returns the original task and writes nothing", arguments: StoreKind.allCases)
    func idempotency(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let first = try await store.submit(NewTask(agent: "echo", prompt: "a", idempotencyKey: "k1"), now: t0)
        let second = try await store.submit(NewTask(agent: "echo", prompt: "different", idempotencyKey: "k1"), now: t0)
        #expect(second == .existingIdempotent(first.task))
        #expect(try await store.allHookEvents().count == 1)
        // Still the original after the task finished: idempotency keys hold for all time.
        _ = try await store.transition(first.task.id, .cancel, now: t0)
        let third = try await store.submit(NewTask(agent: "echo", prompt: "a", idempotencyKey: "k1"), now: t0)
        #expect(third.task.id == first.task.id)
        #expect(!third.inserted)
        // Another workspace may use the same key.
        try await store.saveAgent(Agent(workspaceID: "w2", name: "echo", runner: .builtin))
        let other = try await store.submit(NewTask(agent: "echo", prompt: "a", workspaceID: "w2", idempotencyKey: "k1"), now: t0)
        #expect(other.inserted)
    }

    @Test("concurrent submits with one idempotency key make one task", arguments: StoreKind.allCases)
    func idempotencyRace(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let ids = try await withThrowingTaskGroup(of: TaskID.self) { group in
            for _ in 0..<20 {
                group.addTask { try await store.submit(NewTask(agent: "echo", prompt: "a", idempotencyKey: "race"), now: t0).task.id }
            }
            return try await group.reduce(into: Set<TaskID>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        #expect(try await store.countsByState()[.queued] == 1)
    }

    @Test("a dedup key returns the live task; once it ended, the key is free", arguments: StoreKind.allCases)
    func dedup(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let first = try await store.submit(NewTask(agent: "echo", prompt: "a", dedupKey: "repo-x"), now: t0)
        let second = try await store.submit(NewTask(agent: "echo", prompt: "b", dedupKey: "repo-x"), now: t0)
        #expect(second == .existingDedup(first.task))
        _ = try await store.transition(first.task.id, .cancel, now: t0)
        let third = try await store.submit(NewTask(agent: "echo", prompt: "c", dedupKey: "repo-x"), now: t0)
        #expect(third.inserted)
        #expect(third.task.id != first.task.id)
        // Retrying the cancelled one would make two live tasks with one key: refused, nothing written.
        let hooks = try await store.allHookEvents().count
        let error = await #expect(throws: NightshiftError.self) { try await store.transition(first.task.id, .retry, now: t0) }
        #expect(error?.field == "dedup_key")
        #expect(try await store.allHookEvents().count == hooks)
        #expect(try await store.task(first.task.id)?.state == .cancelled)
    }

    @Test("beyond the depth cap a submit is refused and nothing is written", arguments: StoreKind.allCases)
    func depthCap(kind: StoreKind) async throws {
        let store = try await kind.make(maxQueueDepth: 3).with(echoAgent)
        for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "\(index)"), now: t0) }
        let error = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "echo", prompt: "one too many"), now: t0)
        }
        #expect(error?.code == .queueFull)
        #expect(error?.message.contains("cap is 3") == true)
        #expect(try await store.countsByState()[.queued] == 3)
        #expect(try await store.allHookEvents().count == 3)
        // Running tasks leave the queue: room again.
        _ = try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0)
        #expect(try await store.submit(NewTask(agent: "echo", prompt: "fits"), now: t0).inserted)
        // A retry queues a task that had left the count: at the cap it is refused like a submit.
        let ended = try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0)[0]
        _ = try await store.transition(ended.task.id, .cancel, now: t0)
        #expect(try await store.submit(NewTask(agent: "echo", prompt: "fills it"), now: t0).inserted)
        let retry = await #expect(throws: NightshiftError.self) { try await store.transition(ended.task.id, .retry, now: t0) }
        #expect(retry?.code == .queueFull)
        #expect(try await store.task(ended.task.id)?.state == .cancelled, "nothing changed")
        _ = try await store.transition(try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first).task.id, .cancel, now: t0)
        #expect(try await store.transition(ended.task.id, .retry, now: t0).state == .queued, "room again")
        // An action the state refuses still says so, full queue or not.
        let illegal = await #expect(throws: NightshiftError.self) { try await store.transition(ended.task.id, .retry, now: t0) }
        #expect(illegal?.code == .illegalTransition)
    }

    @Test("a repeated write probe of a node updates its row rather than failing", arguments: StoreKind.allCases)
    func probeWrite(kind: StoreKind) async throws {
        let store = try await kind.make()
        try await store.probeWrite(node: "a", now: t0)
        try await store.probeWrite(node: "a", now: t0.addingTimeInterval(1))
        try await store.probeWrite(node: "b", now: t0)
    }

    @Test("bad input is refused with the field named and nothing written", arguments: StoreKind.allCases)
    func badInput(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let unknown = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "nobody", prompt: "x"), now: t0)
        }
        #expect(unknown?.field == "agent")
        let negative = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "echo", prompt: "x", priority: -1), now: t0)
        }
        #expect(negative?.field == "priority")
        let bulk = await #expect(throws: NightshiftError.self) {
            try await store.submitAll([NewTask(agent: "echo", prompt: "ok"), NewTask(agent: "nobody", prompt: "x")], now: t0)
        }
        #expect(bulk?.field == "agent")
        // Text a store would cut at a NUL, and identifiers with control characters.
        for (task, field) in [
            (NewTask(agent: "echo", prompt: "a\u{0}b"), "prompt"),
            (NewTask(agent: "echo", prompt: "x", idempotencyKey: "k\u{0}1"), "idempotency_key"),
            (NewTask(agent: "echo", prompt: "x", lane: "l\u{1B}"), "lane"),
        ] {
            let refused = await #expect(throws: NightshiftError.self) { try await store.submit(task, now: t0) }
            #expect(refused?.field == field)
        }
        #expect(try await store.allHookEvents().isEmpty)
        #expect(try await store.countsByState()[.queued] == 0)
    }

    @Test("claim order: priority, then available_at, then id; delayed tasks wait", arguments: StoreKind.allCases)
    func claimOrder(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let late = try await store.submit(NewTask(agent: "echo", prompt: "p5 late", priority: 5, availableAt: t0.addingTimeInterval(-1)), now: t0.addingTimeInterval(-10)).task
        let early = try await store.submit(NewTask(agent: "echo", prompt: "p5 early", priority: 5, availableAt: t0.addingTimeInterval(-5)), now: t0.addingTimeInterval(-10)).task
        let urgent = try await store.submit(NewTask(agent: "echo", prompt: "p0", priority: 0), now: t0.addingTimeInterval(-10)).task
        let a = try await store.submit(NewTask(agent: "echo", prompt: "p9 a", priority: 9), now: t0.addingTimeInterval(-10)).task
        let b = try await store.submit(NewTask(agent: "echo", prompt: "p9 b", priority: 9), now: t0.addingTimeInterval(-10)).task
        _ = try await store.submit(NewTask(agent: "echo", prompt: "future", priority: 0, availableAt: t0.addingTimeInterval(60)), now: t0)
        _ = try await store.submit(NewTask(agent: "echo", prompt: "sooner, lower", priority: 7, availableAt: t0.addingTimeInterval(45)), now: t0)
        _ = try await store.submit(NewTask(agent: "echo", prompt: "later, lowest", priority: 9, availableAt: t0.addingTimeInterval(90)), now: t0)
        // The next due time looks across every priority, not just the most urgent one.
        #expect(try await store.nextAvailableAt(after: t0) == t0.addingTimeInterval(45))
        let claimed = try await store.claim(worker: "w1", limit: 10, leaseDuration: 30, now: t0)
        let expected = [urgent.id, early.id, late.id] + [a.id, b.id].sorted()
        #expect(claimed.map(\.task.id) == expected)
        #expect(claimed.allSatisfy { $0.task.state == .running && $0.run.attempt == 1 && $0.run.workerID == "w1" })
        #expect(try await store.claim(worker: "w1", limit: 10, leaseDuration: 30, now: t0.addingTimeInterval(50)).count == 1)
        #expect(try await store.nextAvailableAt(after: t0.addingTimeInterval(50)) == t0.addingTimeInterval(60))
        #expect(try await store.claim(worker: "w1", limit: 10, leaseDuration: 30, now: t0.addingTimeInterval(61)).count == 1)
        #expect(try await store.nextAvailableAt(after: t0.addingTimeInterval(61)) == t0.addingTimeInterval(90))
    }

    @Test("claim honours the limit and per-agent and per-lane concurrency", arguments: StoreKind.allCases)
    func claimLimits(kind: StoreKind) async throws {
        let store = try await kind.make().with(
            echoAgent, Agent(name: "scarce", runner: .builtin, concurrency: 2))
        try await store.setLaneLimit("deploys", concurrency: 1)
        // The scarce agent's tasks come first in priority order, so limits must skip them, not stop the claim.
        for index in 0..<5 { _ = try await store.submit(NewTask(agent: "scarce", prompt: "s\(index)", priority: 0), now: t0) }
        for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "d\(index)", priority: 1, lane: "deploys"), now: t0) }
        for index in 0..<4 { _ = try await store.submit(NewTask(agent: "echo", prompt: "e\(index)", priority: 2), now: t0) }
        let first = try await store.claim(worker: "w1", limit: 3, leaseDuration: 30, now: t0)
        #expect(first.map(\.task.prompt) == ["s0", "s1", "d0"])
        let second = try await store.claim(worker: "w2", limit: 10, leaseDuration: 30, now: t0)
        #expect(second.map(\.task.prompt) == ["e0", "e1", "e2", "e3"])
        #expect(try await store.claim(worker: "w3", limit: 10, leaseDuration: 30, now: t0).isEmpty)
        // Finishing a scarce task frees exactly one scarce slot.
        #expect(try await store.settle(first[0].lease, outcome: .succeeded("ok"), now: t0) == .settled(.done))
        let third = try await store.claim(worker: "w3", limit: 10, leaseDuration: 30, now: t0)
        #expect(third.map(\.task.prompt) == ["s2"])
    }

    @Test("settle is fenced by the lease and idempotent", arguments: StoreKind.allCases)
    func fencing(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task
        let run = try #require(try await store.claim(worker: "w1", limit: 1, leaseDuration: 30, now: t0).first)
        let forged = Lease(taskID: task.id, runID: run.run.id, token: "not-the-token")
        let hooks = try await store.allHookEvents().count
        guard case .stale = try await store.settle(forged, outcome: .succeeded("forged"), now: t0) else {
            Issue.record("a forged lease must not settle"); return
        }
        #expect(try await store.task(task.id)?.state == .running)
        #expect(try await store.allHookEvents().count == hooks)
        #expect(try await store.settle(run.lease, outcome: .succeeded("done!", usage: RunUsage(tokensIn: 3, tokensOut: 4, costUSD: 0.25, agentSessionID: "s-1", exitCode: 0)), now: t0) == .settled(.done))
        #expect(try await store.settle(run.lease, outcome: .succeeded("again"), now: t0) == .alreadySettled(.done))
        #expect(try await store.settle(run.lease, outcome: .failed("late"), now: t0) == .alreadySettled(.done))
        let done = try #require(try await store.task(task.id))
        #expect(done.result == "done!")
        #expect(done.costUSD == 0.25)
        #expect(done.finishedAt != nil)
        let runs = try await store.runs(task: task.id)
        #expect(runs.count == 1)
        #expect(runs[0].outcome == "succeeded")
        #expect(runs[0].tokensIn == 3 && runs[0].tokensOut == 4 && runs[0].agentSessionID == "s-1" && runs[0].exitCode == 0)
        #expect(try await store.stateEvents(task.id).map(\.to) == ["queued", "running", "done"])
    }

    @Test("a retryable failure retries with backoff until attempts are used up", arguments: StoreKind.allCases)
    func retries(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x", retry: RetryPolicy(maxAttempts: 2, initialBackoff: 10, maxBackoff: 10)), now: t0).task
        let first = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        #expect(try await store.settle(first.lease, outcome: .failed("boom"), now: t0) == .settled(.queued))
        let retried = try #require(try await store.task(task.id))
        #expect(retried.failures == 1)
        #expect(retried.error == "boom")
        #expect(retried.availableAt >= t0.addingTimeInterval(5) && retried.availableAt <= t0.addingTimeInterval(10))
        #expect(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0.addingTimeInterval(1)).isEmpty, "backoff delays the retry")
        let second = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0.addingTimeInterval(11)).first)
        #expect(second.run.attempt == 2)
        #expect(try await store.settle(second.lease, outcome: .failed("boom again"), now: t0.addingTimeInterval(11)) == .settled(.error))
        #expect(try await store.task(task.id)?.error == "boom again")
        // A non-retryable failure goes straight to error; a manual retry gives a fresh budget.
        _ = try await store.transition(task.id, .retry, now: t0.addingTimeInterval(12))
        let third = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0.addingTimeInterval(12)).first)
        #expect(third.run.attempt == 3)
        #expect(try await store.settle(third.lease, outcome: .failed("fatal", retryable: false), now: t0.addingTimeInterval(12)) == .settled(.error))
    }

    @Test("heartbeats extend leases and report lost ones", arguments: StoreKind.allCases)
    func heartbeats(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "\(index)"), now: t0) }
        let runs = try await store.claim(worker: "w", limit: 3, leaseDuration: 10, now: t0)
        _ = try await store.transition(runs[1].task.id, .cancel, now: t0)
        let lost = try await store.heartbeat(runs.map(\.lease), extendTo: t0.addingTimeInterval(100), now: t0.addingTimeInterval(5))
        #expect(lost == [runs[1].lease])
        // The extended leases survive a rescue that would have caught the original expiry.
        #expect(try await store.rescueExpiredLeases(now: t0.addingTimeInterval(50)).isEmpty)
        #expect(try await store.runs(task: runs[1].task.id).first?.outcome == "cancelled")
        guard case .stale = try await store.settle(runs[1].lease, outcome: .succeeded("late"), now: t0) else {
            Issue.record("a cancelled run's lease must be stale"); return
        }
        #expect(try await store.task(runs[1].task.id)?.state == .cancelled)
    }

    @Test("the rescuer queues again, without charging an attempt, tasks whose lease expired", arguments: StoreKind.allCases)
    func rescue(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let retryable = try await store.submit(NewTask(agent: "echo", prompt: "a", retry: RetryPolicy(maxAttempts: 2, initialBackoff: 0, maxBackoff: 0)), now: t0).task
        let last = try await store.submit(NewTask(agent: "echo", prompt: "b", retry: RetryPolicy(maxAttempts: 1)), now: t0).task
        let runs = try await store.claim(worker: "dead", limit: 2, leaseDuration: 10, now: t0)
        let record = AgentProcessRecord(host: "elsewhere/1", pid: 4242, startTicks: 77)
        #expect(try await store.appendRunWrite(RunWrite(lease: runs[0].lease, process: record)))
        #expect(try await store.rescueExpiredLeases(now: t0.addingTimeInterval(5)).isEmpty, "leases still valid")
        let rescued = try await store.rescueExpiredLeases(now: t0.addingTimeInterval(11))
        #expect(Set(rescued.taskIDs) == [retryable.id, last.id])
        #expect(rescued.first { $0.taskID == runs[0].task.id }?.process == record, "the rescue answers the recorded process")
        #expect(rescued.first { $0.taskID == runs[1].task.id }?.process == nil)
        // A lost worker is not the agent's failure: even the task allowed a single attempt is queued.
        for id in [retryable.id, last.id] {
            let task = try #require(try await store.task(id))
            #expect(task.state == .queued)
            #expect(task.failures == 0)
            #expect(task.interruptions == 1)
            #expect(task.error?.contains("lease expired") == true)
        }
        #expect(try await store.runs(task: retryable.id).map(\.outcome) == ["lost"])
        // The dead worker's late settle is refused.
        guard case .stale = try await store.settle(runs[0].lease, outcome: .succeeded("late"), now: t0.addingTimeInterval(12)) else {
            Issue.record("a rescued run's lease must be stale"); return
        }
        let again = try #require(try await store.claim(worker: "alive", limit: 1, leaseDuration: 10, now: t0.addingTimeInterval(12)).first)
        #expect(again.task.id == retryable.id)
        #expect(again.run.attempt == 2)
    }

    @Test("runs lost to the node end the task in error only past the interruption limit; a manual retry resets the count", arguments: StoreKind.allCases)
    func interruptionLimit(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x", retry: RetryPolicy(maxAttempts: 1)), now: t0).task
        for round in 1...RetryBudget.interruptionLimit {
            let time = t0.addingTimeInterval(Double(round))
            _ = try #require(try await store.claim(worker: "node-\(round)", limit: 1, leaseDuration: 3600, now: time).first)
            let reclaimed = try await store.reclaimRuns(ofWorker: "node-\(round)", now: time)
            #expect(reclaimed.taskIDs == [task.id])
            let after = try #require(try await store.task(task.id))
            #expect(after.interruptions == round)
            #expect(after.failures == 0)
            #expect(after.state == (round < RetryBudget.interruptionLimit ? .queued : .error), "round \(round)")
        }
        let ended = try #require(try await store.task(task.id))
        #expect(ended.error?.contains("interrupted \(RetryBudget.interruptionLimit) times") == true, "\(ended.error ?? "")")
        #expect(ended.error?.contains("restarted") == true, "the last reason is kept")
        let retried = try await store.transition(task.id, .retry, now: t0.addingTimeInterval(100))
        #expect(retried.state == .queued)
        #expect(retried.interruptions == 0)
    }

    @Test("a restarted node reclaims its own runs at once", arguments: StoreKind.allCases)
    func reclaim(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "\(index)"), now: t0) }
        _ = try await store.claim(worker: "node-a", limit: 2, leaseDuration: 3600, now: t0)
        let other = try await store.claim(worker: "node-b", limit: 1, leaseDuration: 3600, now: t0)
        let reclaimed = try await store.reclaimRuns(ofWorker: "node-a", now: t0.addingTimeInterval(1))
        #expect(reclaimed.count == 2)
        #expect(try await store.countsByState()[.queued] == 2)
        #expect(try await store.task(other[0].task.id)?.state == .running, "another node's run is untouched")
    }

    @Test("released runs go back to the queue at once without charging an attempt", arguments: StoreKind.allCases)
    func release(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x", retry: RetryPolicy(maxAttempts: 1)), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        #expect(try await store.settle(run.lease, outcome: RunOutcome(resolution: .released, label: "released"), now: t0) == .settled(.queued))
        let released = try #require(try await store.task(task.id))
        #expect(released.failures == 0)
        #expect(released.availableAt == t0)
        #expect(try await store.claim(worker: "w2", limit: 1, leaseDuration: 30, now: t0).count == 1)
    }

    @Test("waiting tasks wake at their time; the state event gives it as RFC 3339 text", arguments: StoreKind.allCases)
    func wake(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        #expect(try await store.settle(run.lease, outcome: .wake(at: t0.addingTimeInterval(60), prompt: "check again"), now: t0) == .settled(.waiting))
        let parked = try await store.events(task: task.id, after: 0, limit: 20).last { $0.type == "state" }
        #expect(parked?.data["wake_at"] == "2027-01-15T08:01:00.000Z")
        #expect(parked?.data["message"] == "check again")
        #expect(try await store.wakeDue(now: t0.addingTimeInterval(30)).isEmpty)
        #expect(try await store.wakeDue(now: t0.addingTimeInterval(61)) == [task.id])
        #expect(try await store.task(task.id)?.state == .queued)
    }

    @Test("actions follow the lifecycle; an illegal one names the state and writes nothing", arguments: StoreKind.allCases)
    func actions(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task
        #expect(try await store.transition(task.id, .pause, now: t0).state == .paused)
        #expect(try await store.claim(worker: "w", limit: 5, leaseDuration: 30, now: t0).isEmpty, "paused tasks are not claimed")
        #expect(try await store.transition(task.id, .resume, now: t0).state == .queued)
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        _ = try await store.settle(run.lease, outcome: .succeeded("ok"), now: t0)
        let hooks = try await store.allHookEvents().count
        let error = await #expect(throws: NightshiftError.self) { try await store.transition(task.id, .pause, now: t0) }
        #expect(error?.code == .illegalTransition)
        #expect(error?.message == "cannot pause task \(task.id): it is done")
        #expect(try await store.allHookEvents().count == hooks)
        let missing = await #expect(throws: NightshiftError.self) { try await store.transition(TaskID.generate(), .cancel, now: t0) }
        #expect(missing?.code == .notFound)
    }

    @Test("states(of:) reads the state and finish time of many tasks at once; unknown ids are left out", arguments: StoreKind.allCases)
    func states(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        // More ids than one statement reads.
        let queued = try await store.submitAll((0..<1_200).map { NewTask(agent: "echo", prompt: "\($0)") }, now: t0).map(\.task.id)
        let cancelled = try await store.submit(NewTask(agent: "echo", prompt: "c"), now: t0).task.id
        _ = try await store.transition(cancelled, .cancel, now: t0.addingTimeInterval(5))
        let missing = TaskID.generate()
        let states = try await store.states(of: queued + [cancelled, missing])
        #expect(states.count == 1_201)
        #expect(queued.allSatisfy { states[$0] == TaskStateRecord(state: .queued, finishedAt: nil) })
        #expect(states[cancelled] == TaskStateRecord(state: .cancelled, finishedAt: t0.addingTimeInterval(5)))
        #expect(states[missing] == nil)
        #expect(try await store.states(of: []).isEmpty)
    }

    @Test("a run whose lease was taken over writes nothing: no events, no session id, no process", arguments: StoreKind.allCases)
    func runWritesFenced(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task
        let first = try #require(try await store.claim(worker: "dead", limit: 1, leaseDuration: 10, now: t0).first)
        let event = NewTaskEvent(taskID: task.id, type: "stdout", data: ["line": "before"])
        #expect(try await store.appendRunWrite(RunWrite(lease: first.lease, events: [event], sessionID: "sess-1")))
        // The lease expires; the rescuer queues the task again and another worker takes it.
        _ = try await store.rescueExpiredLeases(now: t0.addingTimeInterval(11))
        let second = try #require(try await store.claim(worker: "alive", limit: 1, leaseDuration: 30, now: t0.addingTimeInterval(12)).first)
        let seqs = try await store.events(task: task.id, after: 0, limit: 100).map(\.seq)
        let late = NewTaskEvent(taskID: task.id, type: "stdout", data: ["line": "late"])
        let record = AgentProcessRecord(host: "h/1", pid: 99, startTicks: 1)
        for write in [
            RunWrite(lease: first.lease, events: [late]), RunWrite(lease: first.lease, sessionID: "sess-late"),
            RunWrite(lease: first.lease, process: record), RunWrite(lease: first.lease, events: [late], sessionID: "x", process: record),
        ] {
            #expect(try await store.appendRunWrite(write) == false, "\(write)")
        }
        #expect(try await store.events(task: task.id, after: 0, limit: 100).map(\.seq) == seqs, "nothing appended")
        let runs = try await store.runs(task: task.id)
        #expect(runs.map(\.agentSessionID) == ["sess-1", nil], "the lost run keeps what it wrote in time; the new run gets nothing")
        // The current run writes.
        #expect(try await store.appendRunWrite(RunWrite(lease: second.lease, events: [late], sessionID: "sess-2")))
        #expect(try await store.runs(task: task.id).map(\.agentSessionID) == ["sess-1", "sess-2"])
        // A settled run writes nothing either.
        _ = try await store.settle(second.lease, outcome: .succeeded("ok"), now: t0.addingTimeInterval(13))
        #expect(try await store.appendRunWrite(RunWrite(lease: second.lease, events: [late])) == false)
    }

    @Test("a run's checkpoints are saved by its settle, fenced; an ended task's active checkpoints are resolved in the same transaction", arguments: StoreKind.allCases)
    func checkpointsSettleWithTheRun(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x", retry: RetryPolicy(maxAttempts: 3, initialBackoff: 0, maxBackoff: 0)), now: t0).task
        func checkpoint(_ phase: String) -> SessionCheckpoint {
            SessionCheckpoint(agent: "echo", sessionID: "s", taskID: task.id, phase: phase, createdAt: t0)
        }
        func phases(_ status: CheckpointStatus) async throws -> [String] {
            var query = CheckpointQuery()
            query.taskID = task.id
            query.status = status
            return try await store.checkpoints(query).map(\.phase).sorted()
        }
        let quarantined = QuarantinedCheckpoint(
            fileName: "bad.json", quarantinedPath: "/q/bad.json", error: "not JSON", agent: "echo", taskID: task.id, time: t0)
        // The first run fails (retryable): its checkpoint and quarantined file are saved with the settle.
        let first = try #require(try await store.claim(worker: "w1", limit: 1, leaseDuration: 10, now: t0).first)
        #expect(try await store.settle(
            first.lease, outcome: .failed("boom", retryable: true),
            checkpoints: CheckpointCollection(checkpoints: [checkpoint("one")], quarantined: [quarantined]),
            now: t0.addingTimeInterval(1)) == .settled(.queued))
        #expect(try await phases(.active) == ["one"])
        #expect(try await store.quarantinedCheckpoints(limit: 10).map(\.fileName) == ["bad.json"])
        // The second run's worker dies; the task runs again elsewhere. The lost worker's late
        // settle, claiming success, writes nothing: its checkpoint is not saved and the task's
        // active ones are not resolved while the third run goes on.
        let second = try #require(try await store.claim(worker: "dead", limit: 1, leaseDuration: 10, now: t0.addingTimeInterval(2)).first)
        _ = try await store.rescueExpiredLeases(now: t0.addingTimeInterval(13))
        let third = try #require(try await store.claim(worker: "w3", limit: 1, leaseDuration: 30, now: t0.addingTimeInterval(14)).first)
        let late = try await store.settle(
            second.lease, outcome: .succeeded("late"),
            checkpoints: CheckpointCollection(checkpoints: [checkpoint("stale")], quarantined: [quarantined]),
            now: t0.addingTimeInterval(15))
        guard case .stale = late else { Issue.record("expected a stale settle, got \(late)"); return }
        #expect(try await phases(.active) == ["one"])
        #expect(try await phases(.resolved).isEmpty)
        #expect(try await store.quarantinedCheckpoints(limit: 10).count == 1)
        // The current run succeeds: its checkpoint is saved and every active one of the task is resolved.
        #expect(try await store.settle(
            third.lease, outcome: .succeeded("ok"), checkpoints: CheckpointCollection(checkpoints: [checkpoint("three")]),
            now: t0.addingTimeInterval(16)) == .settled(.done))
        #expect(try await phases(.active).isEmpty)
        #expect(try await phases(.resolved) == ["one", "three"])
        // A person's cancel resolves the cancelled task's active checkpoints in its own transaction.
        let other = try await store.submit(NewTask(agent: "echo", prompt: "y"), now: t0).task
        _ = try await store.saveCheckpoint(SessionCheckpoint(agent: "echo", taskID: other.id, phase: "waiting", createdAt: t0))
        _ = try await store.transition(other.id, .cancel, now: t0.addingTimeInterval(17))
        var query = CheckpointQuery()
        query.taskID = other.id
        #expect(try await store.checkpoints(query).map(\.status) == [.resolved])
    }

    @Test("events are read back with a cursor; hook events are gap-free and ordered", arguments: StoreKind.allCases)
    func events(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task
        let other = try await store.submit(NewTask(agent: "echo", prompt: "y"), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        #expect(try await store.appendRunWrite(RunWrite(
            lease: run.lease, events: (1...5).map { NewTaskEvent(taskID: task.id, type: "stdout", data: ["line": .string("l\($0)")]) })))
        _ = try await store.settle(run.lease, outcome: .succeeded("ok"), now: t0)
        let all = try await store.events(task: task.id, after: 0, limit: 100)
        #expect(all.map(\.seq) == Array(1...8))
        #expect(all.map(\.type) == ["state", "state", "stdout", "stdout", "stdout", "stdout", "stdout", "state"])
        #expect(all[1].data == [
            "from": "queued", "to": "running", "action": "dispatch", "attempt": 1, "run_id": .string(run.run.id), "worker": "w",
        ])
        #expect(run.task.state == .running && run.task.attempt == 1 && run.run.attempt == 1 && run.run.workerID == "w")
        let page = try await store.events(task: task.id, after: 3, limit: 2)
        #expect(page.map(\.seq) == [4, 5])
        #expect(page.map { $0.data["line"]?.stringValue } == ["l2", "l3"])
        #expect(try await store.events(task: task.id, after: 8, limit: 10).isEmpty)
        #expect(try await store.events(task: other.id, after: 0, limit: 10).map(\.seq) == [1])
        let hooks = try await store.allHookEvents()
        #expect(hooks.map(\.seq) == Array(1...Int64(hooks.count)))
        #expect(hooks.map(\.type) == ["task.queued", "task.queued", "task.started", "task.done"])
        #expect(try await store.hookEvents(after: 2, limit: 1).map(\.type) == ["task.started"])
        #expect(hooks[2].taskID == task.id)
        #expect(hooks[2].data == ["from": "queued", "to": "running", "agent": "echo", "action": "dispatch"])
    }

    @Test("agents are saved, listed, replaced and deleted", arguments: StoreKind.allCases)
    func agents(kind: StoreKind) async throws {
        let store = try await kind.make()
        try await store.saveAgent(Agent(name: "b", runner: .command, config: ["command": ["/bin/true"]], concurrency: 2, timeout: 60))
        try await store.saveAgent(Agent(name: "a", runner: .builtin))
        try await store.saveAgent(Agent(name: "b", runner: .command, config: ["command": ["/bin/false"]], concurrency: 3))
        #expect(try await store.agents().map(\.name) == ["a", "b"])
        let b = try #require(try await store.agent(named: "b"))
        #expect(b.concurrency == 3 && b.timeout == nil && b.config["command"] == ["/bin/false"])
        #expect(try await store.deleteAgent(named: "a"))
        #expect(try await !store.deleteAgent(named: "a"))
        let bad = await #expect(throws: NightshiftError.self) { try await store.saveAgent(Agent(name: "x y", runner: .builtin)) }
        #expect(bad?.field == "name")
    }
}
