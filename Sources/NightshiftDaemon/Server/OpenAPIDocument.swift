import HTTPTypes
import Nightshift

/// The OpenAPI 3.1 description of the API, served at `/openapi.json`. Tests check that it
/// documents exactly ``APIServer/routes`` and the members the server answers; `scripts/api-conformance`
/// checks every answer of a real daemon against it (status, content type, body).
public enum OpenAPIDocument {
    // MARK: Building blocks

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    private static func jsonContent(_ schema: JSONValue) -> JSONValue { ["application/json": ["schema": schema]] }

    /// A success answer with a JSON body of the schema `schema`, or none.
    static func answer(_ description: String, _ schema: String?) -> JSONValue {
        guard let schema else { return ["description": .string(description)] }
        return ["description": .string(description), "content": jsonContent(ref(schema))]
    }

    /// Failure answers by status: what each means, in the JSON error shape.
    typealias Failures = [String: String]

    /// What the HTTP layer answers any request it cannot parse, before any route.
    static let httpFailures: Failures = [
        "400": "The request is not valid HTTP/1.1 (`bad_request`)",
        "431": "The request head is larger than 80 KiB (`bad_request`)",
    ]
    /// What every route but `/healthz` answers while the daemon drains at shutdown.
    static let drainingFailure: Failures = [
        "503": "The daemon is shutting down (`shutting_down`, with `Retry-After`)",
    ]
    /// What every `/v1` route may answer besides: a missing token, a store that does not answer.
    static let v1Failures: Failures = httpFailures.merging(drainingFailure, uniquingKeysWith: joined).merging([
        "401": "Missing or wrong bearer token (`unauthorized`)",
        "503": "The store does not answer (`store_unavailable`)",
    ], uniquingKeysWith: joined)
    /// What a route with a JSON request body may answer.
    static let bodyFailures: Failures = [
        "400": "The body is not UTF-8 or not well-formed JSON (`invalid_json`, naming the byte), or not a JSON object (`invalid_input`, field `body`)",
        "413": "The body is larger than 2 MiB (`payload_too_large`)",
        "422": "A member is missing, unknown, of the wrong type or out of range, or a string holds U+0000 (`invalid_input`; `field` names it, e.g. `payload.notes[1]`)",
    ]
    /// What a route with query parameters may answer.
    static let queryFailures: Failures = ["422": "A query parameter (or header) is out of range (`invalid_input`; `field` names it)"]
    /// What a route with a path parameter may answer when it cannot decode it.
    static let percentFailure: Failures = ["422": "A path parameter is not valid percent-encoding (`invalid_input`)"]
    /// What a route that reads what a path parameter names may answer.
    static func pathFailures(_ what: String) -> Failures {
        percentFailure.merging(["404": "No such \(what) (`not_found`)"]) { current, _ in current }
    }
    /// What a route may answer that acts on a task in a state that does not allow it.
    static let stateFailure: Failures = ["409": "Not allowed in the task's state (`illegal_transition`)"]

    static func joined(_ first: String, _ second: String) -> String { first + "; " + second }

    /// A parameter with a schema.
    static func parameter(_ name: String, in place: String, _ schema: JSONValue, _ description: String) -> JSONValue {
        [
            "name": .string(name), "in": .string(place), "required": .bool(place == "path"),
            "description": .string(description), "schema": schema,
        ]
    }

    /// A parameter of a plain type.
    static func parameter(_ name: String, in place: String, _ type: String, _ description: String) -> JSONValue {
        parameter(name, in: place, ["type": .string(type)], description)
    }

    /// An integer query parameter from 1 to `maximum`.
    static func limit(maximum: Int, default value: Int) -> JSONValue {
        parameter(
            "limit", in: "query", ["type": "integer", "minimum": 1, "maximum": .int(Int64(maximum)), "default": .int(Int64(value))],
            "1 to \(maximum), default \(value)")
    }

    private static let taskID = parameter("id", in: "path", "string", "Task id (UUIDv7); any other text is not found")
    private static let agentName = parameter("name", in: "path", "string", "Agent name (percent-encoded)")

    /// An operation: its success answers, the failures it may answer (merged, in order), its
    /// parameters and its request body schema. `open` routes need no token.
    /// A body that is not `bodyRequired` may be left out (`wake`, `drop`, `cancel`).
    static func operation(
        _ summary: String, _ answers: [String: JSONValue], failures: [Failures], parameters: [JSONValue] = [],
        body: String? = nil, bodyRequired: Bool = true, open: Bool = false
    ) -> JSONValue {
        var merged: Failures = [:]
        for group in failures + (body == nil ? [] : [bodyFailures]) { merged.merge(group, uniquingKeysWith: joined) }
        var responses = merged.mapValues { answer($0, "Error") }
        responses.merge(answers) { _, success in success }
        var operation: [String: JSONValue] = [
            "summary": .string(summary), "parameters": .array(parameters), "responses": .object(responses),
        ]
        if let body { operation["requestBody"] = ["required": .bool(bodyRequired), "content": jsonContent(ref(body))] }
        if open { operation["security"] = [] }
        return .object(operation)
    }

    /// An operation on one task: the task's path failures and the `/v1` ones.
    static func taskOperation(
        _ summary: String, _ answers: [String: JSONValue], failures: [Failures] = [], parameters: [JSONValue] = [],
        body: String? = nil, bodyRequired: Bool = true
    ) -> JSONValue {
        operation(
            summary, answers, failures: [v1Failures, pathFailures("task")] + failures, parameters: [taskID] + parameters, body: body,
            bodyRequired: bodyRequired)
    }

    /// The actions without a body (`cancel`, with an optional one, is among the inbox's paths).
    private static let actions = ["retry", "pause", "resume", "archive"]

    // MARK: The document

    /// The document.
    public static let document: JSONValue = {
        var paths: [String: [String: JSONValue]] = [:]
        paths["/healthz"] = [
            "get": operation("Liveness: answers even while the daemon drains", ["200": answer("Alive", "Health")], failures: [httpFailures], open: true),
        ]
        paths["/readyz"] = [
            "get": operation(
                "Readiness: the store takes a write within 2 s", ["200": answer("Ready", "Health")],
                failures: [httpFailures, drainingFailure, ["503": "The store does not take a write (`store_unavailable`)"]], open: true),
        ]
        paths["/openapi.json"] = [
            "get": operation(
                "This document", ["200": ["description": "OpenAPI 3.1", "content": jsonContent(["type": "object"])]],
                failures: [httpFailures, drainingFailure], open: true),
        ]
        paths["/v1/tasks"] = [
            "post": operation(
                "Submit a task", [
                    "201": answer("Created", "Task"),
                    "200": answer("The task already submitted: an idempotent repeat (same key), or a live task with the same dedup_key", "Task"),
                ],
                failures: [
                    v1Failures,
                    ["400": "Two Idempotency-Key headers (`invalid_input`)"],
                    ["402": "The agent's budget is spent (`budget_exceeded`)", "429": "The queue is full: [server] max_queue_depth (`queue_full`)"],
                ],
                parameters: [
                    parameter(
                        "Idempotency-Key", in: "header", ["type": "string", "minLength": 1, "maxLength": 255],
                        "Returns the original task when repeated (as the body's idempotency_key; both must then be equal)"),
                ],
                body: "NewTask"),
            "get": operation(
                "List tasks, newest first", ["200": answer("A page", "TaskList")],
                failures: [v1Failures, queryFailures, ["400": "A cursor that is not a next_cursor (`invalid_input`)"]],
                parameters: [
                    parameter(
                        "state", in: "query", ["type": "string", "pattern": .string("^(\(states))(,(\(states)))*$")],
                        "Comma-separated states"),
                    parameter("agent", in: "query", "string", "Agent name"),
                    parameter("label", in: "query", "string", "A label the task carries"),
                    parameter("lane", in: "query", "string", "Lane"),
                    parameter("schedule_id", in: "query", "string", "Only the tasks this schedule fired (its id)"),
                    parameter("created_after", in: "query", "string", "RFC 3339 time or seconds since 1970"),
                    parameter("created_before", in: "query", "string", "RFC 3339 time or seconds since 1970"),
                    parameter("archived", in: "query", ["type": "string", "enum": ["false", "true", "any"], "default": "false"], "false (default), true or any"),
                    parameter("cursor", in: "query", "string", "next_cursor of the previous page"),
                    limit(maximum: TaskQuery.maxLimit, default: TaskQuery().limit),
                ]),
        ]
        paths["/v1/tasks/{id}"] = [
            "get": taskOperation("A task", ["200": answer("The task", "Task")]),
            "patch": taskOperation(
                "Change the priority of a task that has not finished", ["200": answer("The task", "Task")],
                failures: [stateFailure], body: "TaskPatch"),
        ]
        for action in actions {
            var failures = [stateFailure]
            if action == "retry" { failures.append(["429": "The queue is full: [server] max_queue_depth (`queue_full`)"]) }
            let summary = action == "archive"
                ? "Archive a finished task (left out of listings unless archived=true or any)" : "\(action.capitalized) a task"
            paths["/v1/tasks/{id}/\(action)"] = ["post": taskOperation(summary, ["200": answer("The task", "Task")], failures: failures)]
        }
        paths["/v1/tasks/{id}/events"] = [
            "get": operation(
                """
                A task's events after a seq. With Accept: text/event-stream, a live Server-Sent Events stream instead \
                (id: the seq, event: the type, data: the event as JSON) that ends once the task is terminal
                """,
                ["200": [
                    "description": "Events (JSON), or the event stream",
                    "content": [
                        "application/json": ["schema": ref("EventList")],
                        "text/event-stream": ["schema": ["type": "string"]],
                    ],
                ]],
                failures: [v1Failures, pathFailures("task"), queryFailures],
                parameters: [
                    taskID,
                    parameter("after", in: "query", ["type": "integer", "minimum": 0, "default": 0], "Events after this seq (default 0: all)"),
                    parameter("limit", in: "query", ["type": "integer", "minimum": 1, "maximum": 1000, "default": 100], "1 to 1000, default 100 (JSON only)"),
                    parameter("Last-Event-ID", in: "header", ["type": "integer", "minimum": 0], "Events after this seq; takes precedence over after"),
                ]),
        ]
        paths["/v1/tasks/{id}/runs"] = ["get": taskOperation("A task's runs", ["200": answer("Runs", "RunList")])]
        paths["/v1/tasks/{id}/steps"] = ["get": taskOperation("A workflow task's recorded steps", ["200": answer("Steps", "StepList")])]
        paths["/v1/tasks/{id}/diff"] = [
            "get": taskOperation(
                "What the task's last run left in its git worktree: commits, stat and the patch against the base (cut at 512 KiB). With Accept: text/x-diff, the patch alone",
                ["200": [
                    "description": "The diff",
                    "content": ["application/json": ["schema": ref("Diff")], "text/x-diff": ["schema": ["type": "string"]]],
                ]],
                failures: [["404": "The task is not found, or no run of it left a diff (`not_found`)"]]),
        ]
        paths["/v1/tasks/{id}/artifacts"] = [
            "get": taskOperation("The files the task's runs kept as artifacts, newest first", ["200": answer("Artifacts", "ArtifactList")]),
        ]
        paths["/v1/tasks/{id}/artifacts/{name}"] = [
            "get": operation(
                "A kept artifact's bytes (served by the node whose run kept it)",
                ["200": ["description": "The file", "content": ["application/octet-stream": ["schema": ["type": "string", "format": "binary"]]]]],
                failures: [v1Failures, ["404": "The task, or its artifact on this node, is not found (`not_found`)"]],
                parameters: [taskID, parameter("name", in: "path", ["type": "string"], "The artifact's name")]),
        ]
        paths["/v1/tasks/{id}/children"] = [
            "get": taskOperation("A task's subtasks (its children only), oldest first", ["200": answer("Subtasks", "SubtaskList")]),
        ]
        paths["/v1/status"] = [
            "get": operation(
                "Counts, queue depth, active and recent runs, totals, agents", ["200": answer("Status", "Status")],
                failures: [v1Failures],
                parameters: [parameter("refresh", in: "query", "boolean", "true (or 1): check the agents' programs now rather than within 30 s")]),
        ]
        paths["/v1/agents"] = [
            "get": operation("Agents", ["200": answer("Agents", "AgentList")], failures: [v1Failures]),
            "post": operation(
                "Create an agent", ["201": answer("Created", "Agent")],
                failures: [v1Failures, ["409": "An agent of that name exists (`conflict`); PUT replaces it"]], body: "NewAgent"),
        ]
        paths["/v1/agents/{name}"] = [
            "get": operation("An agent", ["200": answer("The agent", "Agent")], failures: [v1Failures, pathFailures("agent")], parameters: [agentName]),
            "put": operation(
                "Create or replace an agent (what it has spent is kept)", ["200": answer("The agent as stored", "Agent")],
                failures: [v1Failures, percentFailure],
                parameters: [agentName], body: "AgentWrite"),
            "delete": operation(
                "Delete an agent (its tasks stay)", ["204": answer("Deleted", nil)], failures: [v1Failures, pathFailures("agent")],
                parameters: [agentName]),
        ]
        paths["/v1/agents/{name}/unpark"] = [
            "post": operation(
                "End the park of the agent's quota group now (its queued tasks may run at once)",
                ["200": answer("The agent, with its pacing", "Agent")], failures: [v1Failures, pathFailures("agent")],
                parameters: [agentName]),
        ]
        paths["/v1/agents/{name}/stats"] = [
            "get": operation(
                "The agent's runs that finished in a range, per UTC day and in total",
                ["200": answer("The agent's run stats", "AgentRunStats")],
                failures: [
                    v1Failures, pathFailures("agent"),
                    ["422": "`from` or `to` is not a date or an RFC 3339 time, or the range is empty: `from` not before `to` (`invalid_input`; `field` names it)"],
                ],
                parameters: [
                    agentName,
                    parameter(
                        "from", in: "query", "string",
                        "A date (2026-12-01: from its start, UTC) or an RFC 3339 time; default: 7 days before `to`"),
                    parameter(
                        "to", in: "query", "string",
                        "A date (2026-12-07: to its end, UTC, so the day counts) or an RFC 3339 time, excluded; default: the end of today (UTC)"),
                ]),
        ]
        paths.merge(sessionPaths) { current, _ in current }
        paths.merge(accessPaths) { current, _ in current }
        paths.merge(eventPaths) { current, _ in current }
        paths.merge(inboxPaths) { current, _ in current }
        paths.merge(lanePaths) { current, _ in current }
        paths.merge(detectorPaths) { current, _ in current }
        paths.merge(schedulePaths) { current, _ in current }
        paths.merge(hookPaths) { current, _ in current }
        paths.merge(webhookPaths) { current, _ in current }
        paths["/v1/events"]?["post"] = emitOperation
        // Every route a read-only token may not use answers 403 to one (the server's own rule).
        for (path, methods) in paths where path.hasPrefix("/v1/") {
            for (method, operation) in methods {
                let httpMethod = HTTPRequest.Method(method.uppercased())!
                let role = APIServer.routes.first { $0.method == httpMethod && $0.path == path }?.role
                guard let role, role != .readOnly, var members = operation.objectValue,
                      var responses = members["responses"]?.objectValue else { continue }
                responses["403"] = answer(forbiddenFailure["403"]!, "Error")
                members["responses"] = .object(responses)
                paths[path]?[method] = .object(members)
            }
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "Nightshift API", "version": "1.0.0",
                "description": """
                    Durable runtime for background AI-agent work. Every /v1 route needs `Authorization: Bearer TOKEN` \
                    (the token file in the data directory, the admin of workspace `default`, or a token from POST /v1/tokens); \
                    every read and write acts in the token's workspace only (another workspace's task, agent, checkpoint or \
                    memory is not found). Roles: read_only (GET only), member (also writes), admin (also tokens). Errors are `{"error":{"code","message","field"}}`. GET, POST, \
                    PUT, PATCH, DELETE, OPTIONS or TRACE on a documented path that does not take it is answered 405 \
                    `method_not_allowed` with an `Allow` header; an unknown path (or method) 404 `not_found`. Every time \
                    is an RFC 3339 string in UTC with milliseconds.
                    """,
            ],
            "servers": [["url": "http://127.0.0.1:7777"]],
            "security": [["bearer": []]],
            "paths": .object(paths.mapValues { .object($0) }),
            "components": [
                "schemas": .object(schemas.merging(sessionSchemas) { current, _ in current }.merging(accessSchemas) { current, _ in current }
                    .merging(eventSchemas) { current, _ in current }.merging(inboxSchemas) { current, _ in current }
                    .merging(laneSchemas) { current, _ in current }
                    .merging(detectorSchemas) { current, _ in current }
                    .merging(scheduleSchemas) { current, _ in current }.merging(hookSchemas) { current, _ in current }
                    .merging(webhookSchemas) { current, _ in current }),
                "securitySchemes": ["bearer": ["type": "http", "scheme": "bearer"]],
            ],
        ]
    }()

    /// The task states, as a regular expression's alternatives.
    private static var states: String { TaskState.allCases.map(\.rawValue).joined(separator: "|") }
}
