import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Creates a webhook at the stream's end (see ``WebhookStore/createWebhook(_:source:now:)``).
    public func createWebhook(_ spec: NewWebhook, source: String, now: Date) async throws -> Webhook {
        try spec.validate()
        return try await writer.write { transaction in
            let db = transaction.db
            if try Self.webhook(spec.name, workspace: spec.workspaceID, in: db) != nil { throw NightshiftError.webhookNameTaken(spec.name) }
            let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM hook_events")) ?? 0
            try Self.upsert(spec, source: source, cursor: last, now: now, in: db)
            return try Self.webhook(spec.name, workspace: spec.workspaceID, in: db)!
        }
    }

    /// Creates or replaces a webhook's spec (see ``WebhookStore/saveWebhook(_:source:now:)``).
    public func saveWebhook(_ spec: NewWebhook, source: String, now: Date) async throws -> Webhook {
        try spec.validate()
        return try await writer.write { transaction in
            let db = transaction.db
            let last = try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM hook_events")) ?? 0
            try Self.upsert(spec, source: source, cursor: last, now: now, in: db)
            return try Self.webhook(spec.name, workspace: spec.workspaceID, in: db)!
        }
    }

    /// The webhook `name` of `workspace`.
    public func webhook(_ name: String, workspace: String) async throws -> Webhook? {
        try await read { db in try Self.webhook(name, workspace: workspace, in: db) }
    }

    /// The webhooks of `workspace` (every one's for `nil`), by workspace and name.
    public func webhooks(workspace: String?) async throws -> [Webhook] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM webhooks WHERE (?1 IS NULL OR workspace_id = ?1) ORDER BY workspace_id, name"),
                arguments: [workspace]
            ).map(Self.webhook)
        }
    }

    /// Deletes a webhook and its log.
    public func deleteWebhook(_ name: String, workspace: String) async throws -> Bool {
        try await writer.write { transaction in
            let db = transaction.db
            try db.execute(sql: "DELETE FROM webhooks WHERE workspace_id = ? AND name = ?", arguments: [workspace, name])
            let existed = db.changesCount > 0
            try db.execute(sql: "DELETE FROM webhook_deliveries WHERE workspace_id = ? AND webhook = ?", arguments: [workspace, name])
            return existed
        }
    }

    /// Takes or renews leases (see ``WebhookStore/leaseWebhooks(node:leaseDuration:now:)``).
    public func leaseWebhooks(node: String, leaseDuration: Double, now: Date) async throws -> [Webhook] {
        try await writer.write { transaction in
            try Row.fetchAll(
                transaction.db.cachedStatement(sql: """
                    UPDATE webhooks SET lease_owner = ?1, lease_expires_at = ?2
                    WHERE enabled = 1 AND (lease_owner IS NULL OR lease_owner = ?1 OR lease_expires_at < ?3)
                    RETURNING *
                    """),
                arguments: [node, now.timeIntervalSince1970 + leaseDuration, now.timeIntervalSince1970]
            ).map(Self.webhook)
        }
    }

    /// Gives up `node`'s leases.
    public func releaseWebhooks(node: String) async throws {
        try await writer.write { transaction in
            try transaction.db.execute(sql: "UPDATE webhooks SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = ?", arguments: [node])
        }
    }

    /// Records attempts and skips in one write, fenced by the lease (see
    /// ``WebhookStore/recordWebhookAttempts(_:skippedThrough:webhook:workspace:node:leaseDuration:now:)``).
    public func recordWebhookAttempts(
        _ plans: [WebhookAttemptPlan], skippedThrough: Int64?, webhook name: String, workspace: String, node: String, leaseDuration: Double,
        now: Date
    ) async throws -> Bool {
        let move = WebhookMove(plans, skippedThrough: skippedThrough)
        return try await writer.write { transaction in
            let db = transaction.db
            try db.cachedStatement(sql: """
                UPDATE webhooks SET cursor = MAX(cursor, COALESCE(?1, cursor)),
                    attempts = CASE WHEN ?2 THEN ?3 ELSE attempts END, next_attempt_at = CASE WHEN ?2 THEN ?4 ELSE next_attempt_at END,
                    last_error = CASE WHEN ?2 THEN ?5 ELSE last_error END, delivered = delivered + ?6, dead = dead + ?7, lease_expires_at = ?8
                WHERE workspace_id = ?9 AND name = ?10 AND lease_owner = ?11
                """).execute(arguments: [
                    move.cursor, move.last != nil, move.last?.attempts, move.last?.nextAttemptAt?.timeIntervalSince1970, move.last?.delivery.error,
                    move.delivered, move.dead, now.timeIntervalSince1970 + leaseDuration, workspace, name, node,
                ])
            guard db.changesCount > 0 else { return false }
            for plan in plans { try Self.insert(plan.delivery, workspace: workspace, in: db) }
            return true
        }
    }

    /// Logs a redelivery.
    public func recordWebhookRedelivery(_ delivery: WebhookDelivery, workspace: String) async throws {
        try await writer.write { transaction in try Self.insert(delivery, workspace: workspace, in: transaction.db) }
    }

    /// The delivery log, newest first.
    public func webhookDeliveries(_ name: String, workspace: String, outcome: WebhookDelivery.Outcome?, limit: Int) async throws -> [WebhookDelivery] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT * FROM webhook_deliveries WHERE workspace_id = ?1 AND webhook = ?2 AND (?3 IS NULL OR outcome = ?3)
                    ORDER BY id DESC LIMIT ?4
                    """),
                arguments: [workspace, name, outcome?.rawValue, limit]
            ).map(Self.delivery)
        }
    }

    /// The workspace's hook event `seq`.
    public func hookEvent(_ seq: Int64, workspace: String) async throws -> HookEvent? {
        try await read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM hook_events WHERE seq = ? AND workspace_id = ?"), arguments: [seq, workspace]
            ).map(SQLiteRows.hookEvent)
        }
    }

    private static func upsert(_ spec: NewWebhook, source: String, cursor: Int64, now: Date, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO webhooks (workspace_id, name, url, events, secret, enabled, max_attempts, initial_backoff, max_backoff, timeout,
                cursor, source, created_at, updated_at, channel, format)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15)
            ON CONFLICT (workspace_id, name) DO UPDATE SET url = excluded.url, events = excluded.events, secret = excluded.secret,
                enabled = excluded.enabled, max_attempts = excluded.max_attempts, initial_backoff = excluded.initial_backoff,
                max_backoff = excluded.max_backoff, timeout = excluded.timeout, source = excluded.source, updated_at = excluded.updated_at,
                channel = excluded.channel, format = excluded.format
            """).execute(arguments: [
                spec.workspaceID, spec.name, spec.url, JSONValue.array(spec.events.map(JSONValue.string)).jsonText, spec.secret, spec.enabled,
                spec.retry.maxAttempts, spec.retry.initialBackoff, spec.retry.maxBackoff, spec.timeout, cursor, source, now.timeIntervalSince1970,
                spec.channel, spec.format.rawValue,
            ])
    }

    private static func insert(_ delivery: WebhookDelivery, workspace: String, in db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO webhook_deliveries (workspace_id, webhook, seq, attempt, delivery_id, event_type, outcome, http_status, error, duration, time)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                workspace, delivery.webhook, delivery.seq, delivery.attempt, delivery.id, delivery.eventType, delivery.outcome.rawValue,
                delivery.httpStatus, delivery.error, delivery.duration, delivery.time.timeIntervalSince1970,
            ])
    }

    static func webhook(_ name: String, workspace: String, in db: Database) throws -> Webhook? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM webhooks WHERE workspace_id = ? AND name = ?"), arguments: [workspace, name])
            .map(webhook)
    }

    static func webhook(_ row: Row) throws -> Webhook {
        let events = try JSONValue(jsonText: row["events"] as String).arrayValue?.compactMap(\.stringValue) ?? []
        let spec = NewWebhook(
            workspaceID: row["workspace_id"], name: row["name"], url: row["url"], events: events, secret: row["secret"], enabled: row["enabled"],
            retry: RetryPolicy(maxAttempts: row["max_attempts"], initialBackoff: row["initial_backoff"], maxBackoff: row["max_backoff"]),
            timeout: row["timeout"], channel: row["channel"], format: WebhookFormat(rawValue: row["format"]) ?? .event)
        return Webhook(
            spec: spec, cursor: row["cursor"], attempts: row["attempts"],
            nextAttemptAt: (row["next_attempt_at"] as Double?).map(Date.init(timeIntervalSince1970:)), lastError: row["last_error"],
            delivered: row["delivered"], dead: row["dead"], source: row["source"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"]))
    }

    static func delivery(_ row: Row) throws -> WebhookDelivery {
        WebhookDelivery(
            id: row["delivery_id"], webhook: row["webhook"], seq: row["seq"], eventType: row["event_type"], attempt: row["attempt"],
            outcome: WebhookDelivery.Outcome(rawValue: row["outcome"]) ?? .failed, httpStatus: row["http_status"], error: row["error"],
            duration: row["duration"], time: Date(timeIntervalSince1970: row["time"]))
    }
}
