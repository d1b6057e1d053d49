import Foundation
import Hummingbird
import Nightshift
import NIOCore

/// A task's events as Server-Sent Events: `id:` is the event's seq (so a client resumes with
/// `Last-Event-ID` without a gap or a repeat), `event:` its type, `data:` the event as JSON. The
/// stream ends once the task is terminal and every event up to then was sent.
struct EventStream: Sendable {
    let store: any TaskStore
    let task: TaskID
    let after: Int64
    let poll: Duration
    /// A comment line this often keeps proxies from closing a quiet stream.
    static let keepAlive = Duration.seconds(15)

    func response() -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                var cursor = after
                var quietSince = ContinuousClock.now
                while true {
                    // Read the state before the events: if it is terminal, the events read next
                    // include its final state event.
                    let terminal = try await store.task(task)?.state.isTerminal ?? true
                    let events = try await store.events(task: task, after: cursor, limit: 500)
                    if !events.isEmpty {
                        var text = ""
                        for event in events {
                            text += "id: \(event.seq)\nevent: \(event.type)\ndata: \(APIJSON.event(event).jsonText)\n\n"
                        }
                        try await writer.write(ByteBuffer(string: text))
                        cursor = events.last!.seq
                        quietSince = .now
                        if events.count == 500 { continue }
                    }
                    if terminal { break }
                    if ContinuousClock.now - quietSince > Self.keepAlive {
                        try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                        quietSince = .now
                    }
                    try await Task.sleep(for: poll)
                }
                try await writer.finish(nil)
            })
    }
}
