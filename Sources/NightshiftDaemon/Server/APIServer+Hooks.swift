import Foundation
import HTTPTypes
import Hummingbird
import Nightshift

/// The hook consumers' routes: `GET /v1/hooks/poll`, `POST /v1/hooks/ack`,
/// `GET /v1/hooks/consumers`, `DELETE /v1/hooks/consumers/{name}`; and `POST /v1/events`.
extension APIServer {
    /// The longest a long poll waits (`wait`).
    static let maxHookWait = 60.0

    /// `GET /v1/hooks/poll?consumer=X&limit=N&wait=30s`: the consumer's events after its ack and
    /// the derived signals; with `wait`, held until an event comes or the time passes. With
    /// `Accept: text/event-stream`, the same events as a live stream (`id:` the seq to ack).
    func pollHooks(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        guard let name = parameters["consumer"].map(String.init) else {
            throw NightshiftError.invalid("consumer", "is required: the consumer's name (\(TextRules.agentNameRule))")
        }
        try HookConsumer.validate(name: name)
        let limit = try Self.limit(request, default: 100, maximum: 1000)
        let scope = try scope(context)
        if request.headers[.accept]?.contains("text/event-stream") == true {
            let consumer = try await engine.store.hookConsumer(name, workspace: scope.workspace, now: engine.clock.now)
            let poll = max(streamPoll, HookStream.defaultPoll)
            return GlobalEventStream(
                feed: engine.hookFanout, after: consumer.ackSeq, filter: HookEventFilter(workspace: scope.workspace), changes: engine.taskChanges,
                poll: poll
            ) { [engine] in engine.drainDeadline != nil }.response()
        }
        var wait = 0.0
        if let text = parameters["wait"] {
            guard let seconds = DurationText.seconds(String(text)), (0...Self.maxHookWait).contains(seconds) else {
                throw NightshiftError.invalid("wait", "expected a duration from 0s to \(Int(Self.maxHookWait))s (30s, 1m or seconds), got '\(text)'")
            }
            wait = seconds
        }
        let answer = try await scope.pollHooks(consumer: name, limit: limit, wait: .milliseconds(Int64(wait * 1000)))
        return Self.reply(WireHookPoll(answer))
    }

    /// `POST /v1/hooks/ack` (`{"consumer": X, "seq": N}`): moves the consumer's ack forward;
    /// answers the consumer. A lower seq is 409, one beyond the stream 422, an unknown consumer 404.
    func ackHooks(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let ack = try WireHookAck(body: try await Self.body(request))
        return Self.reply(WireHookConsumer(try await scope(context).ackHooks(consumer: ack.consumer, seq: ack.seq)))
    }

    /// `GET /v1/hooks/consumers`: the workspace's consumers with their ack and lag.
    func hookConsumers(_ context: APIRequestContext) async throws -> Response {
        Self.reply(WireHookConsumerList(consumers: try await scope(context).hookConsumers().map(WireHookConsumer.init)))
    }

    /// `DELETE /v1/hooks/consumers/{name}`: forgets a consumer; 404 for none.
    func deleteHookConsumer(_ context: APIRequestContext) async throws -> Response {
        let name = try Self.parameter(context, "name")
        try HookConsumer.validate(name: name, field: "name")
        guard try await scope(context).deleteHookConsumer(name) else { throw NightshiftError.consumerNotFound(name) }
        return Response(status: .noContent)
    }

    /// `POST /v1/events` (`{"task_id": …, "type": …, "data": {…}}`): appends an application's
    /// event to the hook stream; 202 with the event as accepted.
    func emitEvent(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let event = try WireNewHookEvent(body: try await Self.body(request)).event()
        try await scope(context).emitEvent(event)
        return Self.reply(WireAcceptedHookEvent(event), status: .accepted)
    }
}
