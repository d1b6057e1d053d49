import Nightshift

/// The schemas of the OpenAPI document: answers list every member the server writes (all
/// required: an absent value is `null`); request bodies refuse unknown members and carry the
/// bounds the server checks.
extension OpenAPIDocument {
    /// The schema of a member written as `type`: a JSON type (`string`, `integer|null`), `time`
    /// (RFC 3339), `time?` (or null), `strings` (an array of strings), `object` or `any`.
    static func property(_ type: String) -> JSONValue {
        switch type {
        case "time": ["type": "string", "format": "date-time"]
        case "time?": ["type": ["string", "null"], "format": "date-time"]
        case "strings": ["type": "array", "items": ["type": "string"]]
        case "any": [:]
        default: ["type": .array(type.split(separator: "|").map { .string(String($0)) })]
        }
    }

    /// An answer's object: every member present, no other.
    static func shape(_ properties: [String: String], _ schemas: [String: JSONValue] = [:]) -> JSONValue {
        let all = properties.mapValues(property).merging(schemas) { _, given in given }
        return [
            "type": "object", "properties": .object(all), "required": .array(all.keys.sorted().map(JSONValue.string)),
            "additionalProperties": false,
        ]
    }

    /// A request body's object: unknown members are refused.
    static func input(_ properties: [String: JSONValue], required: [String]) -> JSONValue {
        [
            "type": "object", "properties": .object(properties), "required": .array(required.map(JSONValue.string)),
            "additionalProperties": false,
        ]
    }

    /// `schema` that may also be `null` (an optional member sent as null is as if absent).
    static func nullable(_ schema: JSONValue) -> JSONValue {
        var members = schema.objectValue ?? [:]
        if case .string(let type)? = members["type"] { members["type"] = [.string(type), "null"] }
        return .object(members)
    }

    /// A list answer: `{key: [item]}`.
    static func list(_ key: String, of item: String) -> JSONValue {
        shape([:], [key: ["type": "array", "items": ref(item)]])
    }

    /// A non-empty identifier (no control characters; the server counts its limit in bytes).
    static func identifier(maxBytes: Int) -> JSONValue {
        ["type": "string", "minLength": 1, "description": .string("Non-empty, at most \(maxBytes) bytes of UTF-8, no control characters")]
    }

    /// An object of counts by name.
    static func counts(_ description: String) -> JSONValue {
        ["type": "object", "additionalProperties": ["type": "integer", "minimum": 0], "description": .string(description)]
    }

    /// A task state.
    static let taskStates: JSONValue = ["type": "string", "enum": .array(TaskState.allCases.map { .string($0.rawValue) })]

    /// The schemas of the task, agent and status routes.
    static let schemas: [String: JSONValue] = [
        "Health": shape([:], ["status": ["type": "string", "enum": ["ok"]]]),
        "Error": shape([:], ["error": shape(["code": "string", "message": "string", "field": "string|null"])]),
        "Task": shape([
            "id": "string", "workspace_id": "string", "agent": "string", "prompt": "string", "payload": "object",
            "priority": "integer", "lane": "string|null", "labels": "strings", "idempotency_key": "string|null",
            "dedup_key": "string|null", "budget_usd": "number|null", "timeout": "number|null", "max_attempts": "integer",
            "attempt": "integer", "failures": "integer", "interruptions": "integer", "available_at": "time",
            "created_at": "time", "updated_at": "time", "finished_at": "time?", "result": "string|null", "error": "string|null",
            "cost_usd": "number", "archived": "boolean", "tokens_in": "integer", "tokens_out": "integer",
            "cache_read_tokens": "integer", "cache_write_tokens": "integer", "tokens_used": "integer", "turns": "integer",
            "run_seconds": "number",
        ], [
            "state": taskStates,
            "origin": ["oneOf": [shape(["channel": "string", "session": "string|null", "thread": "string|null", "notify": "boolean"]), ["type": "null"]]],
            "waiting_for": [
                "oneOf": [ref("WaitingFor"), ["type": "null"]],
                "description": "What the task waits for while it is waiting; null otherwise",
            ],
            "pending_inputs": ["type": "integer", "minimum": 0, "description": "Inputs in its inbox not yet handed to the agent"],
            "parent_id": ["type": ["string", "null"], "description": "The task it is a subtask of; null for a top-level task"],
            "subtask_depth": ["type": "integer", "minimum": 0, "description": "0 for a top-level task, 1 for its subtasks, and so on"],
            "ask": [
                "type": ["string", "null"], "enum": .array(AskPolicy.allCases.map { .string($0.rawValue) } + [.null]),
                "description": "The task's own ask policy, given at submit; null: its agent's",
            ],
            "schedule_id": ["type": ["string", "null"], "description": "The schedule that fired it; null for a task submitted otherwise"],
            "policy": policy("The task's own execution policy over its agent's (the fields it sets); null: the agent's"),
            "scheduled_for": [
                "type": ["string", "null"], "format": "date-time",
                "description": "The fire time a schedule submitted it for (the time of a trigger); null for a task submitted otherwise",
            ],
        ]),
        "NewTask": input([
            "agent": [
                "type": ["string", "null"], "minLength": 1,
                "description": "The agent; required unless parent_id is given (a subtask without one runs on its parent's). At most 128 bytes of UTF-8, no control characters",
            ],
            "prompt": ["type": "string", "pattern": "\\S", "description": "Not only whitespace; at most 1 MiB of UTF-8"],
            "payload": ["type": ["object", "null"]],
            "priority": ["type": ["integer", "null"], "minimum": 0, "description": "Lower runs first; the default is 10"],
            "lane": nullable(identifier(maxBytes: 128)),
            "labels": ["type": ["array", "null"], "items": identifier(maxBytes: 128)],
            "idempotency_key": nullable(identifier(maxBytes: 255)),
            "dedup_key": nullable(identifier(maxBytes: 255)),
            "timeout": ["type": ["number", "null"], "exclusiveMinimum": 0],
            "max_attempts": ["type": ["integer", "null"], "minimum": 1],
            "budget_usd": ["type": ["number", "null"], "exclusiveMinimum": 0],
            "delay": [
                "type": ["number", "null"], "minimum": 0, "maximum": .double(NewTask.maxDelay),
                "description": "Seconds before the task may run, up to a year",
            ],
            "workspace_id": nullable(identifier(maxBytes: 128)),
            "parent_id": [
                "type": ["string", "null"], "format": "uuid",
                "description": .string(
                    """
                    Makes the task a subtask of this task (of the token's workspace, not ended): it takes the parent's \
                    workspace and, unless given, its agent, origin and what is left of its budget. Subtasks nest at most \
                    \(SubtaskLimits().maxDepth) deep and a task has at most \(SubtaskLimits().maxChildren) (the daemon's \
                    [subtasks] settings); beyond, or for a missing or ended parent, 422 naming parent_id
                    """),
            ],
            "ask": askInput,
            "origin": [
                "type": ["object", "null"], "additionalProperties": false, "required": ["channel"],
                "properties": ["channel": identifier(maxBytes: 255), "session": nullable(identifier(maxBytes: 255)), "thread": nullable(identifier(maxBytes: 255))],
                "description": "Where the task came from: a channel binding ([channels.NAME]) of that name is told when it starts, ends, waits for a person or is parked",
            ],
            "notify": ["type": ["boolean", "null"], "description": "false: the origin's channel is not told about this task"],
            "policy": policy("The task's own execution policy over its agent's. Wider than the agent's in any field: 403 naming policy.FIELD, unless the token is an admin's; a bad value: 422 naming it"),
        ], required: ["prompt"]),
        "TaskPatch": input(["priority": ["type": "integer", "minimum": 0, "description": "Lower runs first"]], required: ["priority"]),
        "TaskList": shape(["next_cursor": "string|null"], ["tasks": ["type": "array", "items": ref("Task")]]),
        "Event": shape(["time": "time", "type": "string", "data": "any"], ["seq": ["type": "integer", "minimum": 1]]),
        "EventList": shape([:], ["events": ["type": "array", "items": ref("Event")], "next_after": ["type": "integer", "minimum": 0]]),
        "Run": shape([
            "id": "string", "task_id": "string", "attempt": "integer", "worker_id": "string", "started_at": "time",
            "heartbeat_at": "time", "lease_expires_at": "time", "finished_at": "time?", "outcome": "string|null",
            "exit_code": "integer|null", "tokens_in": "integer", "tokens_out": "integer", "cache_read_tokens": "integer",
            "cache_write_tokens": "integer", "cost_usd": "number", "cost_estimated": "boolean",
            "agent_session_id": "string|null", "error": "string|null", "turns": "integer", "warnings": "strings",
        ], ["tool_calls": counts("The agent's tool calls, by tool name")]),
        "RunList": list("runs", of: "Run"),
        "Diff": shape([
            "base": "string", "head": "string", "stat": "string", "files_changed": "integer", "insertions": "integer",
            "deletions": "integer", "patch": "string", "patch_bytes": "integer", "truncated": "boolean", "cap_bytes": "integer",
            "seq": "integer", "time": "time",
        ], ["commits": ["type": "array", "items": shape(["sha": "string", "subject": "string"])]]),
        "ArtifactList": shape([:], [
            "artifacts": ["type": "array", "items": shape(["name": "string", "path": "string", "bytes": "integer", "time": "time"])],
        ]),
        "Step": shape([
            "position": "integer", "name": "string", "state": "string", "error": "string|null", "attempts": "integer",
            "run_id": "string", "started_at": "time", "finished_at": "time", "duration_s": "number",
        ], ["output": ["description": "What the step returned, as JSON (completed steps)"]]),
        "StepList": shape(
            ["declared": "strings", "completed": "integer", "progress": "number|null"], ["steps": ["type": "array", "items": ref("Step")]]),
        "Agent": shape([
            "name": "string", "runner": "string", "config": "object", "concurrency": "integer|null",
            "timeout": "number|null", "stall_timeout": "number|null", "max_attempts": "integer", "initial_backoff": "number", "max_backoff": "number",
            "budget_usd": "number|null", "spent_usd": "number", "inject_memories": "boolean",
            "rate": "string|null", "quota_group": "string", "park_on_limit": "boolean",
        ], [
            "ask": ["type": "string", "enum": askPolicies, "description": "When its tasks ask a person before acting"],
            "pacing": ["oneOf": [ref("Pacing"), ["type": "null"]]],
        ].merging(isolationOutput) { first, _ in first }),
        "Pacing": shape([
            "quota_group": "string", "rate": "string|null", "tokens": "integer|null", "next_refill": "time?",
            "parked_until": "time?", "park_reason": "string|null",
        ]),
        "NewAgent": agentInput(nameRequired: true),
        "AgentWrite": agentInput(nameRequired: false),
        "AgentList": list("agents", of: "Agent"),
        "AgentStats": shape([
            "tasks": "integer", "cost_usd": "number", "tokens_in": "integer", "tokens_out": "integer",
            "cache_read_tokens": "integer", "cache_write_tokens": "integer", "tokens_used": "integer", "turns": "integer",
            "run_seconds": "number",
        ]),
        "AgentRunStats": shape(["agent": "string", "from": "time", "to": "time"], [
            "days": ["type": "array", "items": ref("RunFigures"), "description": "The UTC days on which a run finished, oldest first"],
            "totals": ref("RunFigures"),
        ]),
        "RunFigures": shape([
            "runs": "integer", "succeeded": "integer", "failed": "integer", "tokens_in": "integer", "tokens_out": "integer",
            "cache_read_tokens": "integer", "cache_write_tokens": "integer", "cost_usd": "number", "turns": "integer",
            "run_seconds": "number", "longest_run_seconds": "number",
        ], [
            "day": ["type": ["string", "null"], "format": "date", "description": "The UTC day; null for the range's totals"],
            "outcomes": counts("The runs by outcome (succeeded, failed, timed_out, lost …)"),
            "tool_calls": counts("Tool calls, by tool name"),
        ]),
        "AgentStatus": shape(
            ["agent": "string", "runner": "string", "available": "boolean", "path": "string|null", "version": "string|null",
             "problem": "string|null"],
            [
                "stats": ref("AgentStats"),
                "quota": ["oneOf": [shape(["status": "object", "observed_at": "time"]), ["type": "null"]]],
                "pacing": ["oneOf": [ref("Pacing"), ["type": "null"]]],
            ]),
        "ActiveRun": shape([
            "task_id": "string", "run_id": "string", "agent": "string", "attempt": "integer", "pid": "integer|null",
            "started_at": "time", "duration_s": "number",
        ]),
        "Status": shape(["queue_depth": "integer"], [
            "counts": shape([:], Dictionary(uniqueKeysWithValues: TaskState.allCases.map { ($0.rawValue, property("integer")) })),
            "active_runs": ["type": "array", "items": ref("ActiveRun")],
            "recent_runs": ["type": "array", "items": ref("Run")],
            "totals": shape(["invocations": "integer", "succeeded": "integer", "failed": "integer"]),
            "agents": ["type": "array", "items": ref("AgentStatus")],
            "detectors": [
                "type": "array", "items": ref("Detector"),
                "description": "The workspace's work detectors registered on the answering node, by name, with their last scans",
            ],
            "blocked_stale": [
                "type": "array", "items": ref("BlockedTask"),
                "description": "The tasks waiting longer than the daemon's [server] blocked_stale_after (an hour by default), longest waiting first, at most 100",
            ],
        ]),
        "BlockedTask": shape(["task_id": "string", "agent": "string", "waiting_since": "time"], [
            "waiting_for": ["oneOf": [ref("WaitingFor"), ["type": "null"]], "description": "What it waits for"],
        ]),
        "SubtaskList": list("tasks", of: "Task"),
    ]

    /// The ask policies, as an enum.
    private static let askPolicies: JSONValue = .array(AskPolicy.allCases.map { .string($0.rawValue) })

    /// An `ask` member of a request body.
    static let askInput: JSONValue = [
        "type": ["string", "null"], "enum": .array(AskPolicy.allCases.map { .string($0.rawValue) } + [.null]),
        "description": """
            When the task asks a person before acting: off; always (it waits for an approve before its first run; a \
            reject drops it); on-miss (a tool call outside the agent's allowed_tools waits for an approval, and the \
            agent's own questions for an answer; only claude_code agents, else 422 naming ask). Absent: the agent's policy
            """,
    ]

    /// An agent in a request body; on PUT the name comes from the path (and must match it if given).
    private static func agentInput(nameRequired: Bool) -> JSONValue {
        input([
            "name": ["type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", "description": .string(TextRules.agentNameRule)],
            "runner": ["type": "string", "description": "A runner of this daemon (nightshift serve: command, claude_code, codex, gemini, builtin)"],
            "config": ["type": ["object", "null"], "description": "The runner's config; an unknown key or a wrong type is refused, naming it"],
            "concurrency": ["type": ["integer", "null"], "minimum": 1],
            "timeout": ["type": ["number", "null"], "exclusiveMinimum": 0],
            "stall_timeout": [
                "type": ["number", "null"], "exclusiveMinimum": 0,
                "description": "Seconds a run may go without an event before it is stopped as stalled and retried, resuming its session",
            ],
            "max_attempts": ["type": ["integer", "null"], "minimum": 1],
            "initial_backoff": ["type": ["number", "null"], "minimum": 0],
            "max_backoff": ["type": ["number", "null"], "minimum": 0, "description": "At least initial_backoff"],
            "budget_usd": ["type": ["number", "null"], "exclusiveMinimum": 0],
            "inject_memories": ["type": ["boolean", "null"]],
            "ask": askInput,
            "rate": [
                "type": ["string", "null"], "pattern": "^[0-9]+/[0-9.]*[smhd]$",
                "description": "At most N runs start per window, across all nodes: \"N/window\" with N ≥ 1 and a window > 0 in s, m, h or d (\"30/1h\"); otherwise 422 naming rate",
            ],
            "quota_group": [
                "type": ["string", "null"], "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                "description": "The agents sharing a provider quota: a usage limit met by one parks them all (default: the agent's name)",
            ],
            "park_on_limit": [
                "type": ["boolean", "null"],
                "description": "Whether a provider's usage limit parks the quota group until the reset (default true); false: the run fails, retried no sooner than the reset",
            ],
        ].merging(isolationInput) { first, _ in first }, required: nameRequired ? ["name", "runner"] : ["runner"])
    }

    /// An execution policy (docs/sandbox.md), read by the core's parser, which names a bad key
    /// (`policy.memory`) in its 422.
    static func policy(_ description: String) -> JSONValue {
        [
            "type": ["object", "null"],
            "description": .string(description + """
                . Keys (each optional): security (deny, allowlist, full), allow (tool rules), workspace (none, ro, rw), \
                network (boolean), hosts (host names), sandbox (none, bubblewrap), memory ("512M", "2G" or bytes, at least 1M), \
                cpu_seconds, max_processes (integers ≥ 1), max_output_bytes (a size); see docs/sandbox.md
                """),
        ]
    }

    /// An agent's isolation settings as the API answers them (docs/sandbox.md, docs/worktrees.md).
    private static let isolationOutput: [String: JSONValue] = [
        "policy": policy("What its processes may do"),
        "setup": ["type": ["object", "null"], "description": "The command run before each run: command, timeout (seconds), policy"],
        "repo": ["type": ["string", "null"]],
        "base": ["type": ["string", "null"]],
        "keep_worktree": ["type": ["boolean", "null"]],
        "repo_concurrency": ["type": ["integer", "null"]],
        "spare_worktrees": ["type": ["integer", "null"]],
        "secrets": ["type": ["object", "null"], "description": "Where each secret comes from (never its value)"],
        "env_file": ["type": ["string", "null"]],
        "env_file_phases": ["type": ["array", "null"], "items": ["type": "string"]],
        "artifacts": ["type": ["array", "null"], "items": ["type": "string"]],
    ]

    /// An agent's isolation settings in a request body; a bad one is refused with 422 naming it.
    private static let isolationInput: [String: JSONValue] = [
        "policy": policy("What its processes may do"),
        "setup": [
            "type": ["object", "null"],
            "description": "A command run before each run in the same workspace and sandbox: command (a non-empty array of strings), timeout (seconds or a duration such as \"10m\"), policy (over the agent's); a bad one: 422 naming setup.KEY",
        ],
        "repo": ["type": ["string", "null"], "description": "A git repository (absolute path) each task gets a worktree of; not one: 422 naming repo"],
        "base": ["type": ["string", "null"]],
        "keep_worktree": ["type": ["boolean", "null"]],
        "repo_concurrency": ["type": ["integer", "null"], "minimum": 1],
        "spare_worktrees": ["type": ["integer", "null"], "minimum": 0, "maximum": 16, "description": "Worktrees kept checked out at the base for the next tasks (default 1)"],
        "secrets": [
            "type": ["object", "null"],
            "additionalProperties": [
                "type": "object", "additionalProperties": false,
                "properties": ["env": ["type": "string"], "file": ["type": "string"], "phases": ["type": "array", "items": ["type": "string", "enum": ["setup", "agent"]]]],
            ],
        ],
        "env_file": ["type": ["string", "null"]],
        "env_file_phases": ["type": ["array", "null"], "items": ["type": "string", "enum": ["setup", "agent"]]],
        "artifacts": ["type": ["array", "null"], "items": ["type": "string", "minLength": 1]],
    ]
}
