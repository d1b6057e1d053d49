import Hummingbird
import Nightshift

/// `/v1/webhooks`: the workspace's webhooks, their delivery logs and redeliveries.
extension APIServer {
    /// `POST /v1/webhooks`: creates a webhook (201); it delivers the events after now. 409 for a taken name.
    func createWebhook(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let spec = try WireWebhookWrite(body: try await Self.body(request)).webhook()
        return Self.reply(WireWebhook(try await scope(context).createWebhook(spec)), status: .created)
    }

    /// `PUT /v1/webhooks/{name}`: creates or replaces a webhook whole (its position stays).
    func putWebhook(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let name = try Self.webhookName(context)
        let spec = try WireWebhookWrite(body: try await Self.body(request)).webhook(pathName: name)
        return Self.reply(WireWebhook(try await scope(context).saveWebhook(spec)))
    }

    /// `GET /v1/webhooks/{name}`.
    func webhook(_ context: APIRequestContext) async throws -> Response {
        let name = try Self.webhookName(context)
        guard let webhook = try await scope(context).webhook(name) else { throw NightshiftError.webhookNotFound(name) }
        return Self.reply(WireWebhook(webhook))
    }

    /// `DELETE /v1/webhooks/{name}`: 204; 404 for none.
    func deleteWebhook(_ context: APIRequestContext) async throws -> Response {
        let name = try Self.webhookName(context)
        guard try await scope(context).deleteWebhook(name) else { throw NightshiftError.webhookNotFound(name) }
        return Response(status: .noContent)
    }

    /// `GET /v1/webhooks/{name}/deliveries?outcome=&limit=`: the delivery log, newest first
    /// (`outcome=dead`: the dead letters).
    func webhookDeliveries(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let name = try Self.webhookName(context)
        var outcome: WebhookDelivery.Outcome?
        if let text = request.uri.queryParameters["outcome"] {
            guard let value = WebhookDelivery.Outcome(rawValue: String(text)) else {
                throw NightshiftError.invalid(
                    "outcome", "expected one of \(WebhookDelivery.Outcome.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            outcome = value
        }
        let limit = try Self.limit(request, default: 100, maximum: 1000)
        let deliveries = try await scope(context).webhookDeliveries(name, outcome: outcome, limit: limit)
        return Self.reply(WireWebhookDeliveryList(deliveries: deliveries.map(WireWebhookDelivery.init)))
    }

    /// `POST /v1/webhooks/{name}/redeliver` (`{"seq": N}`): sends the event again now, once, and
    /// answers the attempt (logged; it moves nothing).
    func redeliver(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let name = try Self.webhookName(context)
        let body = try WireRedeliver(body: try await Self.body(request))
        return Self.reply(WireWebhookDelivery(try await scope(context).redeliver(name, seq: body.seq)))
    }

    private static func webhookName(_ context: APIRequestContext) throws -> String {
        let name = try parameter(context, "name")
        guard TextRules.isAgentName(name) else {
            throw NightshiftError.invalid("name", "expected a webhook name (\(TextRules.agentNameRule)), got '\(name)'")
        }
        return name
    }
}
