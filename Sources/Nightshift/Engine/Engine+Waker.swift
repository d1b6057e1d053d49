import Foundation
import Logging

/// The waker: queues waiting tasks again once their wake time has come.
extension Engine {
    /// Every rescue interval, wakes the waiting tasks whose wake time has passed.
    func wakeLoop() async {
        repeat {
            do {
                if try await !store.wakeDue(now: clock.now).isEmpty {
                    doorbell.ring()
                    changes.ring()
                }
            } catch {
                logger.error("waking due tasks failed", metadata: ["nightshift.error": "\(error)"])
            }
        } while (try? await clock.sleep(for: .seconds(configuration.rescueInterval))) != nil
    }
}
