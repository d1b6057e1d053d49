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
        // A dispatch timer rather than a sleeping child task (the dispatcher waits once per
        // claim), cancelled when a ring comes first so timers do not pile up under load.
        let id = newWaiterID()
        let timer = DispatchWorkItem { self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume() }
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = Int(clamping: seconds) &* 1_000_000_000 &+ Int(attoseconds / 1_000_000_000)
        await wait(id: id) {
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds), execute: timer)
        }
        timer.cancel()
    }

    /// Waits for a ring, or until the calling task is cancelled.
    func wait() async {
        await wait(id: newWaiterID()) {}
    }

    private func newWaiterID() -> Int {
        state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
    }

    /// Registers waiter `id` (then calls `registered`) unless a ring is pending.
    private func wait(id: Int, registered: () -> Void) async {
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
                if resumeNow { continuation.resume() } else { registered() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
