import Foundation
import Nightshift
import Testing

/// Hook consumers, application events and the stream's retention, on every store kind.
@Suite("Store conformance: hook consumers")
struct HookConsumerConformanceTests {
    @Test("a consumer is created at 0 on first use and reads only its workspace's events; its ack only moves forward", arguments: StoreKind.allCases)
    func consumers(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "echo", runner: .builtin))
        try await store.saveAgent(Agent(workspaceID: "w2", name: "echo", runner: .builtin))
        let mine = try await store.submit(NewTask(agent: "echo", prompt: "mine"), now: t0).task
        _ = try await store.submit(NewTask(agent: "echo", prompt: "theirs", workspaceID: "w2"), now: t0)
        let other = try await store.submit(NewTask(agent: "echo", prompt: "mine too"), now: t0).task
        let consumer = try await store.hookConsumer("ci", workspace: Workspace.defaultID, now: t0)
        #expect(consumer.ackSeq == 0 && consumer.lag == 2)
        let events = try await store.hookEvents(after: 0, limit: 100, workspace: Workspace.defaultID)
        #expect(events.map(\.taskID) == [mine.id, other.id], "w2's event is not this workspace's")
        #expect(events.allSatisfy { $0.type == "task.queued" })
        // Ack the first: the second is what is left.
        let acked = try await store.ackHookConsumer("ci", seq: events[0].seq, workspace: Workspace.defaultID, now: t0.addingTimeInterval(1))
        #expect(acked.ackSeq == events[0].seq && acked.lag == 1 && acked.updatedAt == t0.addingTimeInterval(1))
        #expect(try await store.hookEvents(after: acked.ackSeq, limit: 100, workspace: Workspace.defaultID).map(\.taskID) == [other.id])
        // The same seq again is fine; a lower one is a conflict naming the ack; beyond the stream is invalid.
        #expect(try await store.ackHookConsumer("ci", seq: events[0].seq, workspace: Workspace.defaultID, now: t0).ackSeq == events[0].seq)
        let behind = await #expect(throws: NightshiftError.self) {
            try await store.ackHookConsumer("ci", seq: events[0].seq - 1, workspace: Workspace.defaultID, now: t0)
        }
        #expect(behind?.code == .conflict && behind?.field == "seq")
        #expect(behind?.message.contains("at \(events[0].seq)") == true)
        let last = try await store.lastHookSeq()
        let beyond = await #expect(throws: NightshiftError.self) {
            try await store.ackHookConsumer("ci", seq: last + 1, workspace: Workspace.defaultID, now: t0)
        }
        #expect(beyond?.code == .invalidInput && beyond?.field == "seq")
        let unknown = await #expect(throws: NightshiftError.self) {
            try await store.ackHookConsumer("nobody", seq: 1, workspace: Workspace.defaultID, now: t0)
        }
        #expect(unknown?.code == .notFound && unknown?.field == "consumer")
        // The same name in another workspace is another consumer; a poll does not move an ack.
        let theirs = try await store.hookConsumer("ci", workspace: "w2", now: t0)
        #expect(theirs.ackSeq == 0 && theirs.lag == 1)
        #expect(try await store.hookConsumer("ci", workspace: Workspace.defaultID, now: t0.addingTimeInterval(9)).ackSeq == events[0].seq)
        #expect(try await store.hookConsumers(workspace: Workspace.defaultID).map(\.name) == ["ci"])
        #expect(try await store.deleteHookConsumer("ci", workspace: "w2"))
        #expect(try await !store.deleteHookConsumer("ci", workspace: "w2"))
        #expect(try await store.hookConsumers(workspace: "w2").isEmpty)
        #expect(try await store.hookConsumers(workspace: Workspace.defaultID).count == 1)
    }

    @Test("applications' events join the stream in order, on a task of the workspace; bad ones name the field and write nothing", arguments: StoreKind.allCases)
    func applicationEvents(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "echo", runner: .builtin))
        try await store.saveAgent(Agent(workspaceID: "w2", name: "echo", runner: .builtin))
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task
        let foreign = try await store.submit(NewTask(agent: "echo", prompt: "x", workspaceID: "w2"), now: t0).task
        let before = try await store.lastHookSeq()
        try await store.appendHookEvents([
            NewHookEvent(taskID: task.id, type: "feature_review_ready", data: ["pr": 42]),
            NewHookEvent(taskID: task.id, type: "post_merge_closure"),
        ], workspace: Workspace.defaultID, now: t0.addingTimeInterval(5))
        let appended = try await store.hookEvents(after: before, limit: 10, workspace: Workspace.defaultID)
        #expect(appended.map(\.type) == ["feature_review_ready", "post_merge_closure"])
        #expect(appended.map(\.seq) == [before + 1, before + 2], "numbered on, gap-free")
        #expect(appended[0].data == ["pr": 42] && appended[1].data == .object([:]))
        #expect(appended.allSatisfy { $0.taskID == task.id && $0.workspaceID == Workspace.defaultID && $0.time == t0.addingTimeInterval(5) })
        // Another workspace's task is not found, and nothing of the batch is written.
        let notFound = await #expect(throws: NightshiftError.self) {
            try await store.appendHookEvents([
                NewHookEvent(taskID: task.id, type: "fine"), NewHookEvent(taskID: foreign.id, type: "leak"),
            ], workspace: Workspace.defaultID, now: t0)
        }
        #expect(notFound?.code == .notFound)
        for (event, field) in [
            (NewHookEvent(taskID: task.id, type: "task.done"), "type"), (NewHookEvent(taskID: task.id, type: "Upper"), "type"),
            (NewHookEvent(taskID: task.id, type: ""), "type"), (NewHookEvent(taskID: task.id, type: "ok", data: [1, 2]), "data"),
            (NewHookEvent(taskID: task.id, type: "ok", data: ["big": .string(String(repeating: "x", count: 70_000))]), "data"),
        ] {
            let refused = await #expect(throws: NightshiftError.self) {
                try await store.appendHookEvents([event], workspace: Workspace.defaultID, now: t0)
            }
            #expect(refused?.field == field, "\(event.type)")
        }
        #expect(try await store.lastHookSeq() == before + 2)
    }

    @Test("a run's emitted events are written with its lease, and not once the lease is gone", arguments: StoreKind.allCases)
    func fencedRunEvents(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "echo", runner: .builtin))
        let task = try await store.submit(NewTask(agent: "echo", prompt: "x"), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0).first)
        var write = RunWrite(lease: run.lease)
        write.hookEvents = [NewHookEvent(taskID: task.id, type: "tests_green", data: ["passed": 12])]
        #expect(try await store.appendRunWrite(write))
        let seen = try await store.hookEvents(after: 0, limit: 100, workspace: Workspace.defaultID).filter { $0.type == "tests_green" }
        #expect(seen.map(\.data) == [["passed": 12]])
        _ = try await store.transition(task.id, .cancel, now: t0.addingTimeInterval(1))
        #expect(try await !store.appendRunWrite(write), "the lease is gone")
        #expect(try await store.hookEvents(after: 0, limit: 100, workspace: Workspace.defaultID).filter { $0.type == "tests_green" }.count == 1)
    }

    @Test("pruning deletes old events every consumer of their workspace acked; never an unacked one, never the last", arguments: StoreKind.allCases)
    func retention(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "echo", runner: .builtin))
        try await store.saveAgent(Agent(workspaceID: "w2", name: "echo", runner: .builtin))
        for index in 0..<4 { _ = try await store.submit(NewTask(agent: "echo", prompt: "old \(index)"), now: t0) }
        _ = try await store.submit(NewTask(agent: "echo", prompt: "theirs", workspaceID: "w2"), now: t0)
        _ = try await store.submit(NewTask(agent: "echo", prompt: "new"), now: t0.addingTimeInterval(86_400))
        let events = try await store.hookEvents(after: 0, limit: 100, workspace: Workspace.defaultID)
        #expect(events.count == 5)
        _ = try await store.hookConsumer("fast", workspace: Workspace.defaultID, now: t0)
        _ = try await store.hookConsumer("slow", workspace: Workspace.defaultID, now: t0)
        _ = try await store.ackHookConsumer("fast", seq: events[4].seq, workspace: Workspace.defaultID, now: t0)
        _ = try await store.ackHookConsumer("slow", seq: events[1].seq, workspace: Workspace.defaultID, now: t0)
        // Before the first day is over: nothing is old enough.
        #expect(try await store.pruneHookEvents(before: t0) == 0)
        // A day later: the two events both consumers acked go; w2's (no consumer there) goes too;
        // the new one is not old enough.
        let cutoff = t0.addingTimeInterval(3_600)
        #expect(try await store.pruneHookEvents(before: cutoff) == 3)
        #expect(try await store.hookEvents(after: 0, limit: 100, workspace: Workspace.defaultID).map(\.seq) == Array(events[2...].map(\.seq)))
        #expect(try await store.hookEvents(after: 0, limit: 100, workspace: "w2").isEmpty)
        // The slow consumer catches up: what is old goes, but never the stream's last event.
        _ = try await store.ackHookConsumer("slow", seq: events[4].seq, workspace: Workspace.defaultID, now: t0)
        #expect(try await store.pruneHookEvents(before: t0.addingTimeInterval(10 * 86_400)) == 2)
        #expect(try await store.hookEvents(after: 0, limit: 100, workspace: Workspace.defaultID).map(\.seq) == [events[4].seq])
        // Numbering goes on after the last one.
        let next = try await store.submit(NewTask(agent: "echo", prompt: "after"), now: t0.addingTimeInterval(10 * 86_400)).task
        let after = try await store.hookEvents(after: events[4].seq, limit: 10, workspace: Workspace.defaultID)
        #expect(after.map(\.taskID) == [next.id] && after.first?.seq == events[4].seq + 1)
    }

    @Test("stuck_queued's query: queued tasks available since before the cutoff, longest first, by workspace", arguments: StoreKind.allCases)
    func stuckQueued(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "echo", runner: .builtin))
        let old = try await store.submit(NewTask(agent: "echo", prompt: "old"), now: t0).task
        let older = try await store.submit(NewTask(agent: "echo", prompt: "older"), now: t0.addingTimeInterval(-60)).task
        _ = try await store.submit(NewTask(agent: "echo", prompt: "fresh"), now: t0.addingTimeInterval(600)).task
        let stuck = try await store.stuckQueued(availableBefore: t0.addingTimeInterval(300), workspace: Workspace.defaultID, limit: 10)
        #expect(stuck.map(\.id) == [older.id, old.id])
        #expect(try await store.stuckQueued(availableBefore: t0.addingTimeInterval(300), workspace: "w2", limit: 10).isEmpty)
        _ = try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0.addingTimeInterval(700))
        #expect(try await store.stuckQueued(availableBefore: t0.addingTimeInterval(300), workspace: nil, limit: 10).count == 1, "a claimed task is not stuck")
    }
}
