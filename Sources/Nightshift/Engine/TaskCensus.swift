import Foundation
import ServiceLifecycle
import Synchronization

/// Every workspace's tasks by agent and state, kept up to date without counting them: one count
/// at start (``TaskQueries/censusSnapshot()``), then each move's hook event (`from` → `to`, with
/// its agent) applied as the hook stream brings it. Every node follows the same stream, so each
/// one's census is the whole store's, other nodes' moves included; reading it costs nothing.
public final class TaskCensus: Service, Sendable {
    private let store: any TaskStore
    private let poll: Duration
    private let state = Mutex<(counts: [CensusKey: Int], seq: Int64)?>(nil)
    private let seeded = ChangeSignal()

    /// A census of `store`'s tasks; it counts nothing until ``run()``. `poll` bounds how late it
    /// sees another node's moves when the store cannot tell it.
    public init(store: any TaskStore, poll: Duration = .seconds(1)) {
        self.store = store
        self.poll = poll
    }

    /// The counts as of the hook seq with them; `nil` until the first count has been made.
    public var snapshot: CensusSnapshot? {
        state.withLock { $0.map { CensusSnapshot(counts: $0.counts, seq: $0.seq) } }
    }

    /// The counts once the first count has been made (waiting for it up to `timeout`).
    public func snapshot(waiting timeout: Duration) async -> CensusSnapshot? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let generation = seeded.generation
            if let snapshot { return snapshot }
            guard ContinuousClock.now < deadline, !Task.isCancelled else { return nil }
            _ = await seeded.wait(after: generation, timeout: deadline - .now)
        }
    }

    /// Counts once, then follows the hook stream until cancelled or shut down gracefully. A read
    /// that fails is tried again after a pause, from a new count.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.follow()
                } catch {
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
    }

    private func follow() async throws {
        let first = try await store.censusSnapshot()
        state.withLock { $0 = (first.counts, first.seq) }
        seeded.ring()
        for try await event in store.hookStream(after: first.seq, poll: poll) {
            state.withLock { census in
                guard var current = census else { return }
                Self.apply(event, to: &current)
                census = current
            }
        }
    }

    /// `event` applied to `census`: a move takes one task from its `from` state's count (none for
    /// a submit) and adds it to its `to` state's.
    static func apply(_ event: HookEvent, to census: inout (counts: [CensusKey: Int], seq: Int64)) {
        census.seq = max(census.seq, event.seq)
        CensusSnapshot.move(&census.counts, type: event.type, workspace: event.workspaceID, data: event.data)
    }
}
