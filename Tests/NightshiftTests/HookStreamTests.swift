import Foundation
import Nightshift
import Synchronization
import Testing

/// ``HookStream`` over an in-memory log: when it reads, and what it yields.
@Suite("Hook stream")
struct HookStreamTests {
    /// A hook log in memory that counts its reads.
    final class Log: Sendable {
        private let state = Mutex((events: [HookEvent](), reads: 0))
        let signal = ChangeSignal()

        var reads: Int { state.withLock { $0.reads } }

        func append(_ count: Int, task: String = "01a1fd4e-f656-70f5-9507-84af15236666") {
            state.withLock { state in
                for _ in 0..<count {
                    let seq = Int64(state.events.count + 1)
                    state.events.append(HookEvent(
                        seq: seq, time: Date(timeIntervalSince1970: 0), taskID: TaskID(task)!, type: "task.queued", data: [:]))
                }
            }
            signal.ring()
        }

        func stream(after: Int64 = 0, poll: Duration = .seconds(600)) -> HookStream {
            HookStream(after: after, poll: poll, signal: signal) { after, limit in
                self.state.withLock { state in
                    state.reads += 1
                    return Array(state.events.filter { $0.seq > after }.prefix(limit))
                }
            }
        }
    }

    @Test("the log is read at the first call, then only after a ring or once the poll is due, however often the consumer calls")
    func readsOnlyWhenDue() async throws {
        let log = Log()
        log.append(2)
        var feed = log.stream().makeAsyncIterator()
        #expect(try await feed.nextBatch(timeout: .milliseconds(10)).map(\.seq) == [1, 2])
        #expect(log.reads == 1)
        for _ in 0..<5 { #expect(try await feed.nextBatch(timeout: .milliseconds(10)).isEmpty) }
        #expect(log.reads == 1, "no ring, no poll due: no read")
        log.append(1)
        #expect(try await feed.nextBatch(timeout: .milliseconds(10)).map(\.seq) == [3])
        #expect(log.reads == 2)
        // With a short poll, an unannounced append is read once the poll is due.
        var polled = log.stream(after: 3, poll: .milliseconds(20)).makeAsyncIterator()
        #expect(try await polled.nextBatch(timeout: .milliseconds(1)).isEmpty)
        log.append(1)
        #expect(try await polled.nextBatch(timeout: .seconds(30)).map(\.seq) == [4])
    }

    @Test("a backlog longer than a page is read page by page without waiting for a ring; a filter moves the cursor over what it skips")
    func backlogAndFilter() async throws {
        let log = Log()
        log.append(1200)
        log.append(1, task: "01a1fd4e-f656-70f5-9507-84af15236667")
        var feed = log.stream().matching { $0.taskID.rawValue.hasSuffix("7") || $0.seq == 600 }.makeAsyncIterator()
        #expect(try await feed.nextBatch(timeout: .milliseconds(10)).map(\.seq) == [600])
        #expect(try await feed.nextBatch(timeout: .milliseconds(10)).map(\.seq) == [1201])
        #expect(feed.cursor == 1201)
        var all = log.stream().makeAsyncIterator()
        var seqs: [Int64] = []
        while seqs.count < 1201, let event = try await all.next() { seqs.append(event.seq) }
        #expect(seqs == Array(1...1201))
    }
}
