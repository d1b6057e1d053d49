import Foundation
import Synchronization

/// Collects one run's events without blocking the runner; the run's flusher writes them in batches.
final class RunEventBuffer: Sendable {
    private struct State {
        var events: [NewTaskEvent] = []
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let task: TaskID
    private let state = Mutex(State())

    init(task: TaskID) {
        self.task = task
    }

    /// Adds an event and wakes the flusher.
    func emit(_ type: String, _ data: JSONValue) {
        let event = NewTaskEvent(taskID: task, type: type, data: data)
        state.withLock { state in
            state.events.append(event)
            defer { state.waiter = nil }
            return state.waiter
        }?.resume()
    }

    /// Everything emitted since the last call.
    func take() -> [NewTaskEvent] {
        state.withLock { state in
            defer { state.events.removeAll() }
            return state.events
        }
    }

    /// Returns when events are pending, or when the calling task is cancelled.
    func waitForEvents() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if !state.events.isEmpty || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state in defer { state.waiter = nil }; return state.waiter }?.resume()
        }
    }
}
