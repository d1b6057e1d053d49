import Foundation

/// What a channel is told about a task of its own.
public enum NotificationKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// Its run started.
    case started
    /// It is done.
    case done
    /// It ended in error.
    case failed
    /// It waits for a person: an answer or an approval.
    case waiting
    /// A provider's usage limit parked it until the reset.
    case parked

    /// The kind `event` tells of, for `task` (as it is now): `nil` when a channel is not told.
    public static func of(_ event: HookEvent, task: AgentTask) -> NotificationKind? {
        switch event.type {
        case HookEvent.type(for: .running): return .started
        case HookEvent.type(for: .done): return .done
        case HookEvent.type(for: .error): return .failed
        case HookEvent.type(for: .waiting):
            guard let kind = task.waitingFor?.kind, kind == .input || kind == .approval else { return nil }
            return .waiting
        case HookEvent.type(for: .queued):
            return event.data["resolution"]?.stringValue == RunResolution.parked.description ? .parked : nil
        default: return nil
        }
    }
}

/// How a webhook's deliveries are written.
public enum WebhookFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// The hook event itself (a plain webhook).
    case event
    /// A notification as JSON (``TaskNotification/json``).
    case json
    /// A notification as a Slack incoming-webhook message with Block Kit blocks.
    case slack
}

/// A notification to a task's origin: what happened, to which task, with what result, and where
/// to look at it.
public struct TaskNotification: Sendable, Hashable {
    /// What happened.
    public var kind: NotificationKind
    /// The task, as it was when the notification was made.
    public var task: AgentTask
    /// The event's time.
    public var time: Date
    /// The task's page in the dashboard (`public_url/tasks/<id>`), if the daemon has a public URL.
    public var url: String?

    /// The most characters of a result or an error a notification carries.
    public static let excerptLength = 500

    /// A notification of `kind` about `task`; `publicURL` (without a trailing `/`) makes its link.
    public init(kind: NotificationKind, task: AgentTask, time: Date, publicURL: String?) {
        self.kind = kind
        self.task = task
        self.time = time
        url = publicURL.map { ($0.hasSuffix("/") ? String($0.dropLast()) : $0) + "/tasks/" + task.id.rawValue }
    }

    /// The task's title: the first non-empty line of its prompt, at most 80 characters.
    public var title: String {
        let line = task.prompt.split(whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) }.map(String.init) ?? task.id.rawValue
        return line.count > 80 ? String(line.prefix(79)) + "…" : line
    }

    /// The end of the result (done), the error (failed) or the question (waiting), cut to
    /// ``excerptLength`` characters.
    public var excerpt: String? {
        let text: String? = switch kind {
        case .done: task.result
        case .failed, .parked: task.error
        case .waiting: task.waitingFor?.question
        case .started: nil
        }
        guard let text, !text.isEmpty else { return nil }
        return text.count > Self.excerptLength ? String(text.prefix(Self.excerptLength - 1)) + "…" : text
    }

    /// The notification as JSON: `kind`, `task_id`, `title`, `state`, `agent`, `origin`
    /// (`channel`, `session`, `thread`), `excerpt`, `cost_usd`, `url`, `time`.
    public var json: JSONValue {
        [
            "kind": .string(kind.rawValue), "task_id": .string(task.id.rawValue), "title": .string(title), "state": .string(task.state.rawValue),
            "agent": .string(task.agent),
            "origin": task.origin.map { origin in
                ["channel": .string(origin.channel), "session": origin.session.map(JSONValue.string) ?? .null,
                 "thread": origin.thread.map(JSONValue.string) ?? .null]
            } ?? .null,
            "excerpt": excerpt.map(JSONValue.string) ?? .null, "cost_usd": .double(task.costUSD), "url": url.map(JSONValue.string) ?? .null,
            "time": JSONTime.json(time),
        ]
    }

    /// The notification as a Slack incoming-webhook message: a `text` fallback, a `section`
    /// block in `mrkdwn` (what happened, the title linked to the task, the excerpt quoted) and a
    /// `context` block (agent, cost, id); in the origin's thread (`thread_ts`) when it has one.
    public var slack: JSONValue {
        let heading = switch kind {
        case .started: "▶️ Started"
        case .done: "✅ Done"
        case .failed: "❌ Failed"
        case .waiting: "✋ Waiting for you"
        case .parked: "⏸️ Parked (usage limit)"
        }
        let title = Self.escape(title)
        var text = "*\(heading)*: " + (url.map { "<\($0)|\(title)>" } ?? title)
        if let excerpt { text += "\n" + Self.escape(excerpt).split(separator: "\n", omittingEmptySubsequences: false).map { "> " + $0 }.joined(separator: "\n") }
        // A section's text is at most 3,000 characters.
        if text.count > 3_000 { text = String(text.prefix(2_999)) + "…" }
        let cost = String(format: "$%.2f", task.costUSD)
        var message: [String: JSONValue] = [
            "text": .string("\(heading): \(self.title)"),
            "blocks": [
                ["type": "section", "text": ["type": "mrkdwn", "text": .string(text)]],
                ["type": "context", "elements": [["type": "mrkdwn", "text": .string("`\(Self.escape(task.agent))` · \(cost) · task `\(task.id.rawValue)`")]]],
            ],
        ]
        if let thread = task.origin?.thread { message["thread_ts"] = .string(thread) }
        return .object(message)
    }

    /// The body of a delivery in `format` (`nil` for `.event`: the hook event itself is sent).
    public func body(_ format: WebhookFormat) -> JSONValue? {
        switch format {
        case .event: nil
        case .json: json
        case .slack: slack
        }
    }

    /// Slack's mrkdwn escapes: `&`, `<` and `>`.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
