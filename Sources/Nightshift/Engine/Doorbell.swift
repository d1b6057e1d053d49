@preconcurrency import Dispatch
import Foundation
import Synchronization

/// Wakes a waiting loop: `ring()` from any task; `wait(timeout:)` returns at the next ring (or at
/// once if a ring came since the last wait) or when the timeout passes. Rings coalesce.
final class Doorbell: Sendable {
    private let signal: ChangeSignal

    /// A doorbell whose timeouts pass on `clock`.
    init(clock: any EngineClock = SystemClock()) {
        signal = ChangeSignal(clock: clock)
    }

    /// Wakes every waiter, or the next one to wait.
    func ring() {
        signal.ring()
    }

    /// Waits for a ring, at most `timeout`.
    func wait(timeout: Duration) async {
        await signal.waitUnconsumed(until: signal.clock.now.adding(timeout))
    }

    /// Waits for a ring, at most until `deadline` of the doorbell's clock.
    func wait(until deadline: Date) async {
        await signal.waitUnconsumed(until: deadline)
    }

    /// Waits for a ring, at most `timeout` of real time whatever the doorbell's clock: for waits
    /// that tune throughput (the dispatcher gathering freed slots), not for the times tasks keep.
    func wait(realTime timeout: Duration) async {
        await signal.waitUnconsumed(until: Date().adding(timeout), on: SystemClock())
    }

    /// Waits for a ring, or until the calling task is cancelled.
    func wait() async {
        await signal.waitUnconsumed(until: nil)
    }
}

/// Counts changes and lets any number of readers wait for the next one: `ring()` bumps the
/// generation and wakes every waiter; `wait(after:timeout:)` returns once the generation has
/// passed the one a reader last saw, or when the timeout passes. No ring is consumed by one
/// reader, so every reader that follows a log sees every ring. (``Doorbell`` is the consuming
/// kind, on the same mechanism.)
public final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        /// The last generation a consuming waiter took (``Doorbell``): a ring is pending while
        /// the generation is past it.
        var consumed: UInt64 = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
        /// Signals rung with this one (``relaying(to:_:)``).
        var followers: [Int: ChangeSignal] = [:]
    }

    private let state = Mutex(State())

    /// The clock its timeouts pass on.
    let clock: any EngineClock

    /// A signal at generation 0, whose timeouts pass on `clock`.
    public init(clock: any EngineClock = SystemClock()) {
        self.clock = clock
    }

    /// The number of rings so far: read it before reading what the rings announce.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Announces a change to every waiter (for consuming waiters: to those waiting now, or else
    /// to the next one).
    public func ring() {
        let (waiters, followers) = state.withLock { state in
            state.generation &+= 1
            if !state.waiters.isEmpty { state.consumed = state.generation }
            defer { state.waiters.removeAll() }
            return (Array(state.waiters.values), Array(state.followers.values))
        }
        for waiter in waiters { waiter.resume() }
        for follower in followers { follower.ring() }
    }

    /// Rings `follower` too whenever this signal rings, while `body` runs: how one waiter waits
    /// for any of several signals (relay each to one of its own).
    public func relaying<T>(to follower: ChangeSignal, _ body: () async throws -> T) async rethrows -> T {
        let id = state.withLock { state in
            state.nextID += 1
            state.followers[state.nextID] = follower
            return state.nextID
        }
        defer { state.withLock { _ = $0.followers.removeValue(forKey: id) } }
        return try await body()
    }

    /// Waits until the generation passes `seen`, at most `timeout` (or until the calling task is
    /// cancelled); returns the generation then.
    @discardableResult
    public func wait(after seen: UInt64, timeout: Duration) async -> UInt64 {
        await wait(until: clock.now.adding(timeout), on: clock) { $0.generation != seen }
        return generation
    }

    /// Waits for a ring that no consuming waiter took yet, and takes it; at most `timeout` (none:
    /// until the calling task is cancelled).
    func waitUnconsumed(until deadline: Date?, on clock: (any EngineClock)? = nil) async {
        await wait(until: deadline, on: clock ?? self.clock) { state in
            guard state.generation != state.consumed else { return false }
            state.consumed = state.generation
            return true
        }
    }

    /// Returns at once if `ready`, else registers a waiter that the next ring, the deadline or
    /// cancellation resumes. The deadline is an action scheduled on the clock (a dispatch timer on
    /// the system clock) rather than a sleeping child task (the dispatcher waits once per claim),
    /// cancelled when a ring comes first so timers do not pile up under load.
    private func wait(until deadline: Date?, on clock: any EngineClock, ready: (inout State) -> Bool) async {
        if Task.isCancelled {
            // Returns at once, but gives up the thread first: a caller that loops on regardless
            // of cancellation would otherwise hold its thread, and with it (on a pool of two)
            // whatever it waits for.
            _ = state.withLock { ready(&$0) }
            await Task.yield()
            return
        }
        let id: Int? = state.withLock { state in
            if ready(&state) { return nil }
            state.nextID += 1
            return state.nextID
        }
        guard let id else { return }
        let expire: @Sendable () -> Void = { self.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume() }
        // On the system clock (every engine but a test's) a dispatch timer made up front, as
        // cheap as a wait can be: the dispatcher waits once per claim. Another clock schedules
        // the deadline itself once the waiter is registered.
        let systemTimer = deadline != nil && clock is SystemClock ? DispatchWorkItem(block: expire) : nil
        let scheduled = Mutex<ScheduledAction?>(nil)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if ready(&state) || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow {
                    continuation.resume()
                } else if let deadline, let systemTimer {
                    SystemClock.start(systemTimer, at: deadline)
                } else if let deadline {
                    let action = clock.schedule(at: deadline, expire)
                    scheduled.withLock { $0 = action }
                }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        systemTimer?.cancel()
        scheduled.withLock { $0 }?.cancel()
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
