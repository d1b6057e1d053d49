import Foundation
import Logging

/// The waker: queues waiting tasks again once their wake time has come.
extension Engine {
    /// Wakes the waiting tasks whose wake time has passed: every rescue interval (what other
    /// nodes and earlier processes left waiting), and at the wake time a run here set, if that
    /// comes sooner (a workflow's short sleep, an agent's `wake` line).
    func wakeLoop() async {
        while !Task.isCancelled {
            let looked = clock.now
            await wakeDue()
            var deadline = looked.addingTimeInterval(configuration.rescueInterval)
            if let next = state.withLock({ state -> Date? in
                if let wake = state.nextWake, wake <= looked { state.nextWake = nil }
                return state.nextWake
            }) { deadline = min(deadline, next) }
            await wakesChanged.wait(until: deadline)
        }
    }

    /// Notes that a run here left its task waiting until `time`: the waker looks then.
    func wake(at time: Date) {
        let sooner = state.withLock { state in
            guard state.nextWake.map({ time < $0 }) ?? true else { return false }
            state.nextWake = time
            return true
        }
        if sooner { wakesChanged.ring() }
    }

    /// Wakes the waiting tasks that are due (their wake time has passed, or every subtask they
    /// wait for has ended) and rings the dispatcher if any woke. Also called at once when a
    /// subtask ends here, rather than at the waker's next round.
    func wakeDue() async {
        do {
            // The wake-ups' state changes reach followers through the store's change feed.
            if try await !store.wakeDue(now: clock.now).isEmpty { doorbell.ring() }
        } catch {
            logger.error("waking due tasks failed", metadata: ["nightshift.error": "\(error)"])
        }
    }
}
