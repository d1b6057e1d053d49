import Synchronization

/// Wakes the followers of one task's log for the writes the hook stream does not carry (a run's
/// output, a new priority, an archive), and every follower at shutdown. State changes reach
/// followers through the store's ``ChangeFeed``; this covers the rest, for the writes this
/// engine makes. A ring for a task nobody follows costs one lookup.
public final class TaskChangeSignals: Sendable {
    private struct State {
        var followers: [Int: (task: TaskID?, signal: ChangeSignal)] = [:]
        var byTask: [TaskID: Set<Int>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// No followers yet.
    public init() {}

    /// Rings the signal of each follower of `task`.
    public func ring(_ task: TaskID) {
        let signals = state.withLock { state in
            state.byTask[task].map { $0.compactMap { state.followers[$0]?.signal } } ?? []
        }
        for signal in signals { signal.ring() }
    }

    /// Rings every follower's signal, whatever it follows (at shutdown: streams end then).
    public func ringAll() {
        for signal in state.withLock({ $0.followers.values.map(\.signal) }) { signal.ring() }
    }

    /// Runs `body` with a signal rung for `task`'s writes (`nil`: only by ``ringAll()``).
    public func following<T>(_ task: TaskID?, _ body: (ChangeSignal) async throws -> T) async rethrows -> T {
        let signal = ChangeSignal()
        let id = state.withLock { state in
            state.nextID += 1
            state.followers[state.nextID] = (task, signal)
            if let task { state.byTask[task, default: []].insert(state.nextID) }
            return state.nextID
        }
        defer {
            state.withLock { state in
                state.followers.removeValue(forKey: id)
                if let task {
                    state.byTask[task]?.remove(id)
                    if state.byTask[task]?.isEmpty == true { state.byTask.removeValue(forKey: task) }
                }
            }
        }
        return try await body(signal)
    }
}
