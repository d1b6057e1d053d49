import Dispatch
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
        await wait { id in
            // A dispatch timer rather than a sleeping child task: the dispatcher waits once per claim.
            let (seconds, attoseconds) = timeout.components
            let nanoseconds = Int(clamping: seconds) &* 1_000_000_000 &+ Int(attoseconds / 1_000_000_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
                self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
            }
        }
    }

    /// Waits for a ring, or until the calling task is cancelled.
    func wait() async {
        await wait { _ in }
    }

    /// Registers a waiter (then calls `registered` with its id) unless a ring is pending.
    private func wait(registered: @escaping (Int) -> Void) async {
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
                if resumeNow { continuation.resume() } else { registered(id) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
