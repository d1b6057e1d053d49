import Foundation
import Logging

/// The waker: queues waiting tasks again once their wake time has come.
extension Engine {
    /// Every rescue interval, wakes the waiting tasks whose wake time has passed.
    func wakeLoop() async {
        repeat {
            do {
                // The wake-ups' state changes reach followers through the store's change feed.
                if try await !store.wakeDue(now: clock.now).isEmpty { doorbell.ring() }
            } catch {
                logger.error("waking due tasks failed", metadata: ["nightshift.error": "\(error)"])
            }
        } while (try? await clock.sleep(for: .seconds(configuration.rescueInterval))) != nil
    }
}
