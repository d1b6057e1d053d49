import Foundation
import Synchronization

/// The hook stream digested for live lists (the dashboard's task list): every `interval`, the ids
/// of the tasks of each workspace that changed in it (at most ``cap`` of them, else marked as
/// overflowing). One reader digests for every follower in the process, so a hundred open pages
/// cost one frame each per interval, not one per event each.
public final class TaskChangeDigest: Sendable {
    /// One interval's changes in one workspace.
    public struct Digest: Sendable, Hashable {
        /// The tasks that changed, in the order of their first change in the interval.
        public var ids: [TaskID]
        /// Whether more tasks changed than ``ids`` holds: a list should read itself again.
        public var overflow: Bool
        /// The digest as a Server-Sent Events frame (`event: changed`, `data: {"ids", "overflow"}`),
        /// made once for every follower.
        public var frame: String {
            let data: JSONValue = ["ids": .array(ids.map { .string($0.rawValue) }), "overflow": .bool(overflow)]
            return "event: changed\ndata: \(data.jsonText)\n\n"
        }
    }

    /// A digest and its frame, made once per interval.
    private struct Published {
        var digest: Digest
        var frame: String
    }

    private struct State {
        /// The number of the last interval published.
        var published: UInt64 = 0
        var digests: [String: Published] = [:]
        /// For each workspace that changed, the numbers of the last two intervals that changed it.
        var changed: [String: (latest: UInt64, previous: UInt64)] = [:]

        /// Whether `workspace` changed in an interval after `seen` and before the latest one.
        func changedBetween(_ workspace: String, after seen: UInt64) -> Bool {
            guard let changed = changed[workspace] else { return false }
            return (changed.latest == published ? changed.previous : changed.latest) > seen
        }
    }

    /// What a follower that missed changes of its workspace, and none in the latest interval, is
    /// told: read the list again.
    private static let missed: Published = {
        let digest = Digest(ids: [], overflow: true)
        return Published(digest: digest, frame: digest.frame)
    }()

    private let store: any ChangeFeed
    private let state = Mutex(State())
    private let reader = SharedReader()
    private let ticks = ChangeSignal()
    /// How long one digest gathers changes.
    public let interval: Duration
    /// The most task ids one digest names.
    public let cap: Int

    /// Digests of `store`'s hook stream, from its end, every `interval`.
    public init(store: any ChangeFeed, interval: Duration = .milliseconds(500), cap: Int = 200) {
        self.store = store
        self.interval = interval
        self.cap = cap
    }

    /// Follows the digests of `workspace` while `body` runs: `body` gets a function that waits up
    /// to a timeout for the next interval that changed something in the workspace (answering
    /// `nil` at the timeout). A follower that missed intervals in which its workspace changed gets
    /// the latest one (with no ids if the workspace did not change in it), marked as overflowing.
    public func following<T>(
        workspace: String, _ body: (_ next: (Duration) async -> (digest: Digest, frame: String)?) async throws -> T
    ) async rethrows -> T {
        reader.follow { [self] generation in await read(generation) }
        defer { reader.unfollow() }
        var seen = state.withLock { $0.published }
        return try await body { timeout in
            let deadline = ContinuousClock.now + timeout
            while true {
                let generation = ticks.generation
                let (published, digest, missed) = state.withLock { state in
                    (state.published, state.digests[workspace], state.changedBetween(workspace, after: seen))
                }
                if published != seen {
                    seen = published
                    if let published = digest {
                        guard missed, !published.digest.overflow else { return (published.digest, published.frame) }
                        var overflowing = published.digest
                        overflowing.overflow = true
                        return (overflowing, overflowing.frame)
                    }
                    // Changes in intervals this follower missed, none in the latest.
                    if missed { return (Self.missed.digest, Self.missed.frame) }
                    continue
                }
                guard ContinuousClock.now < deadline, !Task.isCancelled else { return nil }
                _ = await ticks.wait(after: generation, timeout: deadline - .now)
            }
        }
    }

    /// Gathers each interval's changed tasks by workspace and publishes them, until cancelled.
    private func read(_ generation: Int) async {
        while !Task.isCancelled {
            do {
                // The heads of the events only: which task of which workspace moved.
                var feed = store.hookStream(after: try await store.lastHookSeq(), headsOnly: true).makeAsyncIterator()
                var gathering: [String: (ids: [TaskID], seen: Set<TaskID>, overflow: Bool)] = [:]
                var closes = ContinuousClock.now + interval
                while !Task.isCancelled {
                    for event in try await feed.nextBatch(timeout: max(.zero, closes - .now)) {
                        var digest = gathering[event.workspaceID] ?? ([], [], false)
                        if !digest.seen.contains(event.taskID) {
                            if digest.ids.count < cap {
                                digest.ids.append(event.taskID)
                                digest.seen.insert(event.taskID)
                            } else {
                                digest.overflow = true
                            }
                        }
                        gathering[event.workspaceID] = digest
                    }
                    guard ContinuousClock.now >= closes else { continue }
                    closes = ContinuousClock.now + interval
                    guard !gathering.isEmpty else { continue }
                    let digests = gathering.mapValues { gathered in
                        let digest = Digest(ids: gathered.ids, overflow: gathered.overflow)
                        return Published(digest: digest, frame: digest.frame)
                    }
                    gathering = [:]
                    state.withLock { state in
                        guard reader.isLatest(generation) else { return }
                        state.digests = digests
                        state.published += 1
                        for workspace in digests.keys {
                            state.changed[workspace] = (state.published, state.changed[workspace]?.latest ?? 0)
                        }
                    }
                    ticks.ring()
                }
            } catch {
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
