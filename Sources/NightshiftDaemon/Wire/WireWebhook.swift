import Foundation
import Nightshift

/// A webhook as the API answers it (never its secret).
public struct WireWebhook: WireValue, Hashable {
    /// Its name.
    public var name: String
    /// The receiver.
    public var url: String
    /// The event types delivered (exact, or prefixes ending in `*`); empty: all.
    public var events: [String]
    /// Whether it delivers.
    public var enabled: Bool
    /// Attempts per event before it is dead-lettered.
    public var maxAttempts: Int
    /// The first retry's delay, in seconds.
    public var initialBackoff: Double
    /// The longest delay between attempts, in seconds.
    public var maxBackoff: Double
    /// How long a receiver has to answer, in seconds.
    public var timeout: Double
    /// The seq of the last event it is done with.
    public var cursor: Int64
    /// Failed attempts at the next event so far.
    public var attempts: Int
    /// When the next attempt is due, if one failed.
    public var nextAttemptAt: Date?
    /// The last failure, until a delivery succeeds.
    public var lastError: String?
    /// Events delivered.
    public var delivered: Int64
    /// Events dead-lettered.
    public var dead: Int64
    /// `api` or `config`.
    public var source: String
    /// A channel binding's channel (`nil`: a plain webhook).
    public var channel: String?
    /// `event`, or for a channel `json` or `slack`.
    public var format: String
    /// When it was made.
    public var createdAt: Date
    /// When it last changed.
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case name, url, events, enabled, timeout, cursor, attempts, delivered, dead, source, channel, format
        case maxAttempts = "max_attempts", initialBackoff = "initial_backoff", maxBackoff = "max_backoff", nextAttemptAt = "next_attempt_at"
        case lastError = "last_error", createdAt = "created_at", updatedAt = "updated_at"
    }

    /// The wire form of `webhook`.
    public init(_ webhook: Webhook) {
        name = webhook.spec.name
        url = webhook.spec.url
        events = webhook.spec.events
        enabled = webhook.spec.enabled
        maxAttempts = webhook.spec.retry.maxAttempts
        initialBackoff = webhook.spec.retry.initialBackoff
        maxBackoff = webhook.spec.retry.maxBackoff
        timeout = webhook.spec.timeout
        cursor = webhook.cursor
        attempts = webhook.attempts
        nextAttemptAt = webhook.nextAttemptAt
        lastError = webhook.lastError
        delivered = webhook.delivered
        dead = webhook.dead
        source = webhook.source
        channel = webhook.spec.channel
        format = webhook.spec.format.rawValue
        createdAt = webhook.createdAt
        updatedAt = webhook.updatedAt
    }
}

/// The answer of `GET /v1/webhooks`.
public struct WireWebhookList: WireValue, Hashable {
    /// The workspace's webhooks, by name.
    public var webhooks: [WireWebhook]

    /// A list of `webhooks`.
    public init(webhooks: [WireWebhook]) {
        self.webhooks = webhooks
    }
}

/// The body of `POST /v1/webhooks` and `PUT /v1/webhooks/{name}`; nil members take the defaults.
public struct WireWebhookWrite: WireRequest, Hashable {
    /// Its name (POST; a PUT's is the path's).
    public var name: String?
    /// The receiver: an http(s) URL.
    public var url: String
    /// The event types delivered (exact, or prefixes ending in `*`); default all.
    public var events: [String]?
    /// The signing key.
    public var secret: String
    /// Whether it delivers (default true).
    public var enabled: Bool?
    /// Attempts per event (default 8).
    public var maxAttempts: Int?
    /// The first retry's delay in seconds (default 1).
    public var initialBackoff: Double?
    /// The longest delay in seconds (default 600).
    public var maxBackoff: Double?
    /// How long a receiver has, in seconds (default 10).
    public var timeout: Double?
    /// Makes it a channel binding: it tells the tasks whose origin names this channel.
    public var channel: String?
    /// `event` (default), or for a channel `json` (default) or `slack`.
    public var format: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, url, events, secret, enabled, timeout, channel, format
        case maxAttempts = "max_attempts", initialBackoff = "initial_backoff", maxBackoff = "max_backoff"
    }

    /// A webhook write.
    public init(
        name: String? = nil, url: String, events: [String]? = nil, secret: String, enabled: Bool? = nil, maxAttempts: Int? = nil,
        initialBackoff: Double? = nil, maxBackoff: Double? = nil, timeout: Double? = nil, channel: String? = nil, format: String? = nil
    ) {
        self.channel = channel
        self.format = format
        self.name = name
        self.url = url
        self.events = events
        self.secret = secret
        self.enabled = enabled
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.timeout = timeout
    }

    /// The webhook this body describes, checked (the error names the member); `pathName` is a PUT's.
    func webhook(pathName: String? = nil) throws -> NewWebhook {
        if let pathName, let name, name != pathName {
            throw NightshiftError.invalid("name", "expected the path's name '\(pathName)' or none, got '\(name)'")
        }
        guard let name = pathName ?? name else { throw NightshiftError.invalid("name", "is required") }
        let defaults = NewWebhook.defaultRetry
        let chosen: WebhookFormat
        if let format {
            guard let value = WebhookFormat(rawValue: format) else {
                throw NightshiftError.invalid("format", "expected one of \(WebhookFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
            }
            chosen = value
        } else {
            chosen = channel == nil ? .event : .json
        }
        let webhook = NewWebhook(
            name: name, url: url, events: events ?? [], secret: secret, enabled: enabled ?? true,
            retry: RetryPolicy(
                maxAttempts: maxAttempts ?? defaults.maxAttempts, initialBackoff: initialBackoff ?? defaults.initialBackoff,
                maxBackoff: maxBackoff ?? max(defaults.maxBackoff, initialBackoff ?? 0)),
            timeout: timeout ?? 10, channel: channel, format: chosen)
        try webhook.validate()
        return webhook
    }
}

/// One attempt of a webhook's delivery log.
public struct WireWebhookDelivery: WireValue, Hashable {
    /// The delivery id (the same for every attempt at an event).
    public var id: String
    /// The event's seq.
    public var seq: Int64
    /// The event's type.
    public var eventType: String
    /// Which attempt at the event it was.
    public var attempt: Int
    /// `delivered`, `failed` (to be retried) or `dead` (dead-lettered).
    public var outcome: String
    /// The receiver's status, if it answered.
    public var httpStatus: Int?
    /// What went wrong.
    public var error: String?
    /// How long it took, in seconds.
    public var duration: Double
    /// When it was made.
    public var time: Date

    enum CodingKeys: String, CodingKey {
        case id, seq, attempt, outcome, error, duration, time
        case eventType = "event_type", httpStatus = "http_status"
    }

    /// The wire form of `delivery`.
    public init(_ delivery: WebhookDelivery) {
        id = delivery.id
        seq = delivery.seq
        eventType = delivery.eventType
        attempt = delivery.attempt
        outcome = delivery.outcome.rawValue
        httpStatus = delivery.httpStatus
        error = delivery.error
        duration = delivery.duration
        time = delivery.time
    }
}

/// The answer of `GET /v1/webhooks/{name}/deliveries`.
public struct WireWebhookDeliveryList: WireValue, Hashable {
    /// The attempts, newest first.
    public var deliveries: [WireWebhookDelivery]

    /// A list of `deliveries`.
    public init(deliveries: [WireWebhookDelivery]) {
        self.deliveries = deliveries
    }
}

/// The body of `POST /v1/webhooks/{name}/redeliver`.
public struct WireRedeliver: WireRequest, Hashable {
    /// The event to send again.
    public var seq: Int64

    enum CodingKeys: String, CodingKey, CaseIterable {
        case seq
    }

    /// A redelivery of `seq`.
    public init(seq: Int64) {
        self.seq = seq
    }
}
