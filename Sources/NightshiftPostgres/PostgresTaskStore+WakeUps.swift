import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Calls `wake` for every task made queued on any node (submits, retries, wakes, resumes,
    /// released runs) — a notification with the payload ``queuedPayload`` on the store's changes
    /// channel, which the connection ``run()`` listens on receives — and once at the start and
    /// each time that connection listens again (for what was queued meanwhile), until the calling
    /// task is cancelled. Notifications of one transaction arrive as one.
    ///
    /// This is the push half of cross-node wake-ups; a slow poll remains the safety net, since a
    /// notification sent while no connection listens is not kept.
    public func listenForWork(_ wake: @escaping @Sendable () -> Void) async throws {
        let interest = listeningInterest()
        defer { withExtendedLifetime(interest) {} }
        var seen = workChanges.generation
        // Not listening yet: the listener's first ring, when it listens, is the first wake.
        if !listening.withLock({ $0 }) { seen = await workChanges.wait(after: seen, timeout: .seconds(10)) }
        wake()
        while !Task.isCancelled {
            let now = await workChanges.wait(after: seen, timeout: .seconds(3600))
            if Task.isCancelled { return }
            if now != seen { wake() }
            seen = now
        }
    }
}
