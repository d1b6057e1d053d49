import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Creates a webhook at the stream's end (see ``WebhookStore/createWebhook(_:source:now:)``).
    public func createWebhook(_ spec: NewWebhook, source: String, now: Date) async throws -> Webhook {
        try spec.validate()
        try await sequenceHooks()
        return try await write { transaction in
            if try await transaction.webhook(spec.name, workspace: spec.workspaceID) != nil { throw NightshiftError.webhookNameTaken(spec.name) }
            try await transaction.upsert(spec, source: source, now: now)
            return try await transaction.webhook(spec.name, workspace: spec.workspaceID)!
        }
    }

    /// Creates or replaces a webhook's spec (see ``WebhookStore/saveWebhook(_:source:now:)``).
    public func saveWebhook(_ spec: NewWebhook, source: String, now: Date) async throws -> Webhook {
        try spec.validate()
        try await sequenceHooks()
        return try await write { transaction in
            try await transaction.upsert(spec, source: source, now: now)
            return try await transaction.webhook(spec.name, workspace: spec.workspaceID)!
        }
    }

    /// The webhook `name` of `workspace`.
    public func webhook(_ name: String, workspace: String) async throws -> Webhook? {
        try await autocommit { transaction in try await transaction.webhook(name, workspace: workspace) }
    }

    /// The webhooks of `workspace` (every one's for `nil`), by workspace and name.
    public func webhooks(workspace: String?) async throws -> [Webhook] {
        try await autocommit { transaction in
            var sql = SQL("SELECT * FROM webhooks WHERE true")
            sql.append(workspace: workspace)
            sql.append(" ORDER BY workspace_id, name")
            return try await transaction.rows(sql).map(Transaction.webhook)
        }
    }

    /// Deletes a webhook and its log.
    public func deleteWebhook(_ name: String, workspace: String) async throws -> Bool {
        try await write { transaction in
            var sql = SQL("DELETE FROM webhooks WHERE workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" AND name = ")
            sql.append(.text(name))
            sql.append(" RETURNING 1")
            let existed = try await !transaction.rows(sql).isEmpty
            var log = SQL("DELETE FROM webhook_deliveries WHERE workspace_id = ")
            log.append(.text(workspace))
            log.append(" AND webhook = ")
            log.append(.text(name))
            try await transaction.rows(log)
            return existed
        }
    }

    /// Takes or renews leases (see ``WebhookStore/leaseWebhooks(node:leaseDuration:now:)``).
    public func leaseWebhooks(node: String, leaseDuration: Double, now: Date) async throws -> [Webhook] {
        try await write { transaction in
            var sql = SQL("UPDATE webhooks SET lease_owner = ")
            sql.append(.text(node))
            sql.append(", lease_expires_at = ")
            sql.append(.double(now.timeIntervalSince1970 + leaseDuration))
            sql.append(" WHERE enabled AND (lease_owner IS NULL OR lease_owner = ")
            sql.append(.text(node))
            sql.append(" OR lease_expires_at < ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(") RETURNING *")
            return try await transaction.rows(sql).map(Transaction.webhook)
        }
    }

    /// Gives up `node`'s leases.
    public func releaseWebhooks(node: String) async throws {
        try await write { transaction in
            var sql = SQL("UPDATE webhooks SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ")
            sql.append(.text(node))
            try await transaction.rows(sql)
        }
    }

    /// Records attempts and skips in one write, fenced by the lease (see
    /// ``WebhookStore/recordWebhookAttempts(_:skippedThrough:webhook:workspace:node:leaseDuration:now:)``).
    public func recordWebhookAttempts(
        _ plans: [WebhookAttemptPlan], skippedThrough: Int64?, webhook name: String, workspace: String, node: String, leaseDuration: Double,
        now: Date
    ) async throws -> Bool {
        let move = WebhookMove(plans, skippedThrough: skippedThrough)
        return try await write { transaction in
            var sql = SQL("UPDATE webhooks SET cursor = GREATEST(cursor, COALESCE(")
            sql.append(.int(move.cursor.map(Int.init)))
            sql.append(", cursor)), delivered = delivered + ")
            sql.append(.int(move.delivered))
            sql.append(", dead = dead + ")
            sql.append(.int(move.dead))
            if let last = move.last {
                sql.append(", attempts = ")
                sql.append(.int(last.attempts))
                sql.append(", next_attempt_at = ")
                sql.append(.double(last.nextAttemptAt?.timeIntervalSince1970))
                sql.append(", last_error = ")
                sql.append(.text(last.delivery.error))
            }
            Transaction.fence(&sql, workspace: workspace, name: name, node: node, leaseDuration: leaseDuration, now: now)
            guard try await !transaction.rows(sql).isEmpty else { return false }
            try await transaction.insert(plans.map(\.delivery), workspace: workspace)
            return true
        }
    }

    /// Logs a redelivery.
    public func recordWebhookRedelivery(_ delivery: WebhookDelivery, workspace: String) async throws {
        try await write { transaction in try await transaction.insert([delivery], workspace: workspace) }
    }

    /// The delivery log, newest first.
    public func webhookDeliveries(_ name: String, workspace: String, outcome: WebhookDelivery.Outcome?, limit: Int) async throws -> [WebhookDelivery] {
        try await autocommit { transaction in
            var sql = SQL("SELECT * FROM webhook_deliveries WHERE workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" AND webhook = ")
            sql.append(.text(name))
            if let outcome {
                sql.append(" AND outcome = ")
                sql.append(.text(outcome.rawValue))
            }
            sql.append(" ORDER BY id DESC LIMIT ")
            sql.append(.int(limit))
            return try await transaction.rows(sql).map(Transaction.delivery)
        }
    }

    /// The workspace's hook event `seq` (numbered first).
    public func hookEvent(_ seq: Int64, workspace: String) async throws -> HookEvent? {
        try await sequenceHooks()
        return try await autocommit { transaction in
            var sql = SQL("SELECT * FROM hook_events WHERE seq = ")
            sql.append(.int(Int(seq)))
            sql.append(" AND workspace_id = ")
            sql.append(.text(workspace))
            return try await transaction.rows(sql).first.map(PostgresRows.hookEvent)
        }
    }
}

extension Transaction {
    /// Appends `, lease_expires_at = … WHERE` the webhook is `node`'s: the fence of a delivery's writes.
    static func fence(_ sql: inout SQL, workspace: String, name: String, node: String, leaseDuration: Double, now: Date) {
        sql.append(", lease_expires_at = ")
        sql.append(.double(now.timeIntervalSince1970 + leaseDuration))
        sql.append(" WHERE workspace_id = ")
        sql.append(.text(workspace))
        sql.append(" AND name = ")
        sql.append(.text(name))
        sql.append(" AND lease_owner = ")
        sql.append(.text(node))
        sql.append(" RETURNING 1")
    }

    func upsert(_ spec: NewWebhook, source: String, now: Date) async throws {
        var sql = SQL("""
            INSERT INTO webhooks (workspace_id, name, url, events, secret, enabled, max_attempts, initial_backoff, max_backoff, timeout,
                cursor, source, created_at, updated_at, channel, format) VALUES (
            """)
        sql.append(list: [
            .text(spec.workspaceID), .text(spec.name), .text(spec.url), .text(JSONValue.array(spec.events.map(JSONValue.string)).jsonText),
            .text(spec.secret), .bool(spec.enabled), .int(spec.retry.maxAttempts), .double(spec.retry.initialBackoff),
            .double(spec.retry.maxBackoff), .double(spec.timeout),
        ])
        sql.append(", (SELECT seq FROM hook_stream), ")
        sql.append(list: [
            .text(source), .double(now.timeIntervalSince1970), .double(now.timeIntervalSince1970), .text(spec.channel), .text(spec.format.rawValue),
        ])
        sql.append("""
            ) ON CONFLICT (workspace_id, name) DO UPDATE SET url = excluded.url, events = excluded.events, secret = excluded.secret,
                enabled = excluded.enabled, max_attempts = excluded.max_attempts, initial_backoff = excluded.initial_backoff,
                max_backoff = excluded.max_backoff, timeout = excluded.timeout, source = excluded.source, updated_at = excluded.updated_at,
                channel = excluded.channel, format = excluded.format
            """)
        try await rows(sql)
    }

    /// Logs `deliveries` in one statement (a batch of successes is one round trip, not one each).
    func insert(_ deliveries: [WebhookDelivery], workspace: String) async throws {
        guard !deliveries.isEmpty else { return }
        var sql = SQL(
            "INSERT INTO webhook_deliveries (workspace_id, webhook, seq, attempt, delivery_id, event_type, outcome, http_status, error, duration, time) VALUES ")
        for (index, delivery) in deliveries.enumerated() {
            sql.append(index == 0 ? "(" : ", (")
            sql.append(list: [
                .text(workspace), .text(delivery.webhook), .int(Int(delivery.seq)), .int(delivery.attempt), .text(delivery.id),
                .text(delivery.eventType), .text(delivery.outcome.rawValue), .int(delivery.httpStatus), .text(delivery.error),
                .double(delivery.duration), .double(delivery.time.timeIntervalSince1970),
            ])
            sql.append(")")
        }
        try await rows(sql)
    }

    func webhook(_ name: String, workspace: String) async throws -> Webhook? {
        var sql = SQL("SELECT * FROM webhooks WHERE workspace_id = ")
        sql.append(.text(workspace))
        sql.append(" AND name = ")
        sql.append(.text(name))
        return try await rows(sql).first.map(Self.webhook)
    }

    static func webhook(_ row: PostgresRandomAccessRow) throws -> Webhook {
        let events = try JSONValue(jsonText: try row["events"].decode(String.self)).arrayValue?.compactMap(\.stringValue) ?? []
        let spec = NewWebhook(
            workspaceID: try row["workspace_id"].decode(String.self), name: try row["name"].decode(String.self),
            url: try row["url"].decode(String.self), events: events, secret: try row["secret"].decode(String.self),
            enabled: try row["enabled"].decode(Bool.self),
            retry: RetryPolicy(
                maxAttempts: try row["max_attempts"].decode(Int.self), initialBackoff: try row["initial_backoff"].decode(Double.self),
                maxBackoff: try row["max_backoff"].decode(Double.self)),
            timeout: try row["timeout"].decode(Double.self), channel: try row["channel"].decode(String?.self),
            format: WebhookFormat(rawValue: try row["format"].decode(String.self)) ?? .event)
        return Webhook(
            spec: spec, cursor: try row["cursor"].decode(Int64.self), attempts: try row["attempts"].decode(Int.self),
            nextAttemptAt: try row["next_attempt_at"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
            lastError: try row["last_error"].decode(String?.self), delivered: try row["delivered"].decode(Int64.self),
            dead: try row["dead"].decode(Int64.self), source: try row["source"].decode(String.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            updatedAt: Date(timeIntervalSince1970: try row["updated_at"].decode(Double.self)))
    }

    static func delivery(_ row: PostgresRandomAccessRow) throws -> WebhookDelivery {
        WebhookDelivery(
            id: try row["delivery_id"].decode(String.self), webhook: try row["webhook"].decode(String.self), seq: try row["seq"].decode(Int64.self),
            eventType: try row["event_type"].decode(String.self), attempt: try row["attempt"].decode(Int.self),
            outcome: WebhookDelivery.Outcome(rawValue: try row["outcome"].decode(String.self)) ?? .failed,
            httpStatus: try row["http_status"].decode(Int?.self), error: try row["error"].decode(String?.self),
            duration: try row["duration"].decode(Double.self), time: Date(timeIntervalSince1970: try row["time"].decode(Double.self)))
    }
}
