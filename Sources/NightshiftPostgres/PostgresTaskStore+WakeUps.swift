import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The notification channel of this store's schema, as an SQL expression: every transaction
    /// that makes a task `queued` notifies it.
    static let queuedChannelSQL = "current_schema() || '.nightshift.queued'"

    /// Listens, on a connection of its own, for tasks becoming queued on any node (submits,
    /// retries, wakes, resumes, released runs) and calls `wake` for each notification, until the
    /// calling task is cancelled. Notifications of one transaction arrive as one.
    ///
    /// This is the push half of cross-node wake-ups; a slow poll remains the safety net, since a
    /// notification sent while no connection listens is not kept. `wake` is called once as soon as
    /// the connection listens, for what was queued before.
    public func listenForWork(_ wake: @escaping @Sendable () -> Void) async throws {
        let logger = logger
        do {
            try await client.withConnection { connection in
                var channel = ""
                for try await name in try await connection.query("SELECT \(unescaped: Self.queuedChannelSQL) AS channel", logger: logger)
                    .decode(String.self)
                {
                    channel = name
                }
                try await connection.listen(on: channel) { notifications in
                    wake()
                    for try await _ in notifications { wake() }
                }
                // The sequence ends only when the connection does.
                throw NightshiftError(.storeUnavailable, "the listening connection to \(url) closed")
            }
        } catch is CancellationError {
            return
        } catch {
            if Task.isCancelled { return }
            throw Self.storeError(error, doing: "listen")
        }
    }
}
