/// Where a task is in its life. Only ``Lifecycle`` decides a change of state.
public enum TaskState: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    /// Waiting for a worker (possibly delayed until `available_at`).
    case queued
    /// Held by a worker under a lease; the agent is running.
    case running
    /// Parked until input, a wake time or children arrive.
    case waiting
    /// Held back by a person; not claimed until resumed.
    case paused
    /// Finished successfully.
    case done
    /// Failed for good (attempts used up or a non-retryable failure).
    case error
    /// Stopped by a person.
    case cancelled
    /// Removed from the queue without running to completion.
    case dropped

    /// The states in which a task can still change: the live states of the dedup index.
    public static let live: [TaskState] = [.queued, .running, .waiting, .paused]

    /// Whether the task will not change again on its own.
    public var isTerminal: Bool {
        switch self {
        case .done, .error, .cancelled, .dropped: true
        case .queued, .running, .waiting, .paused: false
        }
    }

    /// The text form.
    public var description: String { rawValue }
}
