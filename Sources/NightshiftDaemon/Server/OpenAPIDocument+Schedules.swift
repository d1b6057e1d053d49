import Nightshift

/// The schedule routes of the OpenAPI document.
extension OpenAPIDocument {
    private static let scheduleKey = parameter("id", in: "path", "string", "Schedule id (UUIDv7) or name (percent-encoded)")
    private static let scheduleFailures = [v1Failures, pathFailures("schedule")]
    private static let nameTaken: Failures = ["409": "The workspace has a schedule of that name (`conflict`, field `name`)"]
    private static let invalidSchedule: Failures = [
        "422": """
            A member is invalid (`invalid_input`, `field` names it): `cron` (with the bad token's position), `timezone` \
            (not an IANA zone), `task.prompt`, `ends_at` (not after `starts_at`), …
            """,
    ]

    /// The paths of the schedule routes.
    static let schedulePaths: [String: [String: JSONValue]] = [
        "/v1/schedules": [
            "get": operation("Schedules, by name then id", ["200": answer("Schedules", "ScheduleList")], failures: [v1Failures]),
            "post": operation(
                "Create a schedule: a task submitted at each time a cron expression (on a zone's wall clock) or an interval names",
                ["201": answer("Created", "Schedule")], failures: [v1Failures, nameTaken, invalidSchedule], body: "ScheduleWrite"),
        ],
        "/v1/schedules/{id}": [
            "get": operation("A schedule", ["200": answer("The schedule", "Schedule")], failures: scheduleFailures, parameters: [scheduleKey]),
            "put": operation(
                "Replace a schedule (its id, source and history stay; a missing name keeps its name); its next fire time is computed again",
                ["200": answer("The schedule", "Schedule")], failures: scheduleFailures + [nameTaken, invalidSchedule],
                parameters: [scheduleKey], body: "ScheduleWrite"),
            "delete": operation(
                "Delete a schedule (its tasks stay)", ["204": answer("Deleted", nil)], failures: scheduleFailures, parameters: [scheduleKey]),
        ],
        "/v1/schedules/{id}/pause": [
            "post": operation(
                "Pause a schedule: it fires no more until resumed", ["200": answer("The schedule", "Schedule")], failures: scheduleFailures,
                parameters: [scheduleKey]),
        ],
        "/v1/schedules/{id}/resume": [
            "post": operation(
                "Resume a schedule: its next fire time is the first after now", ["200": answer("The schedule", "Schedule")],
                failures: scheduleFailures, parameters: [scheduleKey]),
        ],
        "/v1/schedules/{id}/trigger": [
            "post": operation(
                "Submit the schedule's task now (its next fire time does not move)", [
                    "201": answer("Submitted", "Task"),
                    "200": answer("The task a trigger with the same Idempotency-Key submitted", "Task"),
                ],
                failures: scheduleFailures + [
                    ["400": "Two Idempotency-Key headers (`invalid_input`)"],
                    ["402": "The agent's budget is spent (`budget_exceeded`)", "429": "The queue is full: [server] max_queue_depth (`queue_full`)"],
                    ["422": "The task is refused: e.g. its agent does not exist (`invalid_input`, naming the field)"],
                ],
                parameters: [
                    scheduleKey,
                    parameter(
                        "Idempotency-Key", in: "header", ["type": "string", "minLength": 1, "maxLength": 255],
                        "Returns the task of the first trigger with this key when repeated"),
                ]),
        ],
    ]

    /// A time in a request body: RFC 3339 (the server also takes seconds since 1970).
    private static let scheduleTime: JSONValue = ["type": ["string", "null"], "format": "date-time"]

    /// The members of a task template as answered.
    private static let templateMembers: [String: String] = [
        "agent": "string", "prompt": "string", "payload": "object", "priority": "integer|null", "lane": "string|null",
        "labels": "strings", "budget_usd": "number|null", "timeout": "number|null", "max_attempts": "integer|null",
        "ask": "string|null",
    ]

    /// The schemas of the schedule routes.
    static let scheduleSchemas: [String: JSONValue] = [
        "Schedule": shape([
            "id": "string", "workspace_id": "string", "name": "string|null", "cron": "string", "timezone": "string",
            "starts_at": "time?", "ends_at": "time?", "paused": "boolean", "next_run_at": "time?", "last_run_at": "time?",
            "last_task_id": "string|null", "last_error": "string|null", "created_at": "time", "updated_at": "time",
        ], [
            "task": shape(templateMembers),
            "missed": ["type": "string", "enum": .array(MissedRunPolicy.allCases.map { .string($0.rawValue) })],
            "overlap": ["type": "string", "enum": .array(OverlapPolicy.allCases.map { .string($0.rawValue) })],
            "source": ["type": "string", "enum": ["api", "config"], "description": "api, or config (nightshift.toml, reconciled at start)"],
        ]),
        "ScheduleList": list("schedules", of: "Schedule"),
        "ScheduleWrite": input([
            "name": [
                "type": ["string", "null"], "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                "description": .string("Unique in the workspace: \(TextRules.agentNameRule)"),
            ],
            "cron": [
                "type": "string", "minLength": 1,
                "description": "Five fields (minute hour day-of-month month day-of-week), a macro (@hourly, @daily, @weekly, @monthly, @yearly) or @every DURATION (at least 1s)",
            ],
            "timezone": ["type": ["string", "null"], "description": "An IANA time zone (default UTC)"],
            "task": input([
                "agent": identifier(maxBytes: 128),
                "prompt": ["type": "string", "pattern": "\\S", "description": "Not only whitespace; at most 1 MiB of UTF-8"],
                "payload": ["type": ["object", "null"]],
                "priority": ["type": ["integer", "null"], "minimum": 0],
                "lane": nullable(identifier(maxBytes: 128)),
                "labels": ["type": ["array", "null"], "items": identifier(maxBytes: 128)],
                "budget_usd": ["type": ["number", "null"], "exclusiveMinimum": 0],
                "timeout": ["type": ["number", "null"], "exclusiveMinimum": 0],
                "max_attempts": ["type": ["integer", "null"], "minimum": 1],
                "ask": askInput,
            ], required: ["agent", "prompt"]),
            "starts_at": scheduleTime,
            "ends_at": scheduleTime,
            "missed": [
                "type": ["string", "null"], "enum": .array(MissedRunPolicy.allCases.map { .string($0.rawValue) } + [.null]),
                "description": "After downtime: skip (default) the missed times, or fire once for them",
            ],
            "overlap": [
                "type": ["string", "null"], "enum": .array(OverlapPolicy.allCases.map { .string($0.rawValue) } + [.null]),
                "description": "While its previous task is live: allow (default) another, or skip the time",
            ],
            "paused": ["type": ["boolean", "null"]],
        ], required: ["cron", "task"]),
    ]
}
