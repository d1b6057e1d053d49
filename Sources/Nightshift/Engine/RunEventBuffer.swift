import Foundation
import Synchronization

/// Collects one run's events without blocking the runner and writes them in batches, in order.
///
/// No task waits on a run that emits nothing: the first event starts a writer task, which writes
/// whatever accumulated while its previous batch was being written and ends when nothing is left.
final class RunEventBuffer: Sendable {
    private struct State {
        var events: [NewTaskEvent] = []
        var writing = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let task: TaskID
    private let write: @Sendable ([NewTaskEvent]) async -> Void
    private let state = Mutex(State())

    /// `write` appends a batch to the store (and reports its own failures).
    init(task: TaskID, write: @escaping @Sendable ([NewTaskEvent]) async -> Void) {
        self.task = task
        self.write = write
    }

    /// Adds an event; starts the writer if it is not running.
    func emit(_ type: String, _ data: JSONValue) {
        let event = NewTaskEvent(taskID: task, type: type, data: data)
        let start = state.withLock { state in
            state.events.append(event)
            if state.writing { return false }
            state.writing = true
            return true
        }
        if start { Task { await self.writeUntilEmpty() } }
    }

    /// Returns once every event emitted so far is written.
    func flush() async {
        let writeHere = state.withLock { state -> Bool? in
            if state.writing { return false }
            if state.events.isEmpty { return nil }
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
            let (batch, waiters) = state.withLock { state -> ([NewTaskEvent], [CheckedContinuation<Void, Never>]) in
                if state.events.isEmpty {
                    state.writing = false
                    defer { state.idleWaiters.removeAll() }
                    return ([], state.idleWaiters)
                }
                defer { state.events.removeAll() }
                return (state.events, [])
            }
            if batch.isEmpty {
                for waiter in waiters { waiter.resume() }
                return
            }
            await write(batch)
        }
    }
}
