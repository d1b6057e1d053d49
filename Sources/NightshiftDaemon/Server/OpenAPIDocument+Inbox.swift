import Nightshift

/// The inbox routes of the OpenAPI document: a task's inputs, and the actions that take an
/// optional body (wake with a prompt, drop and cancel with a reason).
extension OpenAPIDocument {
    private static let idempotencyKey = parameter(
        "Idempotency-Key", in: "header", ["type": "string", "minLength": 1, "maxLength": 255],
        "A repeated send with the same key answers the first input (200) and adds nothing")

    /// The paths of the inbox routes.
    static let inboxPaths: [String: [String: JSONValue]] = [
        "/v1/tasks/{id}/inputs": [
            "post": taskOperation(
                """
                Send a task a message, an answer, or an approve or reject of what it waits for. An input to a waiting \
                task wakes it (a task waiting for an approval only for an approve or reject); the next run hands it \
                to the agent by resuming its session. One to a running task is handed over when that run ends
                """,
                [
                    "201": answer("Added", "Input"),
                    "200": answer("The first input sent with this Idempotency-Key (nothing added)", "Input"),
                ],
                failures: [
                    ["400": "Two Idempotency-Key headers (`invalid_input`)"],
                    [
                        "409": """
                            The task has finished (the message names its state), or an approve or reject is sent to a task \
                            that does not wait for an approval (the message says what it waits for) (`illegal_transition`)
                            """,
                    ],
                    ["422": "An unknown kind, or a message or answer without text (`invalid_input`, field `kind` or `text`)"],
                ],
                parameters: [idempotencyKey], body: "NewInput"),
            "get": taskOperation("A task's inputs in the order they arrived, each with its delivery state", ["200": answer("Inputs", "InputList")]),
        ],
        "/v1/tasks/{id}/wake": [
            "post": taskOperation(
                "Wake a waiting task now; with a prompt, the agent continues with it (a message to its inbox, from the token)",
                ["200": answer("The task", "Task")],
                failures: [["409": "The task is not waiting (`illegal_transition`)"]], body: "Wake", bodyRequired: false),
        ],
        "/v1/tasks/{id}/drop": [
            "post": taskOperation(
                "Drop a task that is queued, waiting or paused; a reason becomes the task's error",
                ["200": answer("The task", "Task")], failures: [stateFailure], body: "Reason", bodyRequired: false),
        ],
        "/v1/tasks/{id}/cancel": [
            "post": taskOperation(
                "Cancel a task (a running agent is stopped); a reason becomes the task's error",
                ["200": answer("The task", "Task")], failures: [stateFailure], body: "Reason", bodyRequired: false),
        ],
    ]

    private static let nonEmptyText: JSONValue = ["type": ["string", "null"], "pattern": "\\S"]

    /// The schemas of the inbox routes.
    static let inboxSchemas: [String: JSONValue] = [
        "Input": shape([
            "id": "string", "task_id": "string", "text": "string|null", "sender": "string", "idempotency_key": "string|null",
            "created_at": "time", "delivered_at": "time?", "run_id": "string|null",
        ], [
            "seq": ["type": "integer", "minimum": 1],
            "kind": ["type": "string", "enum": .array(InputKind.allCases.map { .string($0.rawValue) })],
            "decisions": ["type": ["object", "array", "null"]],
            "delivery": [
                "type": "string", "enum": .array(InputDelivery.allCases.map { .string($0.rawValue) }),
                "description": "pending; delivered_live (to the running agent), delivered_resume (by resuming its session); superseded (the task ended first)",
            ],
        ]),
        "InputList": list("inputs", of: "Input"),
        "NewInput": input([
            "kind": ["type": "string", "enum": .array(InputKind.allCases.map { .string($0.rawValue) })],
            "text": [
                "type": ["string", "null"],
                "description": .string(
                    "The message or answer (required, not only whitespace), or the comment or reason of an approve or reject; at most \(NewInput.maxTextBytes / 1024) KiB"),
            ],
            "decisions": [
                "type": ["object", "array", "null"],
                "description": """
                    Per-item decisions. For a task waiting on a tool call (waiting_for.tool_use_id): on an approve,                     {"scope": "tool"} approves the call's tool for the rest of the task and {"scope": "tool", "tools":                     ["Bash(npm test:*)"]} those rules; on an answer to a question tool, {"answers": {"<question>":                     "<answer>"}} answers each question (else text answers them all). The input that wakes such a task is                     stored with the call's tool_use_id and tool added (an array goes under items)
                    """,
            ],
        ], required: ["kind"]),
        "Wake": input(["prompt": nonEmptyText], required: []),
        "Reason": input(["reason": nonEmptyText], required: []),
        "WaitingFor": shape([
            "question": "string|null", "tool": "string|null", "tool_input": "any", "wake_at": "time?", "run_id": "string|null",
        ], [
            "tool_use_id": [
                "type": ["string", "null"],
                "description": "For a tool call the agent CLI deferred (ask = on-miss): the call the next approve, reject or answer decides",
            ],
            "kind": [
                "type": "string", "enum": ["input", "approval", "wake", "children"],
                "description": "input (an answer), approval (an approve or reject), wake (a time) or children (its subtasks to end)",
            ],
            "options": ["type": ["array", "null"], "items": ["type": "string"]],
        ]),
    ]
}
