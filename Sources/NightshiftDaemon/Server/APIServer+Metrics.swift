import Foundation
import HTTPTypes
import Hummingbird
import Nightshift
import NIOCore

extension APIServer {
    /// Adds `GET /metrics` to `router` when the server has metrics that are not `off`. It is not
    /// a route of the JSON API (``routes``, which the OpenAPI document describes): its answer is
    /// Prometheus' text format, and its access is `server.metrics`'s, not the bearer group's.
    func addMetricsRoute(to router: Router<APIRequestContext>) {
        guard let metrics, metrics.access != .off else { return }
        router.get("/metrics") { request, context -> Response in
            if metrics.access == .token {
                let principal = try await BearerAuthMiddleware.principal(of: request, authority: authority, store: engine.store)
                guard principal.workspace == Workspace.defaultID, principal.has(.admin) else {
                    throw APIFailure(
                        .forbidden, code: "forbidden", message: "metrics need an admin token of the default workspace", field: "Authorization")
                }
            }
            let body = try await metrics.exposition(engine: engine)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
    }
}
