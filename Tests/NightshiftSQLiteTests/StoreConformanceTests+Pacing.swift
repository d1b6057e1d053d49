import Foundation
import Nightshift
import Testing

/// Rate buckets and parked quota groups at claim and settle time, on every store kind.
@Suite("Store conformance: pacing")
struct PacingConformanceTests {
    @Test("a rate's bucket: each claimed task takes a token in the claim; an empty bucket's agent is skipped and the claim says when its next token comes", arguments: StoreKind.allCases)
    func bucket(kind: StoreKind) async throws {
        let store = try await kind.make().with(
            Agent(name: "paced", runner: .builtin, rate: AgentRate(limit: 2, window: 60)), Agent(name: "free", runner: .builtin))
        _ = try await store.submitAll((0..<4).map { NewTask(agent: "paced", prompt: "p\($0)", priority: 0) }, now: t0)
        _ = try await store.submit(NewTask(agent: "free", prompt: "f", priority: 1), now: t0)
        let first = try await store.claimBatch(worker: "w", limit: 10, leaseDuration: 60, now: t0)
        #expect(first.runs.map(\.task.agent).sorted() == ["free", "paced", "paced"])
        #expect(close(first.nextOpening, t0.addingTimeInterval(30)), "one token every 30 s")
        let pacing = try #require(try await store.agentPacing(workspace: nil, now: t0).first { $0.agent.name == "paced" })
        #expect(pacing.tokens == 0)
        #expect(close(pacing.nextRefill, t0.addingTimeInterval(30)))
        // Before the refill: nothing; at it: one task.
        let early = try await store.claimBatch(worker: "w", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(29))
        #expect(early.runs.isEmpty)
        #expect(close(early.nextOpening, t0.addingTimeInterval(30)))
        let refilled = try await store.claimBatch(worker: "w", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(30))
        #expect(refilled.runs.count == 1)
        // A whole window later the bucket is full again, but only one task is left.
        let later = try await store.claimBatch(worker: "w", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(200))
        #expect(later.runs.count == 1)
        #expect(later.nextOpening == nil, "a token is left: nothing is held back")
        let free = try #require(try await store.agentPacing(workspace: nil, now: t0.addingTimeInterval(200)).first { $0.agent.name == "free" })
        #expect(free.rate == nil && free.tokens == nil && free.parkedUntil == nil && free.quotaGroup == "free")
    }

    @Test("a parked run charges no failure; its task and every queued task of its quota group wait for the reset plus the margin; unpark ends the park", arguments: StoreKind.allCases)
    func park(kind: StoreKind) async throws {
        let store = try await kind.make().with(
            Agent(name: "a", runner: .builtin, retry: RetryPolicy(maxAttempts: 1), quotaGroup: "shared"),
            Agent(name: "b", runner: .builtin, quotaGroup: "shared"), Agent(name: "c", runner: .builtin))
        let parked = try await store.submit(NewTask(agent: "a", prompt: "first", priority: 0), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0).first)
        let reset = t0.addingTimeInterval(3_600)
        let outcome = RunOutcome.parked("limit reached", resetsAt: reset, park: ParkRequest(group: "shared", policy: ParkPolicy(margin: 60)))
        #expect(try await store.settle(run.lease, outcome: outcome, now: t0) == .settled(.queued))
        let task = try #require(try await store.task(parked.id))
        #expect(task.state == .queued && task.failures == 0 && task.interruptions == 0)
        #expect(task.availableAt == reset.addingTimeInterval(60))
        #expect(try await store.runs(task: parked.id).map(\.outcome) == ["parked"])
        _ = try await store.submit(NewTask(agent: "a", prompt: "second"), now: t0)
        _ = try await store.submit(NewTask(agent: "b", prompt: "same group"), now: t0)
        _ = try await store.submit(NewTask(agent: "c", prompt: "other group"), now: t0)
        let during = try await store.claimBatch(worker: "w", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(60))
        #expect(during.runs.map(\.task.agent) == ["c"])
        #expect(during.nextOpening == reset.addingTimeInterval(60))
        let pacing = try await store.agentPacing(workspace: nil, now: t0.addingTimeInterval(60))
        #expect(pacing.filter { $0.parkedUntil == reset.addingTimeInterval(60) }.map(\.agent.name) == ["a", "b"])
        #expect(pacing.first { $0.agent.name == "b" }?.parkReason == "limit reached")
        // Unparked: the group's queued tasks run at once; the parked task keeps its own time.
        #expect(try await store.unpark(group: "shared", workspace: Workspace.defaultID, now: t0.addingTimeInterval(120)))
        #expect(try await !store.unpark(group: "shared", workspace: Workspace.defaultID, now: t0.addingTimeInterval(120)))
        let after = try await store.claimBatch(worker: "w", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(120))
        #expect(after.runs.map(\.task.prompt).sorted() == ["same group", "second"])
        #expect(after.nextOpening == nil)
        let atReset = try await store.claimBatch(worker: "w", limit: 10, leaseDuration: 60, now: reset.addingTimeInterval(60))
        #expect(atReset.runs.map(\.task.id) == [parked.id])
        #expect(atReset.runs.first?.run.attempt == 2)
    }

    @Test("a park ends by itself at its time: the group's tasks are claimed then", arguments: StoreKind.allCases)
    func parkEnds(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "a", runner: .builtin, retry: RetryPolicy(maxAttempts: 1)))
        _ = try await store.submit(NewTask(agent: "a", prompt: "first"), now: t0)
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0).first)
        // No reset named: the default park.
        let outcome = RunOutcome.parked("limit", resetsAt: nil, park: ParkRequest(group: "a", policy: ParkPolicy(defaultDuration: 600)))
        _ = try await store.settle(run.lease, outcome: outcome, now: t0)
        _ = try await store.submit(NewTask(agent: "a", prompt: "second"), now: t0)
        #expect(try await store.claim(worker: "w", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(599)).isEmpty)
        #expect(try await store.claim(worker: "w", limit: 10, leaseDuration: 60, now: t0.addingTimeInterval(600)).count == 2)
    }
}

/// Whether `date` is `expected`, give or take a millisecond (bucket times are computed in floating point).
private func close(_ date: Date?, _ expected: Date) -> Bool {
    guard let date else { return false }
    return abs(date.timeIntervalSince(expected)) < 0.001
}
