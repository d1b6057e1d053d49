import Nightshift

extension NightshiftClient {
    // MARK: Webhooks

    /// `GET /v1/webhooks`.
    public func webhooks() async throws -> [WireWebhook] {
        try await fetch(.GET, "/v1/webhooks", as: WireWebhookList.self).webhooks
    }

    /// `POST /v1/webhooks`: creates a webhook (``APIError`` 409 for a taken name).
    public func createWebhook(_ write: WireWebhookWrite) async throws -> WireWebhook {
        try await fetch(.POST, "/v1/webhooks", body: write.json)
    }

    /// `GET /v1/webhooks/{name}`.
    public func webhook(_ name: String) async throws -> WireWebhook {
        try await fetch(.GET, "/v1/webhooks/\(Self.escapePath(name))")
    }

    /// `DELETE /v1/webhooks/{name}`.
    public func deleteWebhook(_ name: String) async throws {
        _ = try await send(.DELETE, "/v1/webhooks/\(Self.escapePath(name))")
    }

    /// `GET /v1/webhooks/{name}/deliveries`: the delivery log, newest first (`outcome`: only those).
    public func webhookDeliveries(_ name: String, outcome: String? = nil, limit: Int? = nil) async throws -> [WireWebhookDelivery] {
        var query: [(String, String)] = []
        if let outcome { query.append(("outcome", outcome)) }
        if let limit { query.append(("limit", String(limit))) }
        return try await fetch(.GET, "/v1/webhooks/\(Self.escapePath(name))/deliveries", query: query, as: WireWebhookDeliveryList.self).deliveries
    }

    /// `POST /v1/webhooks/{name}/redeliver`: sends event `seq` again, now; answers the attempt.
    public func redeliver(_ name: String, seq: Int64) async throws -> WireWebhookDelivery {
        try await fetch(.POST, "/v1/webhooks/\(Self.escapePath(name))/redeliver", body: WireRedeliver(seq: seq).json)
    }
}
