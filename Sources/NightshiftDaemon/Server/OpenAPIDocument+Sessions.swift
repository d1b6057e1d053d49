import Nightshift

/// The session routes of the OpenAPI document: checkpoints and memories.
extension OpenAPIDocument {
    private static let checkpointID = parameter("id", in: "path", "string", "Checkpoint id (UUIDv7)")
    private static let memoryAgent = parameter("name", in: "path", "string", "Agent name")
    private static let memoryKey = parameter("key", in: "path", "string", "Memory key (1 to 256 characters, percent-encoded)")
    private static let workspace = parameter("workspace", in: "query", "string", "Workspace (default: default)")

    /// The paths of the session routes.
    static let sessionPaths: [String: [String: JSONValue]] = [
        "/v1/checkpoints": [
            "get": operation(
                "List checkpoints, most recently updated first", ("200", "Checkpoints", "CheckpointList"),
                parameters: [
                    parameter("agent", in: "query", "string", "Agent name"),
                    parameter("status", in: "query", "string", "active or resolved"),
                    parameter("max_age", in: "query", "string", "Updated within this long: 7d, 12h, 30m, 3600s or seconds"),
                    parameter("task_id", in: "query", "string", "Task id"),
                    parameter("include_archived", in: "query", "string", "true to list archived checkpoints too"),
                    parameter("limit", in: "query", "integer", "1 to 500, default 100"),
                ]),
            "post": operation(
                "Save a checkpoint (201; 200 when its id names an existing one, which it replaces)",
                ("201", "Created", "Checkpoint"), body: "Checkpoint"),
        ],
        "/v1/checkpoints/quarantine": [
            "get": operation(
                "Checkpoint files that could not be read, with the reason, most recent first",
                ("200", "Quarantined files", "QuarantineList"),
                parameters: [parameter("limit", in: "query", "integer", "1 to 500, default 100")]),
        ],
        "/v1/checkpoints/cleanup": [
            "post": operation(
                "Archive resolved and stale active checkpoints not updated for older_than_days days",
                ("200", "How many were archived", "CleanupResult"), body: "Cleanup"),
        ],
        "/v1/checkpoints/{id}": [
            "get": operation("A checkpoint", ("200", "The checkpoint", "Checkpoint"), parameters: [checkpointID]),
        ],
        "/v1/checkpoints/{id}/resolve": [
            "post": operation(
                "Resolve a checkpoint (a resolved one is answered unchanged)", ("200", "The checkpoint", "Checkpoint"),
                parameters: [checkpointID]),
        ],
        "/v1/agents/{name}/memories": [
            "get": operation(
                "An agent's memories, by key", ("200", "Memories", "MemoryList"),
                parameters: [memoryAgent, workspace, parameter("prefix", in: "query", "string", "Only keys starting with this")]),
        ],
        "/v1/agents/{name}/memories/{key}": [
            "get": operation("A memory", ("200", "The memory", "Memory"), parameters: [memoryAgent, memoryKey, workspace]),
            "put": operation(
                "Write a memory (version + 1); 409 when expected_version is not the current version (0: none yet)",
                ("200", "The memory", "Memory"), parameters: [memoryAgent, memoryKey], body: "MemoryWrite"),
            "delete": operation("Delete a memory", ("204", "Deleted", nil), parameters: [memoryAgent, memoryKey, workspace]),
        ],
    ]

    /// The schemas of the session routes.
    static let sessionSchemas: [String: JSONValue] = [
        "Checkpoint": schema([
            "schema_version": "integer", "id": "string", "agent": "string", "session_id": "string|null",
            "task_id": "string|null", "phase": "string", "status": "string", "created_at": "time", "updated_at": "time",
            "context": "object", "progress": "object", "resume_hint": "string|null", "archived_at": "time",
        ], required: ["schema_version", "phase"]),
        "CheckpointList": [
            "type": "object", "required": ["checkpoints"],
            "properties": ["checkpoints": ["type": "array", "items": ref("Checkpoint")]],
        ],
        "Quarantined": schema([
            "file_name": "string", "quarantined_path": "string", "error": "string", "agent": "string",
            "task_id": "string|null", "time": "time",
        ], required: ["file_name", "quarantined_path", "error", "agent", "time"]),
        "QuarantineList": [
            "type": "object", "required": ["quarantined"],
            "properties": ["quarantined": ["type": "array", "items": ref("Quarantined")]],
        ],
        "Cleanup": schema(["older_than_days": "integer"], required: ["older_than_days"]),
        "CleanupResult": schema(["archived": "integer"], required: ["archived"]),
        "Memory": schema([
            "workspace_id": "string", "agent": "string", "key": "string", "summary": "string", "version": "integer",
            "created_at": "time", "updated_at": "time",
        ], required: ["workspace_id", "agent", "key", "summary", "version", "created_at", "updated_at"]),
        "MemoryList": [
            "type": "object", "required": ["memories"], "properties": ["memories": ["type": "array", "items": ref("Memory")]],
        ],
        "MemoryWrite": schema(["summary": "string", "expected_version": "integer", "workspace": "string"], required: ["summary"]),
    ]
}
