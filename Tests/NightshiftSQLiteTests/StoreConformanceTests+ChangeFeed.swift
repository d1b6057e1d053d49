import Foundation
import Nightshift
import Testing

/// The change feed (the hook stream as an `AsyncSequence`), run against every store kind.
extension StoreConformanceTests {
    /// A poll far longer than any wait of these tests: what they receive was pushed.
    static let noPoll = Duration.seconds(600)

    @Test("the hook stream yields the log after its cursor, then each event as it commits, pushed", arguments: StoreKind.allCases)
    func hookStreamLive(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        #expect(try await store.lastHookSeq() == 0)
        for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "\(index)"), now: t0) }
        #expect(try await store.lastHookSeq() == 3)
        var feed = store.hookStream(after: 1, poll: Self.noPoll).makeAsyncIterator()
        #expect(try await feed.collect(2).map(\.seq) == [2, 3])
        // Nothing new: a bounded wait answers empty.
        #expect(try await feed.nextBatch(timeout: .milliseconds(50)).isEmpty)
        let (live, late) = try await Self.pushed(store, count: 2, after: feed.cursor) {
            let late = try await store.submit(NewTask(agent: "echo", prompt: "late"), now: t0).task
            _ = try await store.transition(late.id, .cancel, now: t0)
            return late
        }
        #expect(live.map(\.seq) == [4, 5])
        #expect(live.map(\.type) == ["task.queued", "task.cancelled"])
        #expect(live.allSatisfy { $0.taskID == late.id })
        #expect(try await feed.collect(2) == live)
        #expect(feed.cursor == 5)
        // A claim's move is pushed too (its own statement on PostgreSQL).
        _ = try await store.submit(NewTask(agent: "echo", prompt: "claimed"), now: t0)
        let (started, _) = try await Self.pushed(store, count: 1, after: 6) {
            try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0)
        }
        #expect(started.map(\.type) == ["task.started"])
    }

    /// The `count` hook events after `after` that `write` commits, read by a stream that waits
    /// with a ten-minute poll; `write` runs only once the stream found nothing and waits, so only
    /// the store's push brings them within the test's bound. Also answers what `write` returned.
    static func pushed<T: Sendable>(
        _ store: any TaskStore, count: Int, after: Int64, _ write: @Sendable () async throws -> T
    ) async throws -> ([HookEvent], T) {
        let (reads, read) = AsyncStream.makeStream(of: Int.self)
        let stream = HookStream(after: after, poll: noPoll, signal: store.hookChanges) { after, limit in
            let events = try await store.hookEvents(after: after, limit: limit)
            read.yield(events.count)
            return events
        }
        async let received: [HookEvent] = {
            var live = stream.makeAsyncIterator()
            return try await live.collect(count, within: .seconds(30))
        }()
        for await count in reads where count == 0 { break }
        let written = ContinuousClock.now
        let value = try await write()
        let events = try await received
        // Without a push the reader reads again only at its timeout (30 s).
        #expect(ContinuousClock.now - written < .seconds(20), "pushed, not found at the timeout")
        return (events, value)
    }

    @Test("concurrent writers: the hook stream has no gap and no duplicate, and is the log", arguments: StoreKind.allCases)
    func hookStreamConcurrentWriters(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let writers = 4
        let perWriter = 15
        // Each task: queued, then cancelled: two hook events.
        let expected = writers * perWriter * 2
        async let received: [HookEvent] = {
            var feed = store.hookStream(after: 0, poll: Self.noPoll).makeAsyncIterator()
            return try await feed.collect(expected, within: .seconds(60))
        }()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in 0..<perWriter {
                        let task = try await store.submit(NewTask(agent: "echo", prompt: "\(writer)-\(index)"), now: t0).task
                        _ = try await store.transition(task.id, .cancel, now: t0)
                    }
                }
            }
            try await group.waitForAll()
        }
        let events = try await received
        #expect(events.map(\.seq) == Array(1...Int64(expected)))
        #expect(events == (try await store.allHookEvents()))
        // Each task's own events are in its order: queued before cancelled.
        for (_, own) in Dictionary(grouping: events, by: \.taskID) {
            #expect(own.map(\.type) == ["task.queued", "task.cancelled"])
        }
    }

    @Test("a filtered hook stream yields only what matches, in order, and its cursor moves past the rest", arguments: StoreKind.allCases)
    func hookStreamFiltered(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent, Agent(name: "other", runner: .builtin))
        var ours: [TaskID] = []
        for index in 0..<4 {
            ours.append(try await store.submit(NewTask(agent: "echo", prompt: "\(index)"), now: t0).task.id)
            _ = try await store.submit(NewTask(agent: "other", prompt: "\(index)"), now: t0)
        }
        var feed = store.hookStream(after: 0, poll: Self.noPoll).matching { $0.data["agent"] == "echo" }.makeAsyncIterator()
        let events = try await feed.collect(4)
        #expect(events.map(\.taskID) == ours)
        #expect(events.map(\.seq) == [1, 3, 5, 7])
        #expect(feed.cursor == 8)
    }

    @Test("another process's writes to the same database reach the feed (at its poll on SQLite)", arguments: StoreKind.allCases)
    func hookStreamOtherWriter(kind: StoreKind) async throws {
        let stores = try await kind.makeShared(2)
        _ = try await stores[1].with(echoAgent)
        var feed = stores[0].hookStream(after: 0, poll: .milliseconds(100)).makeAsyncIterator()
        let task = try await stores[1].submit(NewTask(agent: "echo", prompt: "elsewhere"), now: t0).task
        let events = try await feed.collect(1)
        #expect(events.map(\.taskID) == [task.id])
    }
}

extension HookStream.AsyncIterator {
    /// The next `count` events, read batch by batch; fails the test if they do not come `within`.
    mutating func collect(_ count: Int, within timeout: Duration = .seconds(10)) async throws -> [HookEvent] {
        let deadline = ContinuousClock.now + timeout
        var events: [HookEvent] = []
        while events.count < count, ContinuousClock.now < deadline {
            events += try await nextBatch(timeout: deadline - .now)
        }
        #expect(events.count == count, "expected \(count) hook events within \(timeout), got \(events.count)")
        return events
    }
}

extension StoreConformanceTests {
    @Test("a stream filtered to one task is not woken by other tasks' commits, and an interrupting signal wakes it at once", arguments: StoreKind.allCases)
    func hookStreamWakesOnlyForItsTask(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let watched = try await store.submit(NewTask(agent: "echo", prompt: "watched"), now: t0).task
        let interrupt = ChangeSignal()
        var feed = store.hookStream(after: try await store.lastHookSeq(), poll: Self.noPoll)
            .matching { $0.taskID == watched.id }.waking(on: interrupt).makeAsyncIterator()
        // Another task's commits ring the store, but the stream waits on through them.
        async let others: Void = {
            for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "other \(index)"), now: t0) }
        }()
        let start = ContinuousClock.now
        #expect(try await feed.nextBatch(timeout: .milliseconds(300)).isEmpty)
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        try await others
        // A ring of the interrupting signal between two calls makes the next return at once,
        // with nothing; the one after waits again.
        interrupt.ring()
        let rung = ContinuousClock.now
        #expect(try await feed.nextBatch(timeout: .seconds(60)).isEmpty)
        #expect(ContinuousClock.now - rung < .seconds(30))
        #expect(try await feed.nextBatch(timeout: .milliseconds(100)).isEmpty)
        #expect(ContinuousClock.now - rung >= .milliseconds(100))
        // The watched task's change comes through.
        _ = try await store.transition(watched.id, .cancel, now: t0)
        #expect(try await feed.collect(1).map(\.type) == ["task.cancelled"])
        #expect(feed.cursor == 5, "the cursor moved past the other tasks' events")
    }
}
