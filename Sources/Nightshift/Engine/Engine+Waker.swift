import Foundation
import Logging

/// The waker: queues waiting tasks again once their wake time has come.
extension Engine {
    /// Every rescue interval, wakes the waiting tasks whose wake time has passed.
    func wakeLoop() async {
        repeat {
            await wakeDue()
        } while (try? await clock.sleep(for: .seconds(configuration.rescueInterval))) != nil
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
