import Nightshift

/// The change feed's route of the OpenAPI document: `GET /v1/events`.
extension OpenAPIDocument {
    /// The path of the global hook stream.
    static let eventPaths: [String: [String: JSONValue]] = [
        "/v1/events": [
            "get": operation(
                """
                Every task's lifecycle changes (hook events) after a hook seq, in order, gap-free. With Accept: \
                text/event-stream, a live Server-Sent Events stream instead (id: the hook seq, event: the hook type, \
                data: the hook event as JSON) that ends only when the client goes or the daemon shuts down
                """,
                ["200": [
                    "description": "Hook events (JSON; next_after is where the read stopped, filtered or not), or the event stream",
                    "content": [
                        "application/json": ["schema": ref("HookEventList")],
                        "text/event-stream": ["schema": ["type": "string"]],
                    ],
                ]],
                failures: [v1Failures, queryFailures],
                parameters: [
                    parameter("after", in: "query", ["type": "integer", "minimum": 0, "default": 0], "Hook events after this seq (default 0: all)"),
                    parameter("limit", in: "query", ["type": "integer", "minimum": 1, "maximum": 1000, "default": 100], "1 to 1000 read, default 100 (JSON only)"),
                    parameter("task", in: "query", "string", "Only this task's events"),
                    parameter("agent", in: "query", "string", "Only events of this agent's tasks"),
                    parameter(
                        "state", in: "query", ["type": "string", "pattern": .string("^(\(stateNames))(,(\(stateNames)))*$")],
                        "Only moves into these states, comma-separated"),
                    parameter("Last-Event-ID", in: "header", ["type": "integer", "minimum": 0], "Hook events after this seq; takes precedence over after"),
                ]),
        ],
    ]

    private static let stateNames = TaskState.allCases.map(\.rawValue).joined(separator: "|")

    /// The schemas of the change feed's answers.
    static let eventSchemas: [String: JSONValue] = [
        "HookEvent": shape(["time": "time", "task_id": "string", "type": "string", "data": "any"], ["seq": ["type": "integer", "minimum": 1]]),
        "HookEventList": [
            "type": "object", "required": ["events", "next_after"], "additionalProperties": false,
            "properties": ["events": ["type": "array", "items": ref("HookEvent")], "next_after": ["type": "integer", "minimum": 0]],
        ],
    ]
}
