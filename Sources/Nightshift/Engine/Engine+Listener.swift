import Foundation
import Logging

/// The listener: hears of work other processes queued.
extension Engine {
    /// Rings the dispatcher whenever the store says another process queued work; if listening
    /// fails (the database went away), tries again with backoff, ringing once it listens again
    /// since work may have come meanwhile.
    func listenLoop() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await store.listenForWork { [doorbell] in doorbell.ring() }
                return
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.warning("listening for work failed; retrying", metadata: ["nightshift.error": "\(error)"])
                guard (try? await clock.sleep(for: .seconds(min(5, 0.1 * Double(1 << min(failures, 6)))))) != nil else { return }
                doorbell.ring()
            }
        }
    }
}
