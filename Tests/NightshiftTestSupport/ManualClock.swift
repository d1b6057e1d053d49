import Foundation
import Nightshift
import Synchronization

/// An ``EngineClock`` a test moves by hand: nothing scheduled on it happens until
/// ``advance(by:)`` passes its deadline, so tests of timeouts, backoff and wake-ups take no real
/// time and cannot be late.
public final class ManualClock: EngineClock {
    private struct State {
        var now: Date
        var nextID = 0
        var pending: [Int: (deadline: Date, action: @Sendable () -> Void)] = [:]
    }

    private let state: Mutex<State>

    /// A clock at `start` (by default a fixed time in 2027, far from the real one).
    public init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = Mutex(State(now: start))
    }

    /// The clock's time.
    public var now: Date { state.withLock { $0.now } }

    /// How many actions (sleeps, timers) wait for a deadline still to come.
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Runs `action` once the clock passes `deadline` (at once if it has).
    public func schedule(at deadline: Date, _ action: @escaping @Sendable () -> Void) -> ScheduledAction {
        let id: Int? = state.withLock { state in
            guard deadline > state.now else { return nil }
            state.nextID += 1
            state.pending[state.nextID] = (deadline, action)
            return state.nextID
        }
        guard let id else {
            action()
            return ScheduledAction {}
        }
        return ScheduledAction { [weak self] in _ = self?.state.withLock { $0.pending.removeValue(forKey: id) } }
    }

    /// Moves the clock `seconds` on and runs, in deadline order, every action that came due.
    public func advance(by seconds: Double) {
        let due: [@Sendable () -> Void] = state.withLock { state in
            state.now = state.now.addingTimeInterval(seconds)
            let now = state.now
            let ready = state.pending.filter { $0.value.deadline <= now }.sorted { $0.value.deadline < $1.value.deadline }
            for (id, _) in ready { state.pending.removeValue(forKey: id) }
            return ready.map(\.value.action)
        }
        for action in due { action() }
    }
}
