import Foundation
import HTTPTypes
import Hummingbird
import Nightshift

/// `GET /v1/events`: the global hook stream, as a page of JSON or as Server-Sent Events.
extension APIServer {
    /// Every task's lifecycle changes after a hook seq, filtered by task, agent and new state.
    func hookEvents(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let after = try Self.cursor(request, of: "a hook seq")
        let filter = try Self.hookEventFilter(parameters, workspace: try scope(context).workspace)
        let limit = try Self.limit(request, default: 100, maximum: 1000)
        if request.headers[.accept]?.contains("text/event-stream") == true {
            // The feed pushes on both stores: its poll is only a safety net, slower than a task
            // stream's (which also catches another node's run output).
            let poll = max(streamPoll, HookStream.defaultPoll)
            return GlobalEventStream(feed: engine.hookFanout, after: after, filter: filter, changes: engine.taskChanges, poll: poll) { [engine] in
                engine.drainDeadline != nil
            }.response()
        }
        // One page of the log, filtered: `next_after` is where the read stopped, whether or not the
        // filter kept its last event, so a filtered reader moves on through events it skips.
        let page = try await engine.store.hookEvents(after: after, limit: limit)
        return Self.reply(WireHookEventPage(events: page.filter(filter.accepts).map(WireHookEvent.init), nextAfter: page.last?.seq ?? after))
    }

    /// The filter named by `task`, `agent` and `state` (comma-separated states), each validated.
    static func hookEventFilter(_ parameters: Parameters, workspace: String) throws -> HookEventFilter {
        var filter = HookEventFilter(workspace: workspace)
        if let text = parameters["task"] {
            guard let id = TaskID(String(text)) else { throw NightshiftError.invalid("task", "expected a task id, got '\(text)'") }
            filter.task = id
        }
        if let text = parameters["agent"] {
            guard TextRules.isAgentName(String(text)) else {
                throw NightshiftError.invalid("agent", "expected an agent name (\(TextRules.agentNameRule)), got '\(text)'")
            }
            filter.agent = String(text)
        }
        if let text = parameters["state"] {
            filter.states = Set(try text.split(separator: ",", omittingEmptySubsequences: false).map { state in
                guard let state = TaskState(rawValue: String(state)) else {
                    throw NightshiftError.invalid(
                        "state", "expected one of \(TaskState.allCases.map(\.rawValue).joined(separator: ", ")), got '\(state)'")
                }
                return state
            })
        }
        return filter
    }
}
