import Foundation
import Logging

/// The lease rescuer: ends the runs of workers that died (on any node) so their tasks go on.
extension Engine {
    /// Every rescue interval, ends the runs whose lease expired as lost (their tasks are queued
    /// again) and kills what is left of their agents on this machine.
    func rescueLoop() async {
        repeat {
            do {
                let rescued = try await store.rescueExpiredLeases(now: clock.now)
                killLeftovers(of: rescued)
                if !rescued.isEmpty {
                    logger.warning("rescued runs with expired leases", metadata: ["nightshift.count": "\(rescued.count)"])
                    doorbell.ring()
                }
            } catch {
                logger.error("rescue failed", metadata: ["nightshift.error": "\(error)"])
            }
        } while (try? await clock.sleep(for: .seconds(configuration.rescueInterval))) != nil
    }
}
