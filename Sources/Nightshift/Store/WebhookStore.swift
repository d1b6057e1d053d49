import Foundation

/// Webhooks: consumers of a workspace's hook stream that the engine delivers to over HTTP. Each
/// is delivered by one node at a time, the holder of its lease; every write a delivery makes is
/// fenced by that lease, so a node that lost it (killed mid-delivery, or too slow) moves nothing.
public protocol WebhookStore: Sendable {
    /// Creates a webhook (`conflict` naming `name` if the workspace has one of that name). It
    /// delivers the events after the stream's last one now.
    func createWebhook(_ spec: NewWebhook, source: String, now: Date) async throws -> Webhook
    /// Creates or replaces a webhook's spec (its position, attempts and counts stay).
    func saveWebhook(_ spec: NewWebhook, source: String, now: Date) async throws -> Webhook
    /// The webhook `name` of `workspace`.
    func webhook(_ name: String, workspace: String) async throws -> Webhook?
    /// The workspace's webhooks by name (`nil`: every workspace's).
    func webhooks(workspace: String?) async throws -> [Webhook]
    /// Deletes a webhook and its delivery log; answers whether it existed.
    func deleteWebhook(_ name: String, workspace: String) async throws -> Bool
    /// Takes or renews the lease of every enabled webhook whose lease is free, expired or
    /// `node`'s own, for `leaseDuration` seconds; answers the webhooks `node` holds.
    func leaseWebhooks(node: String, leaseDuration: Double, now: Date) async throws -> [Webhook]
    /// Gives up `node`'s leases (at shutdown): another node takes them over at once.
    func releaseWebhooks(node: String) async throws
    /// In one write, only while `node` holds webhook `name`'s lease (renewing it): records the
    /// attempts `plans` made, in order, moves the cursor past them and past `skippedThrough` (events
    /// it does not deliver; never back), and takes the attempts, next time and error of the last
    /// plan. Answers whether it did.
    func recordWebhookAttempts(
        _ plans: [WebhookAttemptPlan], skippedThrough: Int64?, webhook name: String, workspace: String, node: String, leaseDuration: Double,
        now: Date
    ) async throws -> Bool
    /// Appends a redelivery's record to the log (it moves nothing).
    func recordWebhookRedelivery(_ delivery: WebhookDelivery, workspace: String) async throws
    /// The webhook's delivery log, newest first, at most `limit`; only `outcome`'s if given.
    func webhookDeliveries(_ name: String, workspace: String, outcome: WebhookDelivery.Outcome?, limit: Int) async throws -> [WebhookDelivery]
    /// The workspace's hook event `seq`, if the stream still holds it.
    func hookEvent(_ seq: Int64, workspace: String) async throws -> HookEvent?
}

extension WebhookStore {
    /// Records one attempt (see ``recordWebhookAttempts(_:skippedThrough:webhook:workspace:node:leaseDuration:now:)``).
    public func recordWebhookAttempt(_ plan: WebhookAttemptPlan, workspace: String, node: String, leaseDuration: Double, now: Date) async throws -> Bool {
        try await recordWebhookAttempts(
            [plan], skippedThrough: nil, webhook: plan.delivery.webhook, workspace: workspace, node: node, leaseDuration: leaseDuration, now: now)
    }

    /// Moves the cursor past events not delivered, up to `seq` (see
    /// ``recordWebhookAttempts(_:skippedThrough:webhook:workspace:node:leaseDuration:now:)``).
    public func skipWebhookEvents(_ name: String, through seq: Int64, workspace: String, node: String, leaseDuration: Double, now: Date) async throws -> Bool {
        try await recordWebhookAttempts([], skippedThrough: seq, webhook: name, workspace: workspace, node: node, leaseDuration: leaseDuration, now: now)
    }
}
