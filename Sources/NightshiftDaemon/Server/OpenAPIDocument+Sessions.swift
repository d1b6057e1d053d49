import Nightshift

/// The session routes of the OpenAPI document: checkpoints and memories.
extension OpenAPIDocument {
    private static let checkpointID = parameter("id", in: "path", "string", "Checkpoint id (UUIDv7)")
    private static let memoryAgent = parameter("name", in: "path", "string", "Agent name (percent-encoded)")
    private static let memoryKey = parameter(
        "key", in: "path", ["type": "string", "minLength": 1, "maxLength": .int(Int64(Memory.maxKeyLength))],
        "Memory key (1 to \(Memory.maxKeyLength) characters, percent-encoded)")
    /// What every session route may answer besides the `/v1` failures.
    private static let checkpointFailures = [v1Failures, pathFailures("checkpoint")]
    private static let memoryFailures = [v1Failures, pathFailures("memory"), queryFailures]

    /// The paths of the session routes.
    static let sessionPaths: [String: [String: JSONValue]] = [
        "/v1/checkpoints": [
            "get": operation(
                "List checkpoints, most recently updated first", ["200": answer("Checkpoints", "CheckpointList")],
                failures: [v1Failures, queryFailures],
                parameters: [
                    parameter("agent", in: "query", "string", "Agent name"),
                    parameter("status", in: "query", ["type": "string", "enum": ["active", "resolved"]], "active or resolved"),
                    parameter("max_age", in: "query", "string", "Updated within this long (> 0): 7d, 1d12h, 12h, 30m, 3600s or seconds"),
                    parameter("task_id", in: "query", "string", "Task id"),
                    parameter("include_archived", in: "query", ["type": "boolean", "default": false], "true to list archived checkpoints too"),
                    limit(maximum: CheckpointQuery.maxLimit, default: 100),
                ]),
            "post": operation(
                "Save a checkpoint", [
                    "201": answer("Created (an id is assigned unless the body gives one)", "Checkpoint"),
                    "200": answer("Replaced: the id named an existing checkpoint (its created_at is kept)", "Checkpoint"),
                ],
                failures: [v1Failures], body: "CheckpointWrite"),
        ],
        "/v1/checkpoints/quarantine": [
            "get": operation(
                "Checkpoint files that could not be read, with the reason, most recent first",
                ["200": answer("Quarantined files", "QuarantineList")],
                failures: [v1Failures, queryFailures], parameters: [limit(maximum: CheckpointQuery.maxLimit, default: 100)]),
        ],
        "/v1/checkpoints/cleanup": [
            "post": operation(
                "Archive resolved and stale active checkpoints not updated for older_than_days days",
                ["200": answer("How many were archived", "CleanupResult")], failures: [v1Failures], body: "Cleanup"),
        ],
        "/v1/checkpoints/{id}": [
            "get": operation("A checkpoint", ["200": answer("The checkpoint", "Checkpoint")], failures: checkpointFailures, parameters: [checkpointID]),
        ],
        "/v1/checkpoints/{id}/resolve": [
            "post": operation(
                "Resolve a checkpoint (a resolved one is answered unchanged)", ["200": answer("The checkpoint", "Checkpoint")],
                failures: checkpointFailures, parameters: [checkpointID]),
        ],
        "/v1/agents/{name}/memories": [
            "get": operation(
                "An agent's memories, by key", ["200": answer("Memories", "MemoryList")],
                failures: [v1Failures, percentFailure, queryFailures],
                parameters: [memoryAgent, parameter("prefix", in: "query", "string", "Only keys starting with this")]),
        ],
        "/v1/agents/{name}/memories/{key}": [
            "get": operation("A memory", ["200": answer("The memory", "Memory")], failures: memoryFailures, parameters: [memoryAgent, memoryKey]),
            "put": operation(
                "Write a memory (version + 1)", ["200": answer("The memory", "Memory")],
                failures: [
                    v1Failures, percentFailure, queryFailures,
                    ["409": "expected_version is not the current version, 0 meaning none yet (`conflict`)"],
                ],
                parameters: [memoryAgent, memoryKey], body: "MemoryWrite"),
            "delete": operation("Delete a memory", ["204": answer("Deleted", nil)], failures: memoryFailures, parameters: [memoryAgent, memoryKey]),
        ],
    ]

    private static let strings: JSONValue = ["type": ["array", "null"], "items": ["type": "string"]]
    /// A time in a request body: RFC 3339, or seconds since 1970.
    private static let inputTime: JSONValue = ["type": ["string", "number", "null"], "format": "date-time"]

    /// The schemas of the session routes.
    static let sessionSchemas: [String: JSONValue] = [
        "Checkpoint": shape([
            "id": "string", "agent": "string", "session_id": "string|null", "task_id": "string|null", "phase": "string",
            "created_at": "time", "updated_at": "time", "resume_hint": "string|null", "archived_at": "time?",
        ], [
            "schema_version": ["type": "integer", "const": 1],
            "status": ["type": "string", "enum": ["active", "resolved"]],
            "context": shape(["work_items": "strings", "branch": "string|null"]),
            "progress": shape(["tasks_completed": "strings", "tasks_remaining": "strings", "files_modified": "strings", "decisions": "strings"]),
        ]),
        "CheckpointWrite": input([
            "schema_version": ["type": "integer", "const": 1],
            "id": ["type": ["string", "null"], "description": "An existing checkpoint's id replaces it; any other names the new one"],
            "agent": ["type": "string", "minLength": 1],
            "session_id": ["type": ["string", "null"]],
            "task_id": ["type": ["string", "null"], "description": "A task id (a UUID)"],
            "phase": ["type": "string", "minLength": 1],
            "status": ["type": ["string", "null"], "enum": ["active", "resolved", nil], "default": "active"],
            "created_at": inputTime, "updated_at": inputTime, "archived_at": inputTime,
            "context": nullable(input(["work_items": strings, "branch": ["type": ["string", "null"]]], required: [])),
            "progress": nullable(input(
                ["tasks_completed": strings, "tasks_remaining": strings, "files_modified": strings, "decisions": strings], required: [])),
            "resume_hint": ["type": ["string", "null"]],
        ], required: ["schema_version", "agent", "phase"]),
        "CheckpointList": list("checkpoints", of: "Checkpoint"),
        "Quarantined": shape([
            "file_name": "string", "quarantined_path": "string", "error": "string", "agent": "string",
            "task_id": "string|null", "time": "time",
        ]),
        "QuarantineList": list("quarantined", of: "Quarantined"),
        "Cleanup": input(["older_than_days": ["type": "integer", "minimum": 1]], required: ["older_than_days"]),
        "CleanupResult": shape(["archived": "integer"]),
        "Memory": shape([
            "workspace_id": "string", "agent": "string", "key": "string", "summary": "string", "version": "integer",
            "created_at": "time", "updated_at": "time",
        ]),
        "MemoryList": list("memories", of: "Memory"),
        "MemoryWrite": input([
            "summary": ["type": "string", "description": .string("At most \(Memory.maxSummaryBytes / 1024) KiB of UTF-8")],
            "expected_version": [
                "type": ["integer", "null"], "minimum": 0,
                "description": "Write only if this is the current version (0: only if there is none yet)",
            ],
        ], required: ["summary"]),
    ]
}
