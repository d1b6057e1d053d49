import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Nightshift

/// The HTTP API answered in process, for the chat tools of a `/mcp` session: each request goes
/// through the daemon's own router (bearer auth, roles, the route's handler, the error shapes)
/// with the token of the `/mcp` request being answered, as if the client had sent it to `/v1`.
/// So the tools act in the caller's workspace with the caller's role, and a token revoked during
/// a session stops working at its next call.
struct InProcessAPI: APIRequestSender {
    /// The API's routes.
    let responder: RouterResponder<APIRequestContext>
    /// The context of the `/mcp` request that opened the session: what a request needs of the
    /// connection (logger, allocator); the principal is set again by the bearer authentication.
    let context: APIRequestContext
    /// The `Authorization` header of the `/mcp` request being answered.
    let authorization: @Sendable () -> String?

    func apiRequest(
        _ method: NIOHTTP1.HTTPMethod, _ path: String, query: [(String, String)], body: JSONValue?, headers: [(String, String)]
    ) async throws -> JSONValue {
        var fields: HTTPFields = [.accept: "application/json"]
        if let authorization = authorization() { fields[.authorization] = authorization }
        for (name, value) in headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        var buffer = ByteBuffer()
        if let body {
            fields[.contentType] = "application/json"
            buffer = ByteBuffer(string: body.jsonText)
        }
        var target = path
        if !query.isEmpty {
            target += "?" + query.map { NightshiftClient.escapeQuery($0.0) + "=" + NightshiftClient.escapeQuery($0.1) }.joined(separator: "&")
        }
        let head = HTTPTypes.HTTPRequest(
            method: HTTPTypes.HTTPRequest.Method(method.rawValue) ?? .get, scheme: "http", authority: "localhost", path: target,
            headerFields: fields)
        var context = self.context
        context.principal = nil
        let response = try await responder.respond(to: Request(head: head, body: RequestBody(buffer: buffer)), context: context)
        let collected = CollectedBody()
        try await response.body.write(BodyCollector(collected: collected))
        return try NightshiftClient.answer(
            status: Int(response.status.code), text: String(buffer: collected.buffer), route: "\(method) \(path)")
    }

    /// Where ``BodyCollector`` puts the bytes: the writer is consumed by the write.
    final class CollectedBody {
        var buffer = ByteBuffer()
    }

    /// A response body writer that keeps what is written.
    struct BodyCollector: ResponseBodyWriter {
        let collected: CollectedBody

        func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            collected.buffer.writeBuffer(&buffer)
        }

        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
