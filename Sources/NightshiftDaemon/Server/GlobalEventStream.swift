import Foundation
import Hummingbird
import Nightshift
import NIOCore

/// Which hook events a reader of `GET /v1/events` asked for. Applied on the server as the feed is
/// read, so a filtered stream is still gap-free in what it carries and its cursor still moves.
struct HookEventFilter: Sendable {
    /// The reader's workspace: another's events are never sent.
    var workspace: String
    /// Only this task's events.
    var task: TaskID?
    /// Only events of tasks of this agent.
    var agent: String?
    /// Only moves into one of these states (`task.<state>`).
    var states: Set<TaskState>?

    /// Whether `event` passes every condition.
    func accepts(_ event: HookEvent) -> Bool {
        if event.workspaceID != workspace { return false }
        if let task, event.taskID != task { return false }
        if let agent, event.data["agent"]?.stringValue != agent { return false }
        if let states {
            guard let to = event.data["to"]?.stringValue.flatMap(TaskState.init(rawValue:)), states.contains(to) else { return false }
        }
        return true
    }
}

/// Every task's lifecycle changes as Server-Sent Events, from the store's change feed: `id:` is
/// the hook seq (a client resumes with `Last-Event-ID` without a gap or a repeat), `event:` the
/// hook type, `data:` the hook event as JSON. It never ends on its own: it ends when the client
/// goes or the daemon shuts down (saying so in a comment, like a task's stream).
struct GlobalEventStream: Sendable {
    /// The process's one reader of the hook stream, shared by every client.
    let feed: HookFanout
    let after: Int64
    let filter: HookEventFilter
    /// Rung at shutdown, so that the stream ends then rather than at its next event.
    let changes: TaskChangeSignals
    /// How often the feed reads without a ring.
    let poll: Duration
    /// Whether the daemon is shutting down.
    let isShuttingDown: @Sendable () -> Bool

    func response() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                try await changes.following(nil) { shutdown in
                    var feed = feed.hookStream(after: after, poll: poll).matching(filter.accepts).waking(on: shutdown).makeAsyncIterator()
                    var quietSince = ContinuousClock.now
                    while true {
                        if isShuttingDown() {
                            try await writer.write(ByteBuffer(string: ": the daemon is shutting down; reconnect with Last-Event-ID\nretry: 2000\n\n"))
                            break
                        }
                        let quiet = ContinuousClock.now - quietSince
                        let events = try await feed.nextBatch(timeout: max(.zero, EventStream.keepAlive - quiet))
                        try Task.checkCancellation()
                        if !events.isEmpty {
                            var text = ""
                            for event in events {
                                text += "id: \(event.seq)\nevent: \(event.type)\ndata: \(WireHookEvent(event).json.jsonText)\n\n"
                            }
                            try await writer.write(ByteBuffer(string: text))
                            quietSince = .now
                        } else if ContinuousClock.now - quietSince >= EventStream.keepAlive {
                            try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                            quietSince = .now
                        }
                    }
                }
                try await writer.finish(nil)
            })
    }
}
