import Foundation
import Logging
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The notification channel of this store's schema, as an SQL expression: every statement
    /// that appends hook events notifies it (delivered at commit, once per transaction), with the
    /// payload ``queuedPayload`` when it made a task queued.
    static let changesChannelSQL = "current_schema() || '.nightshift.changes'"

    /// The payload of a notification whose transaction made a task queued: dispatchers wake up.
    static let queuedPayload = "queued"

    /// How long the hooks listener waits before it listens again after its connection failed.
    static let hookListenerRetry = Duration.seconds(1)

    /// The seq of the last hook event, after numbering the ones committed so far.
    public func lastHookSeq() async throws -> Int64 {
        try await sequenceHooks()
        return try await autocommit { transaction in
            try await transaction.rows(SQL("SELECT seq FROM hook_stream")).first.map { try $0["seq"].decode(Int64.self) } ?? 0
        }
    }

    /// The least time between two of this node's hook notices.
    static let hookNoticeGap = Duration.milliseconds(10)

    /// After each write (``hookNotices``), sends one notification on the changes channel, at
    /// most every ``hookNoticeGap``: the change feed's readers on every node wake within that of
    /// a commit (a notice always follows the last write of a burst), and the listening
    /// connections wake at most a hundred times a second for this node's writes, not once per
    /// batch. Runs until the calling task is cancelled.
    func noticeHooks() async {
        var seen = hookNotices.generation
        while !Task.isCancelled {
            seen = await hookNotices.wait(after: seen, timeout: .seconds(3600))
            if Task.isCancelled { return }
            do {
                try await autocommit { transaction in
                    try await transaction.rows(SQL("SELECT pg_notify(\(Self.changesChannelSQL), '')"))
                }
            } catch {
                logger.debug("hook notice failed", metadata: ["nightshift.error": "\(error)"])
            }
            try? await Task.sleep(for: Self.hookNoticeGap)
        }
    }

    /// Keeps the store's connection listening on the changes channel while the answer lives.
    public func listeningInterest() -> ListeningInterest? {
        listeners.withLock { $0 += 1 }
        listenersChanged.ring()
        return ListeningInterest { [self] in
            listeners.withLock { $0 -= 1 }
            listenersChanged.ring()
        }
    }

    /// Waits until some follow the store's changes (`wanted`) or none do (`!wanted`).
    private func waitForListeners(wanted: Bool) async {
        var seen = listenersChanged.generation
        while !Task.isCancelled, (listeners.withLock { $0 } > 0) != wanted {
            seen = await listenersChanged.wait(after: seen, timeout: .seconds(3600))
        }
    }

    /// While anyone follows the store's changes (``listeningInterest()``), listens on the changes
    /// channel and rings ``hookChanges`` at each notification (and the work signal that
    /// ``listenForWork(_:)`` follows, for one that queued a task), and both each time the
    /// connection listens (again): what was committed while nobody listened is read then. Stops
    /// listening when the last follower goes; listens again after a failure, until the calling
    /// task is cancelled.
    func listenForChanges() async {
        let logger = logger
        while !Task.isCancelled {
            await waitForListeners(wanted: true)
            if Task.isCancelled { return }
            do {
                try await client.withConnection { connection in
                    var channel = ""
                    for try await name in try await connection.query("SELECT \(unescaped: Self.changesChannelSQL) AS channel", logger: logger)
                        .decode(String.self)
                    {
                        channel = name
                    }
                    let listened = channel
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask {
                            try await connection.listen(on: listened) { notifications in
                                self.listening.withLock { $0 = true }
                                defer { self.listening.withLock { $0 = false } }
                                self.hookChanges.ring()
                                self.workChanges.ring()
                                for try await notification in notifications {
                                    self.hookChanges.ring()
                                    if notification.payload == Self.queuedPayload { self.workChanges.ring() }
                                }
                            }
                        }
                        // Nobody follows any more: stop listening (the listen ends, and unlistens).
                        group.addTask { await self.waitForListeners(wanted: false) }
                        _ = try await group.next()
                        group.cancelAll()
                    }
                }
                continue
            } catch {
                if Task.isCancelled { return }
                logger.debug("changes listener failed", metadata: ["nightshift.error": "\(error)"])
            }
            try? await Task.sleep(for: Self.hookListenerRetry)
        }
    }
}
