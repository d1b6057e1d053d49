import Foundation
import Hummingbird
import Nightshift

/// The live half of a task's page: its event log as Server-Sent Events of drawn pieces.
extension Dashboard {
    /// `GET /tasks/{id}/live` (`Last-Event-ID` or `after`): the task's stream (as the API's
    /// `GET /v1/tasks/{id}/events` streams it), each event drawn by ``Conversation/piece(_:)``:
    /// `event: piece`, `data: {"target", "html", "failed_call", "state", "terminal"}`. An event the
    /// conversation leaves out still moves the cursor (an empty piece).
    func liveConversation(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let id = try await server.task(context).id
        let after = try APIServer.cursor(request, of: "an event seq")
        let engine = server.engine
        return EventStream(
            feed: engine.store, scope: try server.scope(context), task: id, after: after, changes: engine.taskChanges, poll: server.streamPoll,
            isShuttingDown: { engine.drainDeadline != nil }, record: Self.pieceRecord)
            .response()
    }

    /// `GET /feed`: the task list's live feed, as Server-Sent Events: every half second in which
    /// tasks of the session's workspace changed, `event: changed` with `data: {"ids": [...],
    /// "overflow": bool}` (at most 200 ids; `overflow` when more changed, or the client missed
    /// an interval in which its workspace changed). One reader digests the hook stream for every
    /// open page, so a page costs the daemon one frame per interval however busy the queue is
    /// (bench W9).
    func changeFeed(_ context: APIRequestContext) throws -> Response {
        let workspace = try server.scope(context).workspace
        let engine = server.engine
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                try await engine.taskChanges.following(nil) { shutdown in
                    try await engine.changeDigest.following(workspace: workspace) { next in
                        var quietSince = ContinuousClock.now
                        while engine.drainDeadline == nil, !Task.isCancelled {
                            let wait = min(max(.zero, EventStream.keepAlive - (ContinuousClock.now - quietSince)), .seconds(1))
                            if let (_, frame) = await next(wait) {
                                try await writer.write(ByteBuffer(string: frame))
                                quietSince = .now
                            } else if ContinuousClock.now - quietSince >= EventStream.keepAlive {
                                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                                quietSince = .now
                            }
                        }
                        _ = shutdown
                    }
                }
                try await writer.finish(nil)
            })
    }

    /// One event as a `piece` record.
    static func pieceRecord(_ event: TaskEvent) -> String {
        let piece = Conversation.piece(event)
        var data: [String: JSONValue] = ["html": .string(piece?.html.text ?? "")]
        if let target = piece?.target { data["target"] = .string(target) }
        if let call = piece?.failedCall { data["failed_call"] = .string(call) }
        if event.type == "state" || event.type == "input" || event.type == "diff" || event.type == "artifact_saved" {
            // The page reloads its other panels (buttons, inbox, runs) on these.
            data["refresh"] = true
        }
        if event.type == "state", let to = event.data["to"]?.stringValue.flatMap(TaskState.init(rawValue:)) {
            data["state"] = .string(to.rawValue)
            data["terminal"] = .bool(to.isTerminal)
        }
        return "id: \(event.seq)\nevent: piece\ndata: \(JSONValue.object(data).jsonText)\n\n"
    }
}
