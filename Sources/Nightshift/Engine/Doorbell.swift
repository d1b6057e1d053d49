import Synchronization

/// Wakes a waiting loop: `ring()` from any task; `wait(timeout:)` returns at the next ring (or at
/// once if a ring came since the last wait) or when the timeout passes. Rings coalesce.
final class Doorbell: Sendable {
    private struct State {
        var pending = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Wakes every waiter, or the next one to wait.
    func ring() {
        let waiters = state.withLock { state in
            let waiters = state.waiters.values
            if waiters.isEmpty { state.pending = true } else { state.waiters.removeAll() }
            return Array(waiters)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits for a ring, at most `timeout`.
    func wait(timeout: Duration) async {
        if state.withLock({ state in defer { state.pending = false }; return state.pending }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Waits for a ring, or until the calling task is cancelled.
    func wait() async {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
