import Foundation
import Synchronization

/// One reader of the store's hook stream for every follower in this process (the SSE clients of
/// `GET /v1/events`, a dashboard page each): it reads each committed batch once and keeps the
/// latest events in memory, and each follower's ``hookStream(after:poll:)`` reads from there.
/// A follower behind what memory holds (a reconnect with an old `Last-Event-ID`) reads the store
/// until it catches up. The reader runs only while someone follows.
///
/// So the store's cost of the feed does not grow with its readers: 100 followers cost one read
/// per commit batch, not 100.
public final class HookFanout: Sendable {
    private struct State {
        /// The latest events, in seq order, without gaps: the seqs after `start`.
        var events: [HookEvent] = []
        /// The seq the kept events follow (the reader's starting point, then the last one dropped).
        var start: Int64?
        /// The reader's seq: every event up to it is in `events` (or was dropped).
        var cursor: Int64 = 0
    }

    private let store: any ChangeFeed
    private let state = Mutex(State())
    private let reader = SharedReader()
    /// Rung when the reader adds events.
    private let added = ChangeSignal()
    /// The most events kept in memory.
    let capacity: Int
    /// How often the reader reads without a ring from the store.
    let poll: Duration

    /// A fan-out of `store`'s hook stream keeping up to `capacity` events.
    public init(store: any ChangeFeed, capacity: Int = 20_000, poll: Duration = HookStream.defaultPoll) {
        self.store = store
        self.capacity = capacity
        self.poll = poll
    }

    /// The events after `seq`, then each one as it is committed: the store's own stream, served
    /// from memory while the follower is within what the reader keeps.
    public func hookStream(after seq: Int64, poll: Duration = HookStream.defaultPoll) -> HookStream {
        HookStream(after: seq, poll: poll, signal: added, interest: { [self] in follow() }) { [self] after, limit in
            try await events(after: after, limit: limit)
        }
    }

    /// At most `limit` events after `seq`: from memory when it holds the next one (or the reader
    /// has read no further), else from the store.
    func events(after seq: Int64, limit: Int) async throws -> [HookEvent] {
        let kept: [HookEvent]? = state.withLock { state in
            guard let start = state.start, seq >= start, reader.isRunning else { return nil }
            if seq >= state.cursor { return [] }
            // The first kept event after `seq` (binary search: they are in seq order).
            var low = 0, high = state.events.count
            while low < high {
                let middle = (low + high) / 2
                if state.events[middle].seq <= seq { low = middle + 1 } else { high = middle }
            }
            return Array(state.events[low..<min(state.events.count, low + limit)])
        }
        if let kept { return kept }
        return try await store.hookEvents(after: seq, limit: limit)
    }

    /// One more follower: starts the reader for the first; the answer releases it.
    private func follow() -> ListeningInterest {
        reader.follow { [self] generation in await read(generation) }
        return ListeningInterest { [reader] in reader.unfollow() }
    }

    /// Reads the store's stream from its end until cancelled, keeping the newest events.
    private func read(_ generation: Int) async {
        while !Task.isCancelled {
            do {
                let start = try await store.lastHookSeq()
                state.withLock { state in
                    guard reader.isLatest(generation) else { return }
                    state.events = []
                    state.start = start
                    state.cursor = start
                }
                // A follower that waited while the reader started reads again: what was committed
                // before `start` is the store's to answer, and no batch will ring for it.
                added.ring()
                var feed = store.hookStream(after: start, poll: poll).makeAsyncIterator()
                while !Task.isCancelled {
                    let batch = try await feed.nextBatch(timeout: poll)
                    guard let last = batch.last else { continue }
                    state.withLock { state in
                        guard reader.isLatest(generation) else { return }
                        state.events += batch
                        state.cursor = last.seq
                        if state.events.count > capacity {
                            let drop = state.events.count - capacity
                            state.start = state.events[drop - 1].seq
                            state.events.removeFirst(drop)
                        }
                    }
                    added.ring()
                }
            } catch {
                // The store went away for a moment: start again from its end, after a pause;
                // followers behind read the store meanwhile.
                state.withLock { state in if reader.isLatest(generation) { state.start = nil } }
                try? await Task.sleep(for: .seconds(1))
            }
        }
        // The last follower left: what memory keeps goes, unless a newer reader keeps it now.
        state.withLock { state in if reader.isLatest(generation) { state = State() } }
    }
}
