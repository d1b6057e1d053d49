import Foundation
import Nightshift
import Testing

/// Workflow steps' store side on every store kind: recorded with their events in a run's fenced
/// write, read back by position, scoped by the task's workspace.
@Suite("Store conformance: workflow steps")
struct StepConformanceTests {
    @Test("a run's ended steps are recorded with their events under its lease, replaced by position, and not once the lease is gone", arguments: StoreKind.allCases)
    func fencedSteps(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "flow", runner: .workflow))
        let task = try await store.submit(NewTask(agent: "flow", prompt: "input"), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0).first)
        let first = WorkflowStep(
            taskID: task.id, position: 0, name: "reproduce", state: .completed, output: ["log": "boom", "lines": [1, 2]], runID: run.run.id,
            startedAt: t0, finishedAt: t0.addingTimeInterval(2))
        let second = WorkflowStep(
            taskID: task.id, position: 1, name: "fix", state: .failed, error: "compile error", attempts: 3, runID: run.run.id,
            startedAt: t0.addingTimeInterval(2), finishedAt: t0.addingTimeInterval(5))
        for step in [first, second] {
            var write = RunWrite(lease: run.lease, events: [step.event])
            write.steps = [step]
            #expect(try await store.appendRunWrite(write))
        }
        #expect(try await store.steps(task: task.id) == [first, second])
        #expect(try await store.steps(task: task.id, workspace: "w2").isEmpty, "another workspace does not see them")
        let logged = try await store.events(task: task.id, after: 0, limit: 100).filter { $0.type.hasPrefix("step_") }
        #expect(logged.map(\.type) == ["step_completed", "step_failed"])
        #expect(logged[1].data["error"] == "compile error" && logged[1].data["attempts"] == 3 && logged[1].data["duration_s"]?.doubleValue == 3)
        // The same position again replaces its record.
        var retried = second
        (retried.state, retried.error, retried.output) = (.completed, nil, "patched")
        var write = RunWrite(lease: run.lease, events: [retried.event])
        write.steps = [retried]
        #expect(try await store.appendRunWrite(write))
        #expect(try await store.steps(task: task.id).map(\.state) == [.completed, .completed])
        _ = try await store.transition(task.id, .cancel, now: t0.addingTimeInterval(10))
        var late = retried
        late.position = 2
        write.steps = [late]
        #expect(try await !store.appendRunWrite(write), "the lease is gone")
        #expect(try await store.steps(task: task.id).count == 2)
    }
}
