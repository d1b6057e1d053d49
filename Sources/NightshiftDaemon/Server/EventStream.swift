import Foundation
import Hummingbird
import Nightshift
import NIOCore

/// A task's events as Server-Sent Events: `id:` is the event's seq (so a client resumes with
/// `Last-Event-ID` without a gap or a repeat), `event:` its type, `data:` the event as JSON. The
/// stream ends once the task is terminal and every event up to then was sent.
///
/// It reads the task's log again when the change feed carries a hook event of this task (a state
/// change, from any node), when the engine rings for this task's other writes (run output,
/// priority), at most every 20 ms, and at the poll interval in any case (another node's run
/// output is in no feed).
struct EventStream: Sendable {
    /// The store's change feed (filtered to the task, which the scope below found in the
    /// request's workspace).
    let feed: any ChangeFeed
    /// The workspace the task belongs to: the stream reads the task and its log through it.
    let scope: WorkspaceScope
    let task: TaskID
    let after: Int64
    /// Rung by the engine for this task's writes the hook stream does not carry, and at shutdown.
    let changes: TaskChangeSignals
    /// How often the stream reads even without a ring.
    let poll: Duration
    /// Whether the daemon is shutting down: the stream then ends at once, saying so in a
    /// comment, so that it does not hold the shutdown up; clients reconnect to the daemon that
    /// comes back (or another node) with `Last-Event-ID`.
    let isShuttingDown: @Sendable () -> Bool
    /// One event as an SSE record (the dashboard draws its own).
    var record: @Sendable (TaskEvent) -> String = EventStream.jsonRecord
    /// A comment line this often keeps proxies from closing a quiet stream.
    static let keepAlive = Duration.seconds(15)
    /// The least time between two reads: a busy task's output rings far more often than a
    /// client needs to be written to.
    static let minimumGap = Duration.milliseconds(20)

    /// `id:` the seq, `event:` the type, `data:` the event as JSON.
    static func jsonRecord(_ event: TaskEvent) -> String {
        "id: \(event.seq)\nevent: \(event.type)\ndata: \(WireEvent(event).json.jsonText)\n\n"
    }

    func response() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                try await changes.following(task) { wake in
                    // The feed starts at the hook seq read before the log: a state change committed
                    // after the first read below is after it, and wakes the stream.
                    let task = task
                    // The feed's own poll is the slow safety net; the loop below still reads the
                    // task's log every `poll`, for another node's run output.
                    var feed = try await feed.hookStream(after: feed.lastHookSeq(), poll: max(poll, HookStream.defaultPoll))
                        .matching { $0.taskID == task }.waking(on: wake).makeAsyncIterator()
                    var cursor = after
                    var quietSince = ContinuousClock.now
                    while true {
                        let readAt = ContinuousClock.now
                        // Read the state before the events: if it is terminal, the events read next
                        // include its final state event.
                        let terminal = try await scope.task(task)?.state.isTerminal ?? true
                        let events = try await scope.events(task: task, after: cursor, limit: 500)
                        if !events.isEmpty {
                            var text = ""
                            for event in events {
                                text += record(event)
                            }
                            try await writer.write(ByteBuffer(string: text))
                            cursor = events.last!.seq
                            quietSince = .now
                            if events.count == 500 { continue }
                        }
                        if terminal { break }
                        if isShuttingDown() {
                            try await writer.write(ByteBuffer(string: ": the daemon is shutting down; reconnect with Last-Event-ID\nretry: 2000\n\n"))
                            break
                        }
                        if ContinuousClock.now - quietSince > Self.keepAlive {
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                            quietSince = .now
                        }
                        _ = try await feed.nextBatch(timeout: min(poll, Self.keepAlive))
                        try Task.checkCancellation()
                        let since = ContinuousClock.now - readAt
                        if since < Self.minimumGap { try await Task.sleep(for: Self.minimumGap - since) }
                    }
                }
                try await writer.finish(nil)
            })
    }
}
