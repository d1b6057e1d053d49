@preconcurrency import Dispatch
import Foundation
import Synchronization

/// Where the engine gets its time: the wall time it stamps into the store (`now`), and the
/// deadlines its loops, doorbells and run timeouts wait for. ``SystemClock`` is the real one; a
/// test gives the engine a clock it moves by hand, so tests of timeouts, backoff and wake-ups need
/// no real sleeps.
///
/// Deadlines are absolute wall times, not durations: a wait registered after the clock has
/// already passed its deadline ends at once, so a test that moves the clock before a loop starts
/// waiting loses nothing.
public protocol EngineClock: Sendable {
    /// The wall time now.
    var now: Date { get }
    /// Calls `action` once, as soon as `deadline` has passed (at once if it has), unless the
    /// answer is cancelled first. `action` must be quick: it runs on the clock's own thread.
    func schedule(at deadline: Date, _ action: @escaping @Sendable () -> Void) -> ScheduledAction
    /// Suspends until `deadline` has passed; throws `CancellationError` if the calling task is
    /// cancelled first.
    func sleep(until deadline: Date) async throws
}

/// A scheduled action of an ``EngineClock``, which can be cancelled until it runs.
public struct ScheduledAction: Sendable {
    private let onCancel: @Sendable () -> Void

    /// An action cancelled by `cancel`.
    public init(cancel: @escaping @Sendable () -> Void) {
        onCancel = cancel
    }

    /// Keeps the action from running, if it has not run yet.
    public func cancel() {
        onCancel()
    }
}

extension EngineClock {
    /// Suspends for `duration` of this clock's time; throws `CancellationError` if cancelled first.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now.adding(duration))
    }

    /// Sleeps through ``schedule(at:_:)``: for clocks with no sleep of their own.
    public func sleep(until deadline: Date) async throws {
        let waiter = SleepWaiter()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                guard waiter.install(continuation) else { return }
                waiter.scheduled(schedule(at: deadline) { waiter.finish(nil) })
            }
        } onCancel: {
            waiter.finish(CancellationError())
        }
    }
}

/// One sleeper's continuation, resumed exactly once: by its deadline or by cancellation.
private final class SleepWaiter: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Void, any Error>?
        var outcome: (any Error)??
        var action: ScheduledAction?
    }

    private let state = Mutex(State())

    /// Keeps `continuation`; answers `false` (having resumed it) if the sleep already ended.
    func install(_ continuation: CheckedContinuation<Void, any Error>) -> Bool {
        let ended: (any Error)?? = state.withLock { state in
            if let outcome = state.outcome { return .some(outcome) }
            state.continuation = continuation
            return .none
        }
        guard let ended else { return true }
        if let error = ended { continuation.resume(throwing: error) } else { continuation.resume() }
        return false
    }

    /// Keeps the deadline's action, to cancel it if the sleep ends another way.
    func scheduled(_ action: ScheduledAction) {
        let finished = state.withLock { state in
            state.action = action
            return state.outcome != nil
        }
        if finished { action.cancel() }
    }

    /// Ends the sleep (`nil`: the deadline passed), once.
    func finish(_ error: (any Error)?) {
        let (continuation, action): (CheckedContinuation<Void, any Error>?, ScheduledAction?) = state.withLock { state in
            guard state.outcome == nil else { return (nil, nil) }
            state.outcome = .some(error)
            defer { state.continuation = nil }
            return (state.continuation, state.action)
        }
        if error != nil { action?.cancel() }
        guard let continuation else { return }
        if let error { continuation.resume(throwing: error) } else { continuation.resume() }
    }
}

/// The real clock: `Date()` for the wall time, dispatch timers for scheduled actions and
/// `Task.sleep` for sleeps.
public struct SystemClock: EngineClock {
    /// The real clock.
    public init() {}

    /// The wall time now.
    public var now: Date { Date() }

    /// A dispatch timer at `deadline`.
    public func schedule(at deadline: Date, _ action: @escaping @Sendable () -> Void) -> ScheduledAction {
        let item = DispatchWorkItem(block: action)
        Self.start(item, at: deadline)
        return ScheduledAction { item.cancel() }
    }

    /// Runs `item` on a global queue once `deadline` has passed (at once if it has).
    static func start(_ item: DispatchWorkItem, at deadline: Date) {
        let seconds = max(0, deadline.timeIntervalSinceNow)
        DispatchQueue.global().asyncAfter(deadline: .now() + Duration.seconds(seconds).dispatchInterval, execute: item)
    }

    /// `Task.sleep` until `deadline`.
    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 { try await Task.sleep(for: .seconds(seconds)) } else { try Task.checkCancellation() }
    }
}

extension Date {
    /// This time plus `duration`.
    package func adding(_ duration: Duration) -> Date {
        addingTimeInterval(duration.seconds)
    }
}

extension Duration {
    /// The length in seconds.
    package var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
