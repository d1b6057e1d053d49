import Foundation
import HTTPTypes
import Hummingbird
import MCP
import NIOCore
import Nightshift
import Synchronization

/// `/mcp`: the chat tools (``ChatMCPServer``) over MCP's streamable HTTP transport, behind the same
/// bearer tokens as `/v1` and acting in the token's workspace.
///
/// The minimal server side of the transport: a POST carries one JSON-RPC message and is answered
/// with `application/json` (a notification with 202); an `initialize` opens a session, named by
/// the `Mcp-Session-Id` header of its answer, that every later request must send; DELETE ends it;
/// GET answers 405, as no server-initiated stream is offered. Each session is an SDK server on the
/// SDK's stateless transport, kept in memory on this node and bound to the token that opened it:
/// another token, or a session this node does not know, gets 404 (the client then initializes
/// anew). Idle sessions are dropped after ``idleTimeout``, the least recently used when
/// ``maxSessions`` are open.
///
/// No `Origin` check: every request needs the bearer token in its `Authorization` header, which a
/// page of another origin cannot send without a CORS preflight that `/mcp` never grants.
final class MCPEndpoint: Sendable {
    /// One open session.
    struct Session: Sendable {
        let server: MCP.Server
        let transport: StatelessHTTPServerTransport
        /// Who opened it: only the same token's requests may use it.
        let workspace: String
        let tokenID: String
        var lastUsed: ContinuousClock.Instant
    }

    /// The path.
    static let path = "/mcp"
    /// The header naming a session.
    static let sessionHeader = HTTPField.Name(HTTPHeaderName.sessionID)!
    /// How long a session may go unused before it is dropped.
    static let idleTimeout: Duration = .seconds(3600)
    /// The most sessions open at once on a node.
    static let maxSessions = 256

    /// The API's routes, which the tools' requests go through.
    let api: RouterResponder<APIRequestContext>
    private let sessions = Mutex<[String: Session]>([:])

    /// An endpoint whose tools send their requests through `api`.
    init(api: RouterResponder<APIRequestContext>) {
        self.api = api
    }

    /// Adds `POST`, `GET` and `DELETE /mcp` to `router`, behind `authentication`.
    func add(to router: Router<APIRequestContext>, authentication: BearerAuthMiddleware) {
        let group = router.group(RouterPath(Self.path)).add(middleware: authentication)
        group.post { request, context in try await self.post(request, context) }
        group.delete { request, context in try await self.delete(request, context) }
        group.get { _, _ in
            Self.response(.error(statusCode: 405, .invalidRequest("Method Not Allowed: no server-initiated stream"), extraHeaders: ["Allow": "POST, DELETE"]))
        }
    }

    /// A JSON-RPC message: to its session, or opening one when it is an `initialize`.
    func post(_ request: Hummingbird.Request, _ context: APIRequestContext) async throws -> Hummingbird.Response {
        let principal = try APIServer.principal(context)
        var request = request
        let body = try await request.collectBody(upTo: APIServer.maxBodyBytes)
        let message = Self.message(request, body: body)
        if let id = request.headers[Self.sessionHeader] {
            guard let session = use(id, principal) else { return Self.unknownSession }
            return Self.response(await session.transport.handleRequest(message))
        }
        guard let json = try? JSONValue(jsonText: String(buffer: body)), json["method"] == "initialize",
              json.objectValue?.keys.contains("id") == true else {
            return Self.response(.error(statusCode: 400, .invalidRequest("Bad Request: no \(HTTPHeaderName.sessionID) header; initialize first")))
        }
        return try await open(message, principal: principal, context: context)
    }

    /// Ends the session the request names.
    func delete(_ request: Hummingbird.Request, _ context: APIRequestContext) async throws -> Hummingbird.Response {
        let principal = try APIServer.principal(context)
        guard let id = request.headers[Self.sessionHeader], use(id, principal) != nil,
              let session = sessions.withLock({ $0.removeValue(forKey: id) })
        else { return Self.unknownSession }
        await session.server.stop()
        return Hummingbird.Response(status: .ok)
    }

    /// Opens a session with `initialize`: answers the server's answer with the session's id.
    private func open(_ message: MCP.HTTPRequest, principal: Principal, context: APIRequestContext) async throws -> Hummingbird.Response {
        var template = context
        template.coreContext.endpointPath = EndpointPath()
        let sender = InProcessAPI(responder: api, context: template) {
            MCP.Server.currentHandlerContext?.httpContext?.header(HTTPHeaderName.authorization)
        }
        let transport = StatelessHTTPServerTransport(validationPipeline: StandardValidationPipeline(validators: [
            AcceptHeaderValidator(mode: .jsonOnly), ContentTypeValidator(), ProtocolVersionValidator(),
        ]))
        let server = await ChatMCPServer.make(api: sender, version: NightshiftDaemon.version)
        try await server.start(transport: transport)
        let answer = await transport.handleRequest(message)
        guard answer.statusCode == 200 else {
            await server.stop()
            return Self.response(answer)
        }
        let id = UUID().uuidString
        let dropped = sessions.withLock { sessions in
            let now = ContinuousClock.now
            var dropped = sessions.filter { now - $0.value.lastUsed > Self.idleTimeout }
            for key in dropped.keys { sessions.removeValue(forKey: key) }
            if sessions.count >= Self.maxSessions, let oldest = sessions.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                dropped[oldest.key] = sessions.removeValue(forKey: oldest.key)
            }
            sessions[id] = Session(
                server: server, transport: transport, workspace: principal.workspace, tokenID: principal.tokenID, lastUsed: now)
            return Array(dropped.values)
        }
        for session in dropped { await session.server.stop() }
        var response = Self.response(answer)
        response.headers[Self.sessionHeader] = id
        return response
    }

    /// The session `id` if `principal` opened it, marked as used now.
    private func use(_ id: String, _ principal: Principal) -> Session? {
        sessions.withLock { sessions in
            guard var session = sessions[id], session.workspace == principal.workspace, session.tokenID == principal.tokenID else { return nil }
            session.lastUsed = .now
            sessions[id] = session
            return session
        }
    }

    /// The 404 for a session that is not open here (or not the token's), as the transport's
    /// specification asks: the client starts a new one.
    static var unknownSession: Hummingbird.Response {
        response(.error(statusCode: 404, .invalidRequest("Not Found: no such session; initialize a new one")))
    }

    /// The request as the SDK's transport reads it.
    static func message(_ request: Hummingbird.Request, body: ByteBuffer) -> MCP.HTTPRequest {
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] = headers[field.name.canonicalName].map { $0 + ", " + field.value } ?? field.value
        }
        return MCP.HTTPRequest(method: "POST", headers: headers, body: Data(body.readableBytesView), path: path)
    }

    /// The SDK transport's answer as Hummingbird's.
    static func response(_ answer: MCP.HTTPResponse) -> Hummingbird.Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        let body = answer.bodyData.map { ResponseBody(byteBuffer: ByteBuffer(bytes: $0)) } ?? ResponseBody()
        return Hummingbird.Response(status: HTTPTypes.HTTPResponse.Status(code: answer.statusCode), headers: fields, body: body)
    }
}
