import Foundation
import Nightshift
import Testing

/// Subtasks, on every store kind.
@Suite("Store conformance: subtasks")
struct SubtaskConformanceTests {
    @Test("a subtask takes its parent's workspace, agent, origin and what is left of its budget", arguments: StoreKind.allCases)
    func inheritance(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        try await store.saveAgent(Agent(workspaceID: "w2", name: "echo", runner: .builtin))
        let parent = try await store.submit(
            NewTask(agent: "echo", prompt: "parent", workspaceID: "w2", origin: Origin(channel: "slack", session: "C1"), budgetUSD: 10), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        #expect(try await store.appendRunWrite(RunWrite(lease: run.lease)) == true)
        // Spent 4 of 10 so far: the child gets the 6 left.
        _ = try await store.settle(run.lease, outcome: .waitingForChildren(usage: RunUsage(costUSD: 4)), now: t0)
        let child = try await store.submit(NewTask(agent: "", prompt: "child", workspaceID: "w2", parentID: parent.id), now: t0).task
        #expect(child.parentID == parent.id)
        #expect(child.subtaskDepth == 1)
        #expect(child.agent == "echo")
        #expect(child.workspaceID == "w2")
        #expect(child.origin == Origin(channel: "slack", session: "C1"))
        #expect(child.budgetUSD == 6)
        #expect(try await store.task(child.id)?.parentID == parent.id)
        #expect(try await store.children(of: parent.id, workspace: "w2").map(\.id) == [child.id])
        #expect(try await store.children(of: parent.id, workspace: "default").isEmpty)
    }

    @Test("a subtask beyond the depth or fan-out limit, or of a missing or ended parent, is refused naming why; nothing is written", arguments: StoreKind.allCases)
    func limits(kind: StoreKind) async throws {
        let store = try await kind.make(subtasks: SubtaskLimits(maxDepth: 2, maxChildren: 2)).with(echoAgent)
        let root = try await store.submit(NewTask(agent: "echo", prompt: "root"), now: t0).task
        let first = try await store.submit(NewTask(agent: "echo", prompt: "1", parentID: root.id), now: t0).task
        let second = try await store.submit(NewTask(agent: "echo", prompt: "2", parentID: first.id), now: t0).task
        #expect(second.subtaskDepth == 2)
        let before = try await store.countsByState()[.queued]
        let deep = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "echo", prompt: "3", parentID: second.id), now: t0)
        }
        #expect(deep?.field == "parent_id")
        #expect(deep?.message.contains("at most 2 deep") == true, "\(deep?.message ?? "")")
        _ = try await store.submit(NewTask(agent: "echo", prompt: "sibling", parentID: root.id), now: t0)
        let wide = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "echo", prompt: "one too many", parentID: root.id), now: t0)
        }
        #expect(wide?.message.contains("the limit is 2") == true, "\(wide?.message ?? "")")
        let unknown = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "echo", prompt: "orphan", parentID: TaskID.generate()), now: t0)
        }
        #expect(unknown?.field == "parent_id")
        let elsewhere = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "echo", prompt: "x", workspaceID: "w2", parentID: root.id), now: t0)
        }
        #expect(elsewhere?.field == "parent_id", "another workspace's task is no parent")
        _ = try await store.transition(second.id, .cancel, now: t0)
        let ended = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "echo", prompt: "late", parentID: second.id), now: t0)
        }
        #expect(ended?.message.contains("cancelled") == true)
        #expect(try await store.countsByState()[.queued] == (before ?? 0), "only the sibling was added and one cancelled")
    }

    @Test("a parent waiting for its subtasks wakes when the last one ends, with their results in its inbox", arguments: StoreKind.allCases)
    func waitForChildren(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let parent = try await store.submit(NewTask(agent: "echo", prompt: "split the work"), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        // Spawned by the run, fenced by its lease.
        #expect(try await store.appendRunWrite(RunWrite(lease: run.lease, spawns: [
            NewTask(agent: "", prompt: "half A"), NewTask(agent: "", prompt: "half B"), NewTask(agent: "nobody", prompt: "refused"),
        ])) == true)
        let children = try await store.children(of: parent.id, workspace: nil)
        #expect(children.map(\.prompt) == ["half A", "half B"])
        let log = try await store.events(task: parent.id, after: 0, limit: 50)
        #expect(log.contains { $0.type == "log" && $0.data["message"]?.stringValue?.contains("subtask refused") == true })
        #expect(try await store.settle(run.lease, outcome: .waitingForChildren(), now: t0) == .settled(.waiting))
        #expect(try await store.task(parent.id)?.waitingFor?.kind == .children)
        // A run that lost its lease spawns nothing.
        #expect(try await store.appendRunWrite(RunWrite(lease: run.lease, spawns: [NewTask(agent: "", prompt: "late")])) == false)
        #expect(try await store.children(of: parent.id, workspace: nil).count == 2)

        let runs = try await store.claim(worker: "w", limit: 2, leaseDuration: 30, now: t0)
        #expect(Set(runs.map(\.task.id)) == Set(children.map(\.id)))
        _ = try await store.settle(runs[0].lease, outcome: .succeeded("result of \(runs[0].task.prompt)"), now: t0)
        #expect(try await store.wakeDue(now: t0).isEmpty, "one subtask is still running")
        _ = try await store.settle(runs[1].lease, outcome: .failed("boom", retryable: false), now: t0)
        #expect(try await store.wakeDue(now: t0) == [parent.id])
        let woken = try #require(try await store.task(parent.id))
        #expect(woken.state == .queued)
        #expect(woken.waitingFor == nil)
        let summary = try #require(try await store.inputs(of: parent.id, workspace: nil).last)
        #expect(summary.sender == "nightshift")
        #expect(summary.text?.contains("result of \(runs[0].task.prompt)") == true)
        #expect(summary.text?.contains("error: boom") == true)
    }

    @Test("cancelling a task cancels its live subtasks and theirs, with the reason", arguments: StoreKind.allCases)
    func cancelCascades(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let root = try await store.submit(NewTask(agent: "echo", prompt: "root"), now: t0).task
        let child = try await store.submit(NewTask(agent: "echo", prompt: "child", parentID: root.id), now: t0).task
        let grandchild = try await store.submit(NewTask(agent: "echo", prompt: "grandchild", parentID: child.id), now: t0).task
        let finished = try await store.submit(NewTask(agent: "echo", prompt: "finished", parentID: root.id), now: t0).task
        _ = try await store.transition(finished.id, .drop, now: t0)
        _ = try await store.transition(root.id, .cancel, now: t0)
        for id in [child.id, grandchild.id] {
            let task = try #require(try await store.task(id))
            #expect(task.state == .cancelled)
            #expect(task.error?.contains("parent task") == true)
        }
        #expect(try await store.task(finished.id)?.state == .dropped, "an ended subtask stays as it was")
    }
}
