import Nightshift

extension NightshiftClient {
    // MARK: Hook consumers

    /// `GET /v1/hooks/poll`: consumer `name`'s events after its ack and the derived signals; with
    /// `wait` (seconds), a long poll.
    public func pollHooks(consumer name: String, limit: Int? = nil, wait: Double? = nil) async throws -> WireHookPoll {
        var query = [("consumer", name)]
        if let limit { query.append(("limit", String(limit))) }
        if let wait { query.append(("wait", String(wait))) }
        return try await fetch(.GET, "/v1/hooks/poll", query: query)
    }

    /// `POST /v1/hooks/ack`: moves consumer `name`'s ack to `seq`; answers the consumer.
    public func ackHooks(consumer name: String, seq: Int64) async throws -> WireHookConsumer {
        try await fetch(.POST, "/v1/hooks/ack", body: WireHookAck(consumer: name, seq: seq).json)
    }

    /// `GET /v1/hooks/consumers`: the workspace's consumers by name.
    public func hookConsumers() async throws -> [WireHookConsumer] {
        try await fetch(.GET, "/v1/hooks/consumers", as: WireHookConsumerList.self).consumers
    }

    /// `DELETE /v1/hooks/consumers/{name}` (``APIError`` 404 for none).
    public func deleteHookConsumer(_ name: String) async throws {
        _ = try await send(.DELETE, "/v1/hooks/consumers/\(Self.escapePath(name))")
    }

    /// `POST /v1/events`: appends an application's event on a task to the hook stream.
    public func emitEvent(task: String, type: String, data: JSONValue? = nil) async throws -> WireAcceptedHookEvent {
        try await fetch(.POST, "/v1/events", body: WireNewHookEvent(taskID: task, type: type, data: data).json)
    }
}
