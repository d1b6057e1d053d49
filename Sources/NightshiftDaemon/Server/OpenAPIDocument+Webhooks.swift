import Nightshift

/// The webhook routes of the OpenAPI document.
extension OpenAPIDocument {
    private static let webhookName = parameter(
        "name", in: "path", ["type": "string", "minLength": 1, "maxLength": 64], "The webhook's name: \(TextRules.agentNameRule)")
    private static let nameFailure: Failures = ["422": "The name is not a webhook name (`invalid_input`, field `name`)"]

    /// The paths of the webhook routes.
    static let webhookPaths: [String: [String: JSONValue]] = [
        "/v1/webhooks": [
            "get": operation("The workspace's webhooks by name (never their secrets)", ["200": answer("Webhooks", "WebhookList")], failures: [v1Failures]),
            "post": operation(
                "Create a webhook: it POSTs each of the workspace's hook events after now, signed, in seq order, at least once",
                ["201": answer("The webhook", "Webhook")],
                failures: [v1Failures, ["409": "The workspace has a webhook of that name (`conflict`, field `name`)"]], body: "WebhookWrite"),
        ],
        "/v1/webhooks/{name}": [
            "get": operation("A webhook and where its delivery stands", ["200": answer("The webhook", "Webhook")],
                             failures: [v1Failures, pathFailures("webhook"), nameFailure], parameters: [webhookName]),
            "put": operation(
                "Create or replace a webhook whole (its position in the stream stays)", ["200": answer("The webhook", "Webhook")],
                failures: [v1Failures, percentFailure, nameFailure], parameters: [webhookName], body: "WebhookWrite"),
            "delete": operation("Delete a webhook and its delivery log", ["204": answer("Deleted", nil)],
                                failures: [v1Failures, pathFailures("webhook"), nameFailure], parameters: [webhookName]),
        ],
        "/v1/webhooks/{name}/deliveries": [
            "get": operation(
                "The webhook's delivery log, newest first; outcome=dead lists its dead letters",
                ["200": answer("Deliveries", "WebhookDeliveryList")],
                failures: [v1Failures, pathFailures("webhook"), nameFailure, queryFailures],
                parameters: [
                    webhookName,
                    parameter("outcome", in: "query", ["type": "string", "enum": ["delivered", "failed", "dead"]], "Only attempts with this outcome"),
                    limit(maximum: 1000, default: 100),
                ]),
        ],
        "/v1/webhooks/{name}/redeliver": [
            "post": operation(
                "Send an event (a dead letter, or any the stream still holds) to the webhook again, now, once; the attempt is logged and moves nothing",
                ["200": answer("The attempt", "WebhookDelivery")],
                failures: [v1Failures, pathFailures("webhook, or no such event in the stream (field seq)"), nameFailure], parameters: [webhookName],
                body: "Redeliver"),
        ],
    ]

    /// The schemas of the webhook routes.
    static let webhookSchemas: [String: JSONValue] = [
        "Webhook": shape([
            "name": "string", "url": "string", "events": "strings", "enabled": "boolean", "max_attempts": "integer", "initial_backoff": "number",
            "max_backoff": "number", "timeout": "number", "cursor": "integer", "attempts": "integer", "next_attempt_at": "time?",
            "last_error": "string|null", "delivered": "integer", "dead": "integer", "created_at": "time", "updated_at": "time",
            "channel": "string|null",
        ], [
            "format": ["type": "string", "enum": ["event", "json", "slack"]],
            "source": ["type": "string", "enum": ["api", "config"], "description": "api, or config (nightshift.toml, reconciled at start)"]]),
        "WebhookList": list("webhooks", of: "Webhook"),
        "WebhookWrite": input([
            "name": ["type": "string", "minLength": 1, "maxLength": 64, "description": "Required on POST; on PUT, the path's"],
            "url": ["type": "string", "description": "An http:// or https:// URL"],
            "events": [
                "type": "array", "items": ["type": "string"],
                "description": "Event types (task.done) or prefixes ending in * (task.*); default all",
            ],
            "secret": ["type": "string", "minLength": 1, "description": "The HMAC-SHA256 key of X-Nightshift-Signature (1 to 256 bytes); never answered"],
            "enabled": ["type": "boolean", "description": "Default true"],
            "max_attempts": ["type": "integer", "minimum": 1, "description": "Attempts per event before it is dead-lettered; default 8"],
            "initial_backoff": ["type": "number", "minimum": 0, "description": "Seconds before the first retry; default 1"],
            "max_backoff": ["type": "number", "minimum": 0, "description": "The longest delay between attempts; default 600"],
            "timeout": ["type": "number", "exclusiveMinimum": 0, "maximum": 300, "description": "Seconds a receiver has to answer; default 10"],
            "channel": [
                "type": ["string", "null"],
                "description": "Makes it a channel binding: it tells the tasks whose origin.channel is this (started, done, failed, waiting, parked; events then lists these kinds)",
            ],
            "format": ["type": ["string", "null"], "enum": ["event", "json", "slack", nil], "description": "event (a plain webhook), or json (default) or slack for a channel"],
        ], required: ["url", "secret"]),
        "WebhookDelivery": shape([
            "id": "string", "seq": "integer", "event_type": "string", "attempt": "integer", "http_status": "integer|null",
            "error": "string|null", "duration": "number", "time": "time",
        ], ["outcome": ["type": "string", "enum": ["delivered", "failed", "dead"]]]),
        "WebhookDeliveryList": list("deliveries", of: "WebhookDelivery"),
        "Redeliver": input(["seq": ["type": "integer", "minimum": 1, "description": "The event to send again"]], required: ["seq"]),
    ]
}
