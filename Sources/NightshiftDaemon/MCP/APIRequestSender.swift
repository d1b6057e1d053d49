import NIOHTTP1
import Nightshift

/// Where the chat tools (``ChatTools``) send their requests of the HTTP API: a daemon over the
/// network (``NightshiftClient``, for `nightshift mcp` on stdio) or the daemon's own router in
/// process (for `/mcp`). Either way the answer is the API's.
public protocol APIRequestSender: Sendable {
    /// Sends `method path?query` with `body` and `headers`; answers the JSON body (`null` for an
    /// empty one), or throws ``NightshiftClient/APIError`` for an error status or an unreachable daemon.
    func apiRequest(
        _ method: HTTPMethod, _ path: String, query: [(String, String)], body: JSONValue?, headers: [(String, String)]
    ) async throws -> JSONValue
}

extension NightshiftClient: APIRequestSender {
    /// Sends the request over the network, as every method of the client does.
    public func apiRequest(
        _ method: HTTPMethod, _ path: String, query: [(String, String)], body: JSONValue?, headers: [(String, String)]
    ) async throws -> JSONValue {
        try await send(method, path, query: query, body: body, headers: headers).body
    }
}

extension APIRequestSender {
    /// Sends `method path?query` with `body` and no other header.
    func apiRequest(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil) async throws -> JSONValue {
        try await apiRequest(method, path, query: query, body: body, headers: [])
    }

    /// The path of the task `id` (percent-encoded), and `suffix`: `/v1/tasks/ID/events`.
    func taskPath(_ id: String, _ suffix: String = "") -> String {
        "/v1/tasks/" + NightshiftClient.escapePath(id) + suffix
    }
}
