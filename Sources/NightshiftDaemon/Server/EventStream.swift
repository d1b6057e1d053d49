import Foundation
import Hummingbird
import Nightshift
import NIOCore

/// A task's events as Server-Sent Events: `id:` is the event's seq (so a client resumes with
/// `Last-Event-ID` without a gap or a repeat), `event:` its type, `data:` the event as JSON. The
/// stream ends once the task is terminal and every event up to then was sent. It reads the log
/// again when the engine rings its change signal, at most every 20 ms, and at the poll interval
/// in any case.
struct EventStream: Sendable {
    /// The workspace the task belongs to: the stream reads through it.
    let scope: WorkspaceScope
    let task: TaskID
    let after: Int64
    /// Rung by the engine after it writes to any task's log: the stream reads again then.
    let changes: ChangeSignal
    /// How often the stream reads even without a ring, for writes the engine here did not make
    /// (another node's, on a shared PostgreSQL).
    let poll: Duration
    /// Whether the daemon is shutting down: the stream then ends at once, saying so in a
    /// comment, so that it does not hold the shutdown up; clients reconnect to the daemon that
    /// comes back (or another node) with `Last-Event-ID`.
    let isShuttingDown: @Sendable () -> Bool
    /// A comment line this often keeps proxies from closing a quiet stream.
    static let keepAlive = Duration.seconds(15)
    /// The least time between two reads: while many tasks run, rings come far more often than
    /// one task's events do.
    static let minimumGap = Duration.milliseconds(20)

    func response() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                var cursor = after
                var quietSince = ContinuousClock.now
                // Read before the store, so that a write after the reads below is a ring not yet seen.
                var seen = changes.generation
                while true {
                    let readAt = ContinuousClock.now
                    // Read the state before the events: if it is terminal, the events read next
                    // include its final state event.
                    let terminal = try await scope.task(task)?.state.isTerminal ?? true
                    let events = try await scope.events(task: task, after: cursor, limit: 500)
                    if !events.isEmpty {
                        var text = ""
                        for event in events {
                            text += "id: \(event.seq)\nevent: \(event.type)\ndata: \(WireEvent(event).json.jsonText)\n\n"
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
                    seen = await changes.wait(after: seen, timeout: min(poll, Self.keepAlive))
                    try Task.checkCancellation()
                    let since = ContinuousClock.now - readAt
                    if since < Self.minimumGap { try await Task.sleep(for: Self.minimumGap - since) }
                }
                try await writer.finish(nil)
            })
    }
}
