import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Synchronization
import Testing

/// Notifications to a task's origin: channel bindings told when a task of their channel starts,
/// ends, waits for a person or is parked, in JSON or as Slack messages, over real HTTP.
@Suite("Notifications to the origin", .timeLimit(.minutes(1)))
struct NotificationTests {
    /// Slack's incoming-webhook message as its reference documents it (api.slack.com/messaging/webhooks,
    /// /reference/block-kit/blocks): `text` (the fallback) and `blocks`; a `section` block's `text` is a
    /// text object (`mrkdwn` or `plain_text`); a `context` block's `elements` are text objects;
    /// `thread_ts` replies in a thread. No other member.
    static let slackMessage: JSONValue = [
        "type": "object", "required": ["text", "blocks"], "additionalProperties": false,
        "properties": [
            "text": ["type": "string"], "thread_ts": ["type": "string"],
            "blocks": ["type": "array", "items": ["oneOf": [
                [
                    "type": "object", "required": ["type", "text"], "additionalProperties": false,
                    "properties": ["type": ["const": "section"], "text": textObject, "block_id": ["type": "string"]],
                ],
                [
                    "type": "object", "required": ["type", "elements"], "additionalProperties": false,
                    "properties": ["type": ["const": "context"], "elements": ["type": "array", "items": textObject], "block_id": ["type": "string"]],
                ],
            ]]],
        ],
    ]
    static let textObject: JSONValue = [
        "type": "object", "required": ["type", "text"], "additionalProperties": false,
        "properties": ["type": ["enum": ["mrkdwn", "plain_text"]], "text": ["type": "string"], "verbatim": ["type": "boolean"]],
    ]

    /// Checks `message` against ``slackMessage`` and the documented limits: at most 50 blocks, a
    /// section's text at most 3,000 characters, a context at most 10 elements.
    static func slackViolations(_ message: JSONValue) -> [String] {
        var found = JSONSchemaValidator(document: [:]).violations(of: message, against: slackMessage)
        let blocks = message["blocks"]?.arrayValue ?? []
        if blocks.count > 50 { found.append("more than 50 blocks") }
        for block in blocks {
            if let text = block["text"]?["text"]?.stringValue, text.count > 3_000 { found.append("a section's text over 3,000 characters") }
            if (block["elements"]?.arrayValue?.count ?? 0) > 10 { found.append("a context of more than 10 elements") }
        }
        return found
    }

    static func task(_ state: TaskState, prompt: String = "Fix the flaky test\nin CI", result: String? = nil, error: String? = nil) -> AgentTask {
        AgentTask(
            id: TaskID("0193a1b2-0000-7000-8000-000000000001")!, workspaceID: Workspace.defaultID, agent: "claude", prompt: prompt,
            payload: .object([:]), priority: 10, lane: nil, labels: [], origin: Origin(channel: "ops", session: "C123", thread: "1717.42"),
            idempotencyKey: nil, dedupKey: nil, budgetUSD: nil, timeout: nil, retry: RetryPolicy(), availableAt: Date(), state: state,
            attempt: 1, failures: 0, createdAt: Date(), updatedAt: Date(), finishedAt: nil, result: result, error: error, costUSD: 0.125)
    }

    @Test("a notification's kinds, title, excerpt and link; its Slack message is Slack's documented shape, escaped, in the origin's thread")
    func rendering() throws {
        let done = TaskNotification(
            kind: .done, task: Self.task(.done, result: "Fixed <flaky> & green"), time: Date(), publicURL: "https://ns.example.com/")
        #expect(done.title == "Fix the flaky test")
        #expect(done.url == "https://ns.example.com/tasks/0193a1b2-0000-7000-8000-000000000001")
        #expect(done.json["kind"] == "done" && done.json["excerpt"] == "Fixed <flaky> & green" && done.json["cost_usd"] == 0.125)
        #expect(done.json["origin"] == ["channel": "ops", "session": "C123", "thread": "1717.42"])
        let slack = done.slack
        #expect(Self.slackViolations(slack).isEmpty, "\(Self.slackViolations(slack))")
        #expect(slack["thread_ts"] == "1717.42")
        let section = try #require(slack["blocks"]?.arrayValue?.first?["text"]?["text"]?.stringValue)
        #expect(section.contains("<https://ns.example.com/tasks/0193a1b2-0000-7000-8000-000000000001|Fix the flaky test>"))
        #expect(section.contains("> Fixed &lt;flaky&gt; &amp; green"), "\(section)")
        // A long error is cut; without a public URL there is no link.
        let failed = TaskNotification(kind: .failed, task: Self.task(.error, error: String(repeating: "x", count: 5_000)), time: Date(), publicURL: nil)
        #expect(failed.url == nil && failed.excerpt?.count == TaskNotification.excerptLength)
        #expect(Self.slackViolations(failed.slack).isEmpty)
        let long = TaskNotification(kind: .started, task: Self.task(.running, prompt: String(repeating: "y", count: 300)), time: Date(), publicURL: nil)
        #expect(long.title.count == 80 && long.excerpt == nil)
        // Which events tell what.
        let event = { (type: String, data: JSONValue) in
            HookEvent(seq: 1, time: Date(), taskID: TaskID("0193a1b2-0000-7000-8000-000000000001")!, type: type, data: data)
        }
        #expect(NotificationKind.of(event("task.started", [:]), task: Self.task(.running)) == .started)
        #expect(NotificationKind.of(event("task.error", [:]), task: Self.task(.error)) == .failed)
        #expect(NotificationKind.of(event("task.queued", ["resolution": "parked"]), task: Self.task(.queued)) == .parked)
        #expect(NotificationKind.of(event("task.queued", ["resolution": "failed"]), task: Self.task(.queued)) == nil, "a retry tells nothing")
        var waiting = Self.task(.waiting)
        waiting.waitingFor = WaitingFor(kind: .input, question: "Which branch?")
        #expect(NotificationKind.of(event("task.waiting", [:]), task: waiting) == .waiting)
        waiting.waitingFor = WaitingFor(kind: .wake)
        #expect(NotificationKind.of(event("task.waiting", [:]), task: waiting) == nil, "a wake time needs nobody")
    }

    @Test("a channel binding is told of its own channel's tasks only (not another channel's, not one that opted out), in JSON and as Slack messages")
    func channelDelivery() async throws {
        let json = WebhookReceiver(secret: "s")
        let slack = WebhookReceiver(secret: "t")
        try await json.serving { jsonURL in
            try await slack.serving { slackURL in
                try await APIHarness.with(handlers: APIServerTests.handlers.merging(["ask": { _, _ in .waitingForInput("Which branch?") }]) { a, _ in a }) { api in
                    let created = try await api.request(.POST, "/v1/webhooks", body: #"{"name":"ops","url":"\#(jsonURL)","secret":"s","channel":"ops"}"#)
                    #expect(created.status == 201 && created.json?["format"] == "json" && created.json?["channel"] == "ops", "\(created.body)")
                    _ = try await api.request(.POST, "/v1/webhooks", body: #"{"name":"ops-slack","url":"\#(slackURL)","secret":"t","channel":"ops","format":"slack","events":["done","failed"]}"#)
                    var ids: [String: String] = [:]
                    for (name, body) in [
                        ("done", #"{"agent":"echo","prompt":"ship it","origin":{"channel":"ops","session":"C1","thread":"99.1"}}"#),
                        ("failed", #"{"agent":"fail","prompt":"break it","origin":{"channel":"ops"}}"#),
                        ("waiting", #"{"agent":"ask","prompt":"ask me","origin":{"channel":"ops"}}"#),
                        ("quiet", #"{"agent":"echo","prompt":"hush","origin":{"channel":"ops"},"notify":false}"#),
                        ("other", #"{"agent":"echo","prompt":"elsewhere","origin":{"channel":"dev"}}"#),
                    ] {
                        let answer = try await api.request(.POST, "/v1/tasks", body: body)
                        #expect(answer.status == 201, "\(answer.body)")
                        ids[name] = answer.json?["id"]?.stringValue
                    }
                    #expect(try await api.request(.GET, "/v1/tasks/\(ids["quiet"]!)").json?["origin"]?["notify"] == false)
                    #expect(try await eventually { json.accepted.count >= 5 && slack.accepted.count >= 2 })
                    #expect(try await eventually {
                        guard try await api.request(.GET, "/v1/tasks/\(ids["other"]!)").json?["state"] == "done" else { return false }
                        let last = try await api.store.lastHookSeq()
                        return try await api.request(.GET, "/v1/webhooks/ops").json?["cursor"] == .int(last)
                    }, "the channel has looked at every event")
                    let told = json.accepted.map { [$0.body["kind"]?.stringValue ?? "", $0.body["task_id"]?.stringValue ?? ""] }
                    #expect(Set(told) == [
                        ["started", ids["done"]!], ["done", ids["done"]!], ["started", ids["failed"]!], ["failed", ids["failed"]!],
                        ["started", ids["waiting"]!], ["waiting", ids["waiting"]!],
                    ], "\(told)")
                    let done = try #require(json.accepted.first { $0.body["kind"] == "done" }?.body)
                    #expect(done["title"] == "ship it" && done["excerpt"] == "echo: ship it" && done["origin"]?["thread"] == "99.1")
                    #expect(json.accepted.first { $0.body["kind"] == "waiting" }?.body["excerpt"] == "Which branch?")
                    #expect(json.received.allSatisfy { $0.signed })
                    #expect(Set(slack.accepted.compactMap { $0.body["text"]?.stringValue }) == ["✅ Done: ship it", "❌ Failed: break it"])
                    for message in slack.accepted { #expect(Self.slackViolations(message.body).isEmpty, "\(message.body)") }
                    #expect(slack.accepted.first { $0.body["text"] == "✅ Done: ship it" }?.body["thread_ts"] == "99.1")
                    // Bad bindings name the field.
                    for (body, field) in [
                        (#"{"name":"x","url":"http://127.0.0.1:9/h","secret":"s","channel":"ops","events":["task.done"]}"#, "events[0]"),
                        (#"{"name":"x","url":"http://127.0.0.1:9/h","secret":"s","format":"slack"}"#, "format"),
                        (#"{"name":"x","url":"http://127.0.0.1:9/h","secret":"s","channel":"ops","format":"event"}"#, "format"),
                        (#"{"name":"x","url":"http://127.0.0.1:9/h","secret":"s","channel":"ops","format":"xml"}"#, "format"),
                    ] {
                        let refused = try await api.request(.POST, "/v1/webhooks", body: body)
                        #expect(refused.status == 422 && refused.json?["error"]?["field"] == .string(field), "\(body): \(refused.body)")
                    }
                    let orphan = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"x","notify":false}"#)
                    #expect(orphan.status == 422 && orphan.json?["error"]?["field"] == "notify")
                }
            }
        }
    }
}
