import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

/// The hook fan-out (one reader of the hook stream for every follower in a process), run against
/// every store kind.
extension StoreConformanceTests {
    @Test("fan-out followers each get every event after their own cursor, in order and once; one behind memory catches up from the store", arguments: StoreKind.allCases)
    func hookFanout(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        for index in 0..<12 { _ = try await store.submit(NewTask(agent: "echo", prompt: "before \(index)"), now: t0) }
        // Memory keeps 5 events: a follower from 0 reads the 12 before it from the store.
        let fanout = HookFanout(store: store, capacity: 5, poll: Self.noPoll)
        do {
            var fromStart = fanout.hookStream(after: 0, poll: Self.noPoll).makeAsyncIterator()
            var fromEnd = fanout.hookStream(after: 12, poll: Self.noPoll).makeAsyncIterator()
            #expect(try await fromStart.collect(12).map(\.seq) == Array(1...12))
            #expect(try await fromEnd.nextBatch(timeout: .milliseconds(50)).isEmpty)

            // 20 more, pushed: each follower gets them in order, without a gap or a repeat, although
            // memory never holds more than 5 of them.
            for index in 0..<10 {
                let task = try await store.submit(NewTask(agent: "echo", prompt: "after \(index)"), now: t0).task
                _ = try await store.transition(task.id, .cancel, now: t0)
        }
        let expected = Array(Int64(13)...32)
        #expect(try await fromEnd.collect(20).map(\.seq) == expected)
        #expect(try await fromStart.collect(20).map(\.seq) == expected)
        #expect(try await fromStart.nextBatch(timeout: .milliseconds(50)).isEmpty)
        }

        // A follower that comes after every other left starts the reader again.
        var later = fanout.hookStream(after: 30, poll: Self.noPoll).makeAsyncIterator()
        #expect(try await later.collect(2).map(\.seq) == [31, 32])
        _ = try await store.submit(NewTask(agent: "echo", prompt: "last"), now: t0)
        #expect(try await later.collect(1).map(\.seq) == [33])
    }
}

extension StoreConformanceTests {
    @Test("a change digest names each interval's changed tasks of the follower's workspace once, and says when more changed than it names", arguments: StoreKind.allCases)
    func changeDigest(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        try await store.saveAgent(Agent(workspaceID: "other", name: "echo", runner: .builtin))
        let digest = TaskChangeDigest(store: store, interval: .milliseconds(100), cap: 3)
        try await digest.following(workspace: Workspace.defaultID) { next in
            // Nothing changed yet: a bounded wait answers nil.
            #expect(await next(.milliseconds(150)) == nil)
            let task = try await store.submit(NewTask(agent: "echo", prompt: "one"), now: t0).task
            _ = try await store.transition(task.id, .cancel, now: t0)
            _ = try await store.submit(NewTask(agent: "echo", prompt: "elsewhere", workspaceID: "other"), now: t0)
            let first = try #require(await next(.seconds(10)))
            #expect(first.digest.ids == [task.id], "one task, named once for its two moves; not the other workspace's")
            #expect(!first.digest.overflow)
            #expect(first.frame == "event: changed\ndata: {\"ids\":[\"\(task.id.rawValue)\"],\"overflow\":false}\n\n")

            var many: [TaskID] = []
            for index in 0..<5 { many.append(try await store.submit(NewTask(agent: "echo", prompt: "many \(index)"), now: t0).task.id) }
            var named: [TaskID] = []
            var overflowed = false
            while named.count + (overflowed ? 2 : 0) < 5, let next = await next(.seconds(10)) {
                // The first task's cancel may come an interval later (PostgreSQL numbers hooks apart).
                named += next.digest.ids.filter { $0 != task.id }
                overflowed = overflowed || next.digest.overflow
                #expect(next.digest.ids.count <= 3)
            }
            #expect(Set(named).isSubset(of: Set(many)))
            #expect(named.count == 5 || overflowed, "every task named, or the digest said it named fewer")
        }
    }
}

extension StoreConformanceTests {
    @Test("a change digest's follower that missed intervals in which its workspace changed is told to read again, though the latest interval did not change it", arguments: StoreKind.allCases)
    func changeDigestMissedIntervals(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        try await store.saveAgent(Agent(workspaceID: "other", name: "echo", runner: .builtin))
        let digest = TaskChangeDigest(store: store, interval: .milliseconds(100), cap: 3)
        /// Submits tasks of `workspace` until `next` names one of them (the reader starts from the
        /// hook stream's end once it runs); the digest that named it.
        func changeUntilNamed(
            _ workspace: String, _ next: (Duration) async -> (digest: TaskChangeDigest.Digest, frame: String)?
        ) async throws -> TaskChangeDigest.Digest? {
            var submitted: Set<TaskID> = []
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                submitted.insert(try await store.submit(NewTask(agent: "echo", prompt: "change", workspaceID: workspace), now: t0).task.id)
                while let named = await next(.seconds(1)) {
                    if named.digest.ids.contains(where: { submitted.contains($0) }) { return named.digest }
                }
            }
            return nil
        }
        try await digest.following(workspace: Workspace.defaultID) { lagging in
            try await digest.following(workspace: Workspace.defaultID) { watcher in
                try await digest.following(workspace: "other") { otherWatcher in
                    // The default workspace changes in an interval `lagging` does not read, then only
                    // the other workspace does.
                    #expect(try await changeUntilNamed(Workspace.defaultID, watcher) != nil)
                    let other = try #require(try await changeUntilNamed("other", otherWatcher))
                    #expect(!other.overflow, "the intervals it missed did not change its workspace")
                    // The latest interval has nothing of the default workspace, but one it missed had.
                    let told = try #require(await lagging(.seconds(5)), "the missed change was dropped")
                    #expect(told.digest.overflow)
                    // Told once: the next interval is awaited again.
                    #expect(await lagging(.milliseconds(300)) == nil)
                }
            }
        }
    }
}
