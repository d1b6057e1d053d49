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
        await wait(id: id) {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout.dispatchInterval, execute: timer)
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

/// Counts changes and lets any number of readers wait for the next one: `ring()` bumps the
/// generation and wakes every waiter; `wait(after:timeout:)` returns once the generation has
/// passed the one a reader last saw, or when the timeout passes. Unlike ``Doorbell``, no ring is
/// consumed by one reader, so every reader that follows a log sees every ring.
public final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// A signal at generation 0.
    public init() {}

    /// The number of rings so far: read it before reading what the rings announce.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Announces a change to every waiter.
    public func ring() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the generation passes `seen`, at most `timeout` (or until the calling task is
    /// cancelled); returns the generation then.
    @discardableResult
    public func wait(after seen: UInt64, timeout: Duration) async -> UInt64 {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        let timer = DispatchWorkItem { self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.generation != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow {
                    continuation.resume()
                } else {
                    DispatchQueue.global().asyncAfter(deadline: .now() + timeout.dispatchInterval, execute: timer)
                }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        timer.cancel()
        return generation
    }
}

extension Duration {
    /// This duration for a dispatch deadline, in nanoseconds (`.never` past what that holds).
    var dispatchInterval: DispatchTimeInterval {
        let (seconds, attoseconds) = components
        let (nanoseconds, overflow) = Int(clamping: seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .never : .nanoseconds(nanoseconds &+ Int(attoseconds / 1_000_000_000))
    }
}
