import Nightshift

/// The hook consumers' routes of the OpenAPI document, and the application events' route.
extension OpenAPIDocument {
    private static let consumerRule = "The consumer's name: \(TextRules.agentNameRule)"

    /// The paths of the hook consumers' routes.
    static let hookPaths: [String: [String: JSONValue]] = [
        "/v1/hooks/poll": [
            "get": operation(
                """
                The consumer's hook events after its ack (it is created, at ack 0, on first use), in order, \
                with the signals derived now (blocked_stale, stuck_queued, budget_nearly_spent, parked: seq 0, \
                never acked). A poll does not move the ack: POST /v1/hooks/ack does. With wait, a poll that \
                finds no event is held until one comes or the time passes. With Accept: text/event-stream, the \
                consumer's events as a live Server-Sent Events stream instead (id: the seq to ack)
                """,
                ["200": [
                    "description": "The consumer's events and the derived signals (JSON), or the event stream",
                    "content": [
                        "application/json": ["schema": ref("HookPoll")],
                        "text/event-stream": ["schema": ["type": "string"]],
                    ],
                ]],
                failures: [v1Failures, queryFailures],
                parameters: [
                    parameter("consumer", in: "query", ["type": "string", "minLength": 1, "maxLength": 64], consumerRule),
                    parameter("limit", in: "query", ["type": "integer", "minimum": 1, "maximum": 1000, "default": 100], "1 to 1000 events, default 100"),
                    parameter(
                        "wait", in: "query", ["type": "string"],
                        "Long poll: wait up to this long (0s to \(Int(APIServer.maxHookWait))s: 30s, 1m, or seconds) for an event when there is none"),
                ]),
        ],
        "/v1/hooks/ack": [
            "post": operation(
                "Move a consumer's ack forward to a seq (the same seq again is fine)", ["200": answer("The consumer", "HookConsumer")],
                failures: [
                    v1Failures,
                    ["404": "No consumer of that name (`not_found`, field `consumer`)"],
                    ["409": "The seq is below the consumer's ack, which never moves back (`conflict`, field `seq`; the message names the ack)"],
                    ["422": "The seq is beyond the stream's last event (`invalid_input`, field `seq`)"],
                ],
                body: "HookAck"),
        ],
        "/v1/hooks/consumers": [
            "get": operation(
                "The workspace's hook consumers by name, with their ack and lag", ["200": answer("Consumers", "HookConsumerList")],
                failures: [v1Failures]),
        ],
        "/v1/hooks/consumers/{name}": [
            "delete": operation(
                "Forget a consumer: it no longer holds events back from pruning", ["204": answer("Deleted", nil)],
                failures: [v1Failures, pathFailures("consumer"), ["422": "The name is not a consumer name (`invalid_input`, field `name`)"]],
                parameters: [parameter("name", in: "path", ["type": "string", "minLength": 1], consumerRule)]),
        ],
    ]

    /// `POST /v1/events`: an application's event.
    static let emitOperation: JSONValue = operation(
        "Append an application's event (its own type, on a task of the workspace) to the hook stream",
        ["202": answer("The event, accepted: it is in the stream, where it gets its seq", "AcceptedHookEvent")],
        failures: [v1Failures, ["404": "No such task in the workspace (`not_found`)"]],
        body: "NewHookEvent")

    /// The schemas of the hook consumers' routes.
    static let hookSchemas: [String: JSONValue] = [
        "HookConsumer": shape(["name": "string", "ack": "integer", "lag": "integer", "created_at": "time", "updated_at": "time"]),
        "HookConsumerList": list("consumers", of: "HookConsumer"),
        "DerivedSignal": shape(["time": "time", "task_id": "string|null", "agent": "string|null", "data": "any"], [
            "seq": ["type": "integer", "const": 0],
            "type": ["type": "string", "enum": ["blocked_stale", "stuck_queued", "budget_nearly_spent", "parked"]],
        ]),
        "HookPoll": shape([:], [
            "events": ["type": "array", "items": ref("HookEvent")],
            "derived": ["type": "array", "items": ref("DerivedSignal")],
            "consumer": ref("HookConsumer"),
        ]),
        "HookAck": input([
            "consumer": ["type": "string", "minLength": 1, "maxLength": 64, "description": .string(consumerRule)],
            "seq": ["type": "integer", "minimum": 0, "description": "The seq handled up to"],
        ], required: ["consumer", "seq"]),
        "NewHookEvent": input([
            "task_id": ["type": "string", "description": "The task it is about (of the workspace)"],
            "type": ["type": "string", "pattern": "^[a-z][a-z0-9_.:-]{0,63}$", "description": .string(NewHookEvent.typeRule)],
            "data": ["type": "object", "description": "Its details (default {}), at most 64 KiB of JSON"],
        ], required: ["task_id", "type"]),
        "AcceptedHookEvent": shape(["task_id": "string", "type": "string", "data": "any"]),
    ]
}
