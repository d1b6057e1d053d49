import HTTPTypes
import Hummingbird
import Nightshift

/// A route of the API: a method, a path (`{name}` for a path parameter) and the handler that
/// answers it. A route exists only with its handler: the router is built from ``APIServer/routes``
/// and the OpenAPI document must describe exactly those.
public struct APIRoute: Sendable {
    /// What answers a request on the route.
    typealias Handler = @Sendable (APIServer, Request, APIRequestContext) async throws -> Response

    /// The HTTP method.
    public let method: HTTPRequest.Method
    /// The full path, e.g. `/v1/tasks/{id}`.
    public let path: String
    /// Whether the route needs no bearer token (`/healthz`, `/readyz`, `/openapi.json`).
    public var isOpen: Bool { role == nil }
    /// The least role a token needs on the route; `nil` for an open route.
    public let role: AccessRole?
    let handler: Handler

    /// A route that needs no token, at `path`.
    static func open(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) -> APIRoute {
        APIRoute(method: method, path: path, role: nil, handler: handler)
    }

    /// A route of the `/v1` group (bearer auth), at `/v1/` + `path`, for tokens with at least
    /// `role`: by default any token may read (GET) and a member may write.
    static func v1(
        _ method: HTTPRequest.Method, _ path: String, role: AccessRole? = nil, _ handler: @escaping Handler
    ) -> APIRoute {
        APIRoute(method: method, path: APIServer.v1Prefix + "/" + path, role: role ?? (method == .get ? .readOnly : .member), handler: handler)
    }

    /// The path within its group, in Hummingbird's form (`{id}` becomes `:id`).
    var routerPath: RouterPath {
        APIRoute.routerPath(isOpen ? path : String(path.dropFirst(APIServer.v1Prefix.count)))
    }

    /// Hummingbird's form of `path`.
    static func routerPath(_ path: String) -> RouterPath {
        RouterPath(path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: ""))
    }
}
