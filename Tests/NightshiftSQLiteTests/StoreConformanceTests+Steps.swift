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
        #expect(try await store.steps(task: task.id).recorded == [first, second])
        #expect(try await store.steps(task: task.id, workspace: "w2").recorded.isEmpty, "another workspace does not see them")
        let logged = try await store.events(task: task.id, after: 0, limit: 100).filter { $0.type.hasPrefix("step_") }
        #expect(logged.map(\.type) == ["step_completed", "step_failed"])
        #expect(logged[1].data["error"] == "compile error" && logged[1].data["attempts"] == 3 && logged[1].data["duration_s"]?.doubleValue == 3)
        // The same position again replaces its record.
        var retried = second
        (retried.state, retried.error, retried.output) = (.completed, nil, "patched")
        var write = RunWrite(lease: run.lease, events: [retried.event])
        write.steps = [retried]
        #expect(try await store.appendRunWrite(write))
        #expect(try await store.steps(task: task.id).recorded.map(\.state) == [.completed, .completed])
        _ = try await store.transition(task.id, .cancel, now: t0.addingTimeInterval(10))
        var late = retried
        late.position = 2
        write.steps = [late]
        #expect(try await !store.appendRunWrite(write), "the lease is gone")
        #expect(try await store.steps(task: task.id).recorded.count == 2)
    }

    @Test("a pause of a running task is a request its run sees: the task runs on until its run settles paused; resume withdraws it; a settle that would queue it (a retryable failure, a lost run) pauses it", arguments: StoreKind.allCases)
    func pauseRequests(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "flow", runner: .workflow, retry: RetryPolicy(maxAttempts: 3, initialBackoff: 0.01)))
        let task = try await store.submit(NewTask(agent: "flow", prompt: "input"), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0).first)
        let requested = { try await store.states(of: [task.id])[task.id]?.pauseRequested }
        #expect(try await store.transition(task.id, .pause, now: t0).state == .running, "the run goes on")
        #expect(try await requested() == true)
        _ = try await store.transition(task.id, .pause, now: t0)
        #expect(try await store.transition(task.id, .resume, now: t0).state == .running)
        #expect(try await requested() == false)
        let refused = await #expect(throws: NightshiftError.self) { try await store.transition(task.id, .resume, now: t0) }
        #expect(refused?.code == .illegalTransition, "no request to withdraw")
        let types = try await store.events(task: task.id, after: 0, limit: 100).map(\.type).filter { $0.hasPrefix("pause") }
        #expect(types == ["pause_requested", "pause_withdrawn"], "a second request while one stands adds nothing")
        // A retryable failure would queue the task again: with a pause asked for, it pauses.
        _ = try await store.transition(task.id, .pause, now: t0)
        #expect(try await store.settle(run.lease, outcome: .failed("flaky"), now: t0) == .settled(.paused))
        #expect(try await requested() == false, "the request ends with its run")
        #expect(try await store.transition(task.id, .resume, now: t0).state == .queued)
        // A workflow that stopped between steps settles paused.
        let second = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0.addingTimeInterval(1)).first)
        #expect(try await requested() == false, "a resumed task's new run starts with no request")
        _ = try await store.transition(task.id, .pause, now: t0.addingTimeInterval(1))
        #expect(try await store.settle(second.lease, outcome: RunOutcome(resolution: .paused, label: "paused"), now: t0.addingTimeInterval(2)) == .settled(.paused))
        #expect(try await store.runs(task: task.id).map(\.outcome) == ["failed", "paused"])
        // A run lost with its node (its lease expired) while a pause was asked for: paused, not queued again.
        #expect(try await store.transition(task.id, .resume, now: t0.addingTimeInterval(3)).state == .queued)
        _ = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0.addingTimeInterval(3)).first)
        _ = try await store.transition(task.id, .pause, now: t0.addingTimeInterval(4))
        #expect(try await store.rescueExpiredLeases(now: t0.addingTimeInterval(100)).count == 1)
        #expect(try await store.state(of: task.id) == .paused)
        #expect(try await store.runs(task: task.id).last?.outcome == "lost")
    }

    @Test("a workflow's declared steps are kept by its run's fenced write; a cancel marks those not ended skipped, the running one included; a retry forgets failed and skipped steps and keeps completed ones", arguments: StoreKind.allCases)
    func declaredStepsAndCancel(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "flow", runner: .workflow))
        let task = try await store.submit(NewTask(agent: "flow", prompt: "input"), now: t0).task
        let run = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0).first)
        var write = RunWrite(lease: run.lease, events: [NewTaskEvent(taskID: task.id, type: "steps_declared", data: ["steps": ["a", "b", "c"]], time: t0)])
        write.declaredSteps = ["a", "b", "c"]
        #expect(try await store.appendRunWrite(write))
        let first = WorkflowStep(taskID: task.id, position: 0, name: "a", state: .completed, output: 1, runID: run.run.id, startedAt: t0, finishedAt: t0)
        write = RunWrite(lease: run.lease, events: [first.event])
        write.steps = [first]
        #expect(try await store.appendRunWrite(write))
        var steps = try await store.steps(task: task.id)
        #expect(steps.declared == ["a", "b", "c"] && steps.completed == 1 && steps.progress == 1.0 / 3)
        #expect(steps.pending.map(\.name) == ["b", "c"])
        #expect(try await store.steps(task: task.id, workspace: "w2").declared.isEmpty, "another workspace does not see them")
        _ = try await store.transition(task.id, .cancel, now: t0.addingTimeInterval(5))
        steps = try await store.steps(task: task.id)
        #expect(steps.recorded.map(\.name) == ["a", "b", "c"])
        #expect(steps.recorded.map(\.state) == [.completed, .skipped, .skipped])
        #expect(steps.recorded[1].error == "task cancelled" && steps.recorded[1].attempts == 0 && steps.recorded[1].runID == run.run.id)
        #expect(steps.recorded[0].output == 1, "a completed step keeps its output")
        #expect(steps.pending.isEmpty)
        _ = try await store.transition(task.id, .retry, now: t0.addingTimeInterval(6))
        steps = try await store.steps(task: task.id)
        #expect(steps.recorded.map(\.name) == ["a"], "the retry runs b and c; a replays")
        #expect(steps.declared == ["a", "b", "c"])
    }

    @Test("steps written by several runs at once (one statement on PostgreSQL) each get their own answer: recorded with gap-free events under a current lease, refused under a stale one", arguments: StoreKind.allCases)
    func concurrentStepWrites(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "flow", runner: .workflow))
        var ids: [TaskID] = []
        for index in 0..<8 { ids.append(try await store.submit(NewTask(agent: "flow", prompt: "w\(index)"), now: t0).task.id) }
        let runs = try await store.claim(worker: "w", limit: 8, leaseDuration: 60, now: t0)
        #expect(runs.count == 8)
        let stale = try #require(runs.first).task.id
        _ = try await store.transition(stale, .cancel, now: t0)
        for round in 0..<3 {
            let answers = try await withThrowingTaskGroup(of: (TaskID, Bool).self) { group in
                for run in runs {
                    group.addTask {
                        let step = WorkflowStep(
                            taskID: run.task.id, position: round, name: "s\(round)", state: .completed, output: .int(Int64(round)), runID: run.run.id,
                            startedAt: t0, finishedAt: t0)
                        var write = RunWrite(lease: run.lease, events: [NewTaskEvent(taskID: run.task.id, type: "step_started", data: [:], time: t0), step.event])
                        write.steps = [step]
                        return (run.task.id, try await store.appendRunWrite(write))
                    }
                }
                return try await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
            }
            #expect(answers.filter(\.value).count == 7 && answers[stale] == false, "round \(round): \(answers)")
        }
        for id in ids where id != stale {
            #expect(try await store.steps(task: id).recorded.map(\.output) == [0, 1, 2])
            let events = try await store.events(task: id, after: 0, limit: 100)
            #expect(events.map(\.seq) == Array(1...Int64(events.count)), "gap-free")
            #expect(events.filter { $0.type.hasPrefix("step_") }.map(\.type) == Array(repeating: ["step_started", "step_completed"], count: 3).flatMap { $0 })
        }
        #expect(try await store.steps(task: stale).recorded.isEmpty)
    }
}
