import Foundation

/// What a webhook is made of: where the hook events of a workspace are POSTed, which of them, with
/// which secret, and how failed deliveries are retried.
public struct NewWebhook: Sendable, Hashable {
    /// Its workspace: it delivers that workspace's events.
    public var workspaceID: String
    /// Its name, unique in the workspace (``TextRules/agentNameRule``).
    public var name: String
    /// The receiver: an `http` or `https` URL.
    public var url: String
    /// The event types delivered: exact types, or prefixes ending in `*` (`task.*`); empty: all.
    public var events: [String]
    /// The HMAC-SHA256 key of each delivery's signature.
    public var secret: String
    /// A disabled webhook keeps its position and delivers nothing.
    public var enabled: Bool
    /// How failed deliveries are retried: attempts per event (then it is dead-lettered), and the
    /// backoff between them.
    public var retry: RetryPolicy
    /// How long a receiver has to answer, in seconds.
    public var timeout: Double
    /// A channel binding's channel: it is told about the tasks whose origin names this channel
    /// (and that did not opt out), as notifications in `format`; `events` are then notification
    /// kinds (``NotificationKind``). `nil`: a plain webhook of hook events.
    public var channel: String?
    /// How deliveries are written: `event` for a plain webhook, `json` or `slack` for a channel.
    public var format: WebhookFormat

    /// The default retry: 8 attempts per event, backoff from 1 s up to 10 minutes.
    public static let defaultRetry = RetryPolicy(maxAttempts: 8, initialBackoff: 1, maxBackoff: 600)

    /// Creates a webhook value.
    public init(
        workspaceID: String = Workspace.defaultID, name: String, url: String, events: [String] = [], secret: String, enabled: Bool = true,
        retry: RetryPolicy = NewWebhook.defaultRetry, timeout: Double = 10, channel: String? = nil, format: WebhookFormat = .event
    ) {
        self.channel = channel
        self.format = format
        self.workspaceID = workspaceID
        self.name = name
        self.url = url
        self.events = events
        self.secret = secret
        self.enabled = enabled
        self.retry = retry
        self.timeout = timeout
    }

    /// Checks every field; the error names the first bad one (`name`, `url`, `events[i]`, `secret`,
    /// `max_attempts`, `initial_backoff`, `max_backoff`, `timeout`).
    public func validate() throws(NightshiftError) {
        guard TextRules.isAgentName(name) else { throw .invalid("name", "expected a webhook name (\(TextRules.agentNameRule)), got '\(name)'") }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty
        else { throw .invalid("url", "expected an http:// or https:// URL with a host, got '\(url)'") }
        if let channel {
            guard !channel.isEmpty, channel.utf8.count <= 255 else { throw .invalid("channel", "expected 1 to 255 bytes") }
            try TextRules.checkIdentifier(channel, field: "channel")
            guard format != .event else { throw .invalid("format", "expected json or slack for a channel, got event") }
            for (index, kind) in events.enumerated() where NotificationKind(rawValue: kind) == nil {
                throw .invalid("events[\(index)]", "expected one of \(NotificationKind.allCases.map(\.rawValue).joined(separator: ", ")), got '\(kind)'")
            }
        } else if format != .event {
            throw .invalid("format", "expected event for a webhook without a channel (json and slack write notifications to a channel)")
        }
        for (index, pattern) in events.enumerated() where channel == nil {
            let stem = pattern.hasSuffix("*") ? String(pattern.dropLast()) : pattern
            let valid = !pattern.isEmpty && pattern.count <= 64
                && stem.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_-.:".unicodeScalars.contains($0) }
            guard valid else {
                throw .invalid("events[\(index)]", "expected an event type (task.done, feature_review_ready) or a prefix ending in * (task.*), got '\(pattern)'")
            }
        }
        guard !secret.isEmpty, secret.utf8.count <= 256 else { throw .invalid("secret", "expected 1 to 256 bytes") }
        try TextRules.checkIdentifier(secret, field: "secret")
        try retry.validate()
        guard timeout > 0, timeout <= 300 else { throw .invalid("timeout", "expected a number of seconds above 0 and at most 300, got \(timeout)") }
    }

    /// Whether a channel binding is told about `kind`.
    public func tells(_ kind: NotificationKind) -> Bool {
        events.isEmpty || events.contains(kind.rawValue)
    }

    /// Whether events of `type` are delivered.
    public func delivers(_ type: String) -> Bool {
        events.isEmpty || events.contains { $0.hasSuffix("*") ? type.hasPrefix($0.dropLast()) : type == $0 }
    }
}

/// A webhook as stored: its spec and where its delivery stands.
public struct Webhook: Sendable, Hashable {
    /// What it is.
    public var spec: NewWebhook
    /// The seq of the last event it is done with (delivered, dead-lettered or not for it).
    public var cursor: Int64
    /// Failed attempts at the event after the cursor so far.
    public var attempts: Int
    /// When the next attempt at that event is due (`nil`: now).
    public var nextAttemptAt: Date?
    /// The last failure's words, until a delivery succeeds.
    public var lastError: String?
    /// Events delivered, in all.
    public var delivered: Int64
    /// Events dead-lettered, in all.
    public var dead: Int64
    /// `api` or `config` (declared in nightshift.toml, reconciled at start).
    public var source: String
    /// When it was made.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date

    /// Creates a stored webhook value.
    public init(
        spec: NewWebhook, cursor: Int64, attempts: Int = 0, nextAttemptAt: Date? = nil, lastError: String? = nil, delivered: Int64 = 0,
        dead: Int64 = 0, source: String, createdAt: Date, updatedAt: Date
    ) {
        self.spec = spec
        self.cursor = cursor
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.delivered = delivered
        self.dead = dead
        self.source = source
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One attempt at delivering an event to a webhook, as its delivery log keeps it.
public struct WebhookDelivery: Sendable, Hashable {
    /// What came of it.
    public enum Outcome: String, Sendable, Hashable, CaseIterable {
        /// The receiver answered 2xx.
        case delivered
        /// It failed and will be tried again.
        case failed
        /// It failed for the last time (or the receiver refused it for good): dead-lettered.
        case dead
    }

    /// The delivery id, the same for every attempt at the same event (a receiver dedups on it).
    public var id: String
    /// The webhook's name.
    public var webhook: String
    /// The event's seq.
    public var seq: Int64
    /// The event's type.
    public var eventType: String
    /// Which attempt at the event this was (1-based); a redelivery counts on.
    public var attempt: Int
    /// What came of it.
    public var outcome: Outcome
    /// The receiver's HTTP status, if it answered.
    public var httpStatus: Int?
    /// What went wrong, if it failed.
    public var error: String?
    /// How long it took, in seconds.
    public var duration: Double
    /// When it was made.
    public var time: Date

    /// Creates a delivery record.
    public init(
        id: String, webhook: String, seq: Int64, eventType: String, attempt: Int, outcome: Outcome, httpStatus: Int?, error: String?,
        duration: Double, time: Date
    ) {
        self.id = id
        self.webhook = webhook
        self.seq = seq
        self.eventType = eventType
        self.attempt = attempt
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.error = error
        self.duration = duration
        self.time = time
    }

    /// The delivery id of `seq` for webhook `name` of `workspace`: stable across attempts.
    public static func id(workspace: String, webhook name: String, seq: Int64) -> String {
        "\(workspace):\(name):\(seq)"
    }
}

/// What a receiver did with a delivery, as the sender saw it.
public enum WebhookResponse: Sendable, Hashable {
    /// It answered with this HTTP status (and `Retry-After`, in seconds, if it said).
    case status(Int, retryAfter: Double?)
    /// No answer: the connection failed or the timeout passed.
    case failed(String)
}

/// A delivery to send: the request a ``WebhookSender`` makes.
public struct WebhookRequest: Sendable, Hashable {
    /// The receiver.
    public var url: String
    /// The signing key.
    public var secret: String
    /// The body: the hook event as JSON.
    public var body: String
    /// The delivery id (``WebhookDelivery/id(workspace:webhook:seq:)``).
    public var deliveryID: String
    /// The event's type.
    public var eventType: String
    /// How long the receiver has, in seconds.
    public var timeout: Double
    /// When it is sent (what the signature's timestamp says).
    public var time: Date
    /// The W3C `traceparent` of the delivery's span, sent as the `traceparent` header when the
    /// engine traces.
    public var traceParent: String?

    /// Creates a request value.
    public init(url: String, secret: String, body: String, deliveryID: String, eventType: String, timeout: Double, time: Date) {
        self.url = url
        self.secret = secret
        self.body = body
        self.deliveryID = deliveryID
        self.eventType = eventType
        self.timeout = timeout
        self.time = time
    }
}

/// Sends webhook deliveries (the daemon's: HTTP with AsyncHTTPClient, HMAC-signed).
public protocol WebhookSender: Sendable {
    /// Sends `request` and says what the receiver did.
    func send(_ request: WebhookRequest) async -> WebhookResponse

    /// Where the engine runs its webhook workers (`nil`: the global executor, with the queue's
    /// own work). Delivery is background work: a sender can give it a thread of lower priority,
    /// so that on a busy machine the queue keeps its rate and webhooks lag instead.
    var executor: (any TaskExecutor)? { get }
}

extension WebhookSender {
    /// The global executor.
    public var executor: (any TaskExecutor)? { nil }
}

/// What one attempt at a webhook's head event leads to: pure, tested without a network.
public struct WebhookAttemptPlan: Sendable, Hashable {
    /// The delivery log's record.
    public var delivery: WebhookDelivery
    /// The webhook's new cursor (the event's seq once it is done with it), else unchanged.
    public var cursor: Int64?
    /// Failed attempts at the head event after this one.
    public var attempts: Int
    /// When to try the head event again (`nil`: it is done).
    public var nextAttemptAt: Date?

    /// The plan after `response` to the delivery of `event` by `webhook` (whose `attempts` so far
    /// the record counts on from). 2xx delivers; a network failure, 408, 429 and 5xx are retried
    /// after the backoff (or the receiver's `Retry-After`, at most an hour) until the
    /// webhook's attempts are spent; any other status is refused for good. Both end dead-lettered.
    public init(webhook: Webhook, event: HookEvent, response: WebhookResponse, duration: Double, now: Date, random: Double) {
        let attempt = webhook.attempts + 1
        let status: Int?
        let error: String?
        let retryable: Bool
        var retryAfter: Double?
        switch response {
        case .status(let code, let after):
            status = code
            error = (200..<300).contains(code) ? nil : "the receiver answered \(code)"
            retryable = code == 408 || code == 429 || code >= 500
            retryAfter = after
        case .failed(let reason):
            (status, error, retryable) = (nil, reason, true)
        }
        let outcome: WebhookDelivery.Outcome = error == nil ? .delivered : retryable && attempt < webhook.spec.retry.maxAttempts ? .failed : .dead
        delivery = WebhookDelivery(
            id: WebhookDelivery.id(workspace: webhook.spec.workspaceID, webhook: webhook.spec.name, seq: event.seq), webhook: webhook.spec.name,
            seq: event.seq, eventType: event.type, attempt: attempt, outcome: outcome, httpStatus: status, error: error, duration: duration, time: now)
        if outcome == .failed {
            let backoff = webhook.spec.retry.delay(afterFailure: attempt, random: random)
            // The receiver's own word wins over the backoff (at most an hour, or the backoff's cap if longer).
            let wait = retryAfter.map { min(max($0, 0), max(3_600, webhook.spec.retry.maxBackoff)) } ?? backoff
            (cursor, attempts, nextAttemptAt) = (nil, attempt, now.addingTimeInterval(wait))
        } else {
            (cursor, attempts, nextAttemptAt) = (event.seq, 0, nil)
        }
    }
}

/// What a batch of attempts and skips does to a webhook: the stores compile it.
package struct WebhookMove: Sendable {
    /// The new cursor (the furthest event done with), `nil` to keep it.
    package var cursor: Int64?
    /// The last attempt: its attempts, next time and error become the webhook's.
    package var last: WebhookAttemptPlan?
    /// Events delivered.
    package var delivered: Int
    /// Events dead-lettered.
    package var dead: Int

    /// The move of `plans` (in order) and a skip through `skippedThrough`.
    package init(_ plans: [WebhookAttemptPlan], skippedThrough: Int64?) {
        cursor = (plans.compactMap(\.cursor) + [skippedThrough].compactMap { $0 }).max()
        last = plans.last
        delivered = plans.count { $0.delivery.outcome == .delivered }
        dead = plans.count { $0.delivery.outcome == .dead }
    }
}

extension HookEvent {
    /// The event as a webhook's body (and the API's hook event): `seq`, `time`, `task_id`,
    /// `type`, `data`.
    public var wireJSON: JSONValue {
        ["seq": .int(seq), "time": JSONTime.json(time), "task_id": .string(taskID.rawValue), "type": .string(type), "data": data]
    }
}

extension NightshiftError {
    /// No webhook of this name in the workspace.
    public static func webhookNotFound(_ name: String) -> NightshiftError {
        NightshiftError(.notFound, "no webhook '\(name)'", field: "name")
    }

    /// The workspace has a webhook of this name already.
    public static func webhookNameTaken(_ name: String) -> NightshiftError {
        NightshiftError(.conflict, "a webhook named '\(name)' exists already", field: "name")
    }
}
