import Foundation
import Logging
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The notification channel of this store's schema, as an SQL expression: every statement
    /// that appends hook events notifies it (delivered at commit, once per transaction).
    static let hooksChannelSQL = "current_schema() || '.nightshift.hooks'"

    /// How long the hooks listener waits before it listens again after its connection failed.
    static let hookListenerRetry = Duration.seconds(1)

    /// The seq of the last hook event, after numbering the ones committed so far.
    public func lastHookSeq() async throws -> Int64 {
        try await sequenceHooks()
        return try await autocommit { transaction in
            try await transaction.rows(SQL("SELECT seq FROM hook_stream")).first.map { try $0["seq"].decode(Int64.self) } ?? 0
        }
    }

    /// Rings ``hookChanges`` at each notification of the hooks channel, and each time the
    /// connection listens (again): what was committed while nobody listened is read then. Listens
    /// again after a failure, until the calling task is cancelled.
    func listenForHooks() async {
        let logger = logger
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    var channel = ""
                    for try await name in try await connection.query("SELECT \(unescaped: Self.hooksChannelSQL) AS channel", logger: logger)
                        .decode(String.self)
                    {
                        channel = name
                    }
                    try await connection.listen(on: channel) { notifications in
                        self.hookChanges.ring()
                        for try await _ in notifications { self.hookChanges.ring() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("hooks listener failed", metadata: ["nightshift.error": "\(error)"])
            }
            try? await Task.sleep(for: Self.hookListenerRetry)
        }
    }
}
