import Synchronization

/// A background task that runs while anyone follows it: the first follower starts it, the last
/// to leave cancels it. Each start has a new generation, handed to the task: one cancelled late
/// checks ``isLatest(_:)`` before it writes, so it cannot touch what a newer one keeps. Shared by
/// the process's readers of the hook stream (``HookFanout``, ``TaskChangeDigest``).
final class SharedReader: Sendable {
    private let state = Mutex<(followers: Int, task: Task<Void, Never>?, generation: Int)>((0, nil, 0))

    init() {}

    /// Whether the task runs now.
    var isRunning: Bool { state.withLock { $0.task != nil } }

    /// Whether `generation` is the latest start (running or not).
    func isLatest(_ generation: Int) -> Bool { state.withLock { $0.generation == generation } }

    /// One more follower; the first starts `body` with its generation.
    func follow(_ body: @escaping @Sendable (_ generation: Int) async -> Void) {
        state.withLock { state in
            state.followers += 1
            guard state.task == nil else { return }
            state.generation += 1
            let generation = state.generation
            state.task = Task { await body(generation) }
        }
    }

    /// One follower less; the last cancels the task.
    func unfollow() {
        let task: Task<Void, Never>? = state.withLock { state in
            state.followers -= 1
            guard state.followers == 0 else { return nil }
            defer { state.task = nil }
            return state.task
        }
        task?.cancel()
    }
}
