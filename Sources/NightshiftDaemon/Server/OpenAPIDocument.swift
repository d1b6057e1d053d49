import Nightshift

/// The OpenAPI 3.1 description of the API, served at `/openapi.json`. A test checks that it
/// documents exactly ``APIServer/routes``.
public enum OpenAPIDocument {
    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    private static func jsonContent(_ schema: JSONValue) -> JSONValue { ["application/json": ["schema": schema]] }
    private static func response(_ description: String, _ schema: String?) -> JSONValue {
        guard let schema else { return ["description": .string(description)] }
        return ["description": .string(description), "content": jsonContent(ref(schema))]
    }
    private static let errors: [String: JSONValue] = [
        "400": response("Malformed request (bad JSON, bad cursor)", "Error"),
        "401": response("Missing or wrong bearer token", "Error"),
        "404": response("No such task, agent or route", "Error"),
        "409": response("Not allowed in the task's state", "Error"),
        "413": response("Body over 2 MiB", "Error"),
        "422": response("A field is missing or has the wrong type", "Error"),
    ]
    static func parameter(_ name: String, in place: String, _ type: String, _ description: String) -> JSONValue {
        [
            "name": .string(name), "in": .string(place), "required": .bool(place == "path"),
            "description": .string(description), "schema": ["type": .string(type)],
        ]
    }
    private static let taskID = parameter("id", in: "path", "string", "Task id (UUIDv7)")
    private static let agentName = parameter("name", in: "path", "string", "Agent name")

    static func operation(
        _ summary: String, _ success: (code: String, description: String, schema: String?),
        parameters: [JSONValue] = [], body: String? = nil, open: Bool = false
    ) -> JSONValue {
        var responses = errors
        responses[success.code] = response(success.description, success.schema)
        var operation: [String: JSONValue] = [
            "summary": .string(summary), "parameters": .array(parameters), "responses": .object(responses),
        ]
        if let body { operation["requestBody"] = ["required": true, "content": jsonContent(ref(body))] }
        if open { operation["security"] = [] }
        return .object(operation)
    }

    static func schema(_ properties: [String: String], required: [String] = []) -> JSONValue {
        [
            "type": "object",
            "properties": .object(properties.mapValues { type -> JSONValue in
                switch type {
                case "time": ["type": ["string", "null"], "format": "date-time"]
                case "strings": ["type": "array", "items": ["type": "string"]]
                case "any": [:]
                default: ["type": .array(type.split(separator: "|").map { .string(String($0)) })]
                }
            }),
            "required": .array(required.map(JSONValue.string)),
        ]
    }

    private static let actions = ["cancel", "retry", "pause", "resume", "archive"]

    /// The document.
    public static let document: JSONValue = {
        var paths: [String: [String: JSONValue]] = [:]
        paths["/healthz"] = ["get": operation("Liveness", ("200", "Alive", "Health"), open: true)]
        paths["/readyz"] = ["get": operation("Readiness: the store answers", ("200", "Ready", "Health"), open: true)]
        paths["/openapi.json"] = ["get": operation("This document", ("200", "OpenAPI 3.1", nil), open: true)]
        paths["/v1/tasks"] = [
            "post": operation(
                "Submit a task (201; 200 with the original on an idempotent repeat or a live dedup key)",
                ("201", "Created", "Task"),
                parameters: [parameter("Idempotency-Key", in: "header", "string", "Returns the original task when repeated")],
                body: "NewTask"),
            "get": operation(
                "List tasks, newest first", ("200", "A page", "TaskList"),
                parameters: [
                    parameter("state", in: "query", "string", "Comma-separated states"),
                    parameter("agent", in: "query", "string", "Agent name"),
                    parameter("label", in: "query", "string", "A label the task carries"),
                    parameter("lane", in: "query", "string", "Lane"),
                    parameter("created_after", in: "query", "string", "RFC 3339 time or seconds since 1970"),
                    parameter("created_before", in: "query", "string", "RFC 3339 time or seconds since 1970"),
                    parameter("archived", in: "query", "string", "false (default), true or any"),
                    parameter("cursor", in: "query", "string", "next_cursor of the previous page"),
                    parameter("limit", in: "query", "integer", "1 to 500, default 50"),
                ]),
        ]
        paths["/v1/tasks/{id}"] = [
            "get": operation("A task", ("200", "The task", "Task"), parameters: [taskID]),
            "patch": operation("Change a task's priority", ("200", "The task", "Task"), parameters: [taskID], body: "TaskPatch"),
        ]
        for action in actions {
            paths["/v1/tasks/{id}/\(action)"] = ["post": operation("\(action.capitalized) a task", ("200", "The task", "Task"), parameters: [taskID])]
        }
        paths["/v1/tasks/{id}/events"] = [
            "get": operation(
                "A task's events; with Accept: text/event-stream, a live SSE stream (id = seq) that ends when the task is terminal",
                ("200", "Events", "EventList"),
                parameters: [
                    taskID, parameter("after", in: "query", "integer", "Events after this seq"),
                    parameter("limit", in: "query", "integer", "1 to 1000, default 100"),
                    parameter("Last-Event-ID", in: "header", "string", "Resume a stream after this seq"),
                ]),
        ]
        paths["/v1/tasks/{id}/runs"] = ["get": operation("A task's runs", ("200", "Runs", "RunList"), parameters: [taskID])]
        paths["/v1/status"] = ["get": operation("Counts, queue depth, active and recent runs, totals", ("200", "Status", "Status"))]
        paths["/v1/agents"] = [
            "get": operation("Agents", ("200", "Agents", "AgentList")),
            "post": operation("Create an agent", ("201", "Created", "Agent"), body: "Agent"),
        ]
        paths["/v1/agents/{name}"] = [
            "get": operation("An agent", ("200", "The agent", "Agent"), parameters: [agentName]),
            "put": operation("Create or replace an agent", ("200", "The agent", "Agent"), parameters: [agentName], body: "Agent"),
            "delete": operation("Delete an agent (its tasks stay)", ("204", "Deleted", nil), parameters: [agentName]),
        ]
        paths.merge(sessionPaths) { current, _ in current }
        let schemas: [String: JSONValue] = [
            "Health": schema(["status": "string"], required: ["status"]),
            "Error": [
                "type": "object", "required": ["error"],
                "properties": ["error": schema(["code": "string", "message": "string", "field": "string|null"], required: ["code", "message"])],
            ],
            "Task": schema([
                "id": "string", "workspace_id": "string", "agent": "string", "prompt": "string", "payload": "any",
                "priority": "integer", "lane": "string|null", "labels": "strings", "origin": "object|null",
                "idempotency_key": "string|null", "dedup_key": "string|null", "budget_usd": "number|null",
                "timeout": "number|null", "max_attempts": "integer", "state": "string", "attempt": "integer",
                "failures": "integer", "interruptions": "integer", "available_at": "time", "created_at": "time", "updated_at": "time",
                "finished_at": "time", "result": "string|null", "error": "string|null", "cost_usd": "number",
                "archived": "boolean", "tokens_in": "integer", "tokens_out": "integer", "cache_read_tokens": "integer",
                "cache_write_tokens": "integer", "tokens_used": "integer", "turns": "integer", "run_seconds": "number",
            ], required: ["id", "state", "agent", "prompt", "priority", "attempt", "result", "error", "created_at", "updated_at"]),
            "NewTask": schema([
                "agent": "string", "prompt": "string", "payload": "any", "priority": "integer", "lane": "string",
                "labels": "strings", "idempotency_key": "string", "dedup_key": "string", "timeout": "number",
                "max_attempts": "integer", "budget_usd": "number", "delay": "number", "workspace_id": "string",
            ], required: ["agent", "prompt"]),
            "TaskPatch": schema(["priority": "integer"], required: ["priority"]),
            "TaskList": [
                "type": "object", "required": ["tasks", "next_cursor"],
                "properties": ["tasks": ["type": "array", "items": ref("Task")], "next_cursor": ["type": ["string", "null"]]],
            ],
            "Event": schema(["seq": "integer", "time": "time", "type": "string", "data": "any"], required: ["seq", "time", "type", "data"]),
            "EventList": [
                "type": "object", "required": ["events", "next_after"],
                "properties": ["events": ["type": "array", "items": ref("Event")], "next_after": ["type": "integer"]],
            ],
            "Run": schema([
                "id": "string", "task_id": "string", "attempt": "integer", "worker_id": "string", "started_at": "time",
                "heartbeat_at": "time", "lease_expires_at": "time", "finished_at": "time", "outcome": "string|null",
                "exit_code": "integer|null", "tokens_in": "integer", "tokens_out": "integer", "cache_read_tokens": "integer",
                "cache_write_tokens": "integer", "cost_usd": "number", "cost_estimated": "boolean",
                "agent_session_id": "string|null", "error": "string|null", "turns": "integer", "warnings": "strings",
            ], required: ["id", "task_id", "attempt"]),
            "RunList": ["type": "object", "required": ["runs"], "properties": ["runs": ["type": "array", "items": ref("Run")]]],
            "Agent": schema([
                "name": "string", "runner": "string", "config": "object", "concurrency": "integer|null",
                "timeout": "number|null", "max_attempts": "integer", "initial_backoff": "number", "max_backoff": "number",
                "budget_usd": "number|null", "spent_usd": "number", "inject_memories": "boolean",
            ], required: ["runner"]),
            "AgentList": ["type": "object", "required": ["agents"], "properties": ["agents": ["type": "array", "items": ref("Agent")]]],
            "Status": schema(
                ["counts": "object", "queue_depth": "integer", "active_runs": "array", "recent_runs": "array", "totals": "object",
                 "agents": "array"],
                required: ["counts", "queue_depth", "active_runs", "recent_runs", "totals", "agents"]),
        ]
        return [
            "openapi": "3.1.0",
            "info": ["title": "Nightshift API", "version": "1.0.0", "description": "Durable runtime for background AI-agent work."],
            "servers": [["url": "http://127.0.0.1:7777"]],
            "security": [["bearer": []]],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "schemas": .object(schemas.merging(sessionSchemas) { current, _ in current }),
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
            ],
        ]
    }()
}
