import Foundation
import Synchronization

/// Collects what one run writes while it runs — its events, and the agent's session id and process
/// as soon as they are known — without blocking the runner, and writes them in batches, in order,
/// each batch one write fenced by the run's lease (``RunWrite``).
///
/// No task waits on a run that emits nothing: the first event starts a writer task, which writes
/// whatever accumulated while its previous batch was being written and ends when nothing is left.
/// Once a write finds the lease gone, nothing more is written and `leaseLost` is called once.
final class RunEventBuffer: Sendable {
    private struct State {
        var pending: RunWrite
        var writing = false
        var lost = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let task: TaskID
    private let write: @Sendable (RunWrite) async -> Bool
    private let leaseLost: @Sendable () -> Void
    private let state: Mutex<State>

    /// `write` writes a batch to the store, answering whether the lease was still current (and
    /// reports its own failures); `leaseLost` hears once that it was not.
    init(lease: Lease, write: @escaping @Sendable (RunWrite) async -> Bool, leaseLost: @escaping @Sendable () -> Void = {}) {
        task = lease.taskID
        self.write = write
        self.leaseLost = leaseLost
        state = Mutex(State(pending: RunWrite(lease: lease)))
    }

    /// Adds an event; starts the writer if it is not running.
    func emit(_ type: String, _ data: JSONValue) {
        let event = NewTaskEvent(taskID: task, type: type, data: data)
        add { $0.events.append(event) }
    }

    /// Records the agent's session id with the next batch.
    func record(sessionID: String) {
        add { $0.sessionID = sessionID }
    }

    /// Records the agent's process with the next batch.
    func record(process: AgentProcessRecord) {
        add { $0.process = process }
    }

    /// Submits a subtask with the next batch, fenced by the run's lease like its events.
    func record(spawn: NewTask) {
        add { $0.spawns.append(spawn) }
    }

    /// Keeps a workflow's declared step names on its task with the next batch, fenced like the rest.
    func record(declaredSteps: [String]) {
        add { $0.declaredSteps = declaredSteps }
    }

    /// Appends an application event to the hook stream with the next batch, fenced like the rest.
    func record(hookEvent: NewHookEvent) {
        add { $0.hookEvents.append(hookEvent) }
    }

    /// Records an ended workflow step and its event, and returns once they are written: `false`
    /// when the lease was found lost (they were not).
    func commit(step: WorkflowStep) async -> Bool {
        add {
            $0.events.append(step.event)
            $0.steps.append(step)
        }
        await flush()
        return !state.withLock { $0.lost }
    }

    private func add(_ change: (inout RunWrite) -> Void) {
        let start = state.withLock { state in
            guard !state.lost else { return false }
            change(&state.pending)
            if state.writing { return false }
            state.writing = true
            return true
        }
        // Unstructured because `emit` is synchronous, called from the runner's code; the writer ends
        // when nothing is left, and `flush()` (which the run awaits before it settles) waits for it.
        if start { Task { await self.writeUntilEmpty() } }
    }

    /// Returns once everything recorded so far is written (or the lease was found lost).
    func flush() async {
        let writeHere = state.withLock { state -> Bool? in
            if state.writing { return false }
            if state.pending.isEmpty { return nil }
            state.writing = true
            return true
        }
        switch writeHere {
        case nil: return
        case true?: await writeUntilEmpty()
        case false?:
            await withCheckedContinuation { continuation in
                let idle = state.withLock { state in
                    if !state.writing { return true }
                    state.idleWaiters.append(continuation)
                    return false
                }
                if idle { continuation.resume() }
            }
            await flush()
        }
    }

    private func writeUntilEmpty() async {
        while true {
            let (batch, waiters) = state.withLock { state -> (RunWrite?, [CheckedContinuation<Void, Never>]) in
                if state.pending.isEmpty || state.lost {
                    state.pending = RunWrite(lease: state.pending.lease)
                    state.writing = false
                    defer { state.idleWaiters.removeAll() }
                    return (nil, state.idleWaiters)
                }
                defer { state.pending = RunWrite(lease: state.pending.lease) }
                return (state.pending, [])
            }
            guard let batch else {
                for waiter in waiters { waiter.resume() }
                return
            }
            if await !write(batch) {
                state.withLock { $0.lost = true }
                leaseLost()
            }
        }
    }
}
