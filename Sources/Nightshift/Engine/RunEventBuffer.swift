import Foundation
import Synchronization

/// Collects one run's events without blocking the runner; the run's flusher writes them in batches.
final class RunEventBuffer: Sendable {
    private let task: TaskID
    private let events = Mutex<[NewTaskEvent]>([])
    private let doorbell = Doorbell()

    init(task: TaskID) {
        self.task = task
    }

    /// Adds an event and wakes the flusher.
    func emit(_ type: String, _ data: JSONValue) {
        let event = NewTaskEvent(taskID: task, type: type, data: data)
        events.withLock { $0.append(event) }
        doorbell.ring()
    }

    /// Everything emitted since the last call.
    func take() -> [NewTaskEvent] {
        events.withLock { events in
            defer { events.removeAll() }
            return events
        }
    }

    /// Returns when events may be pending, or when the calling task is cancelled.
    func waitForEvents() async {
        await doorbell.wait()
    }
}
