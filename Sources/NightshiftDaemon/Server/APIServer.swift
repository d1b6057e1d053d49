import Foundation
import Synchronization
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Nightshift
import NIOCore
import ServiceLifecycle

/// The HTTP API v1 (docs/api.md) over an engine and its store.
public struct APIServer: Sendable {
    /// The largest request body accepted (413 beyond it).
    public static let maxBodyBytes = 2 * 1024 * 1024

    let engine: Engine
    let authority: TokenAuthority
    /// How often an event stream looks for new events without being told of a write (the
    /// engine rings for its own writes; this catches other nodes').
    let streamPoll: Duration
    /// What the server grants a connection.
    let limits: ConnectionLimits
    /// What `/metrics` prints; `nil`: no `/metrics`.
    let metrics: DaemonMetrics?

    /// A server for `engine`, accepting the token `authority` knows; with `metrics`, serving them
    /// at `/metrics` (run their census beside the engine).
    public init(
        engine: Engine, authority: TokenAuthority, streamPoll: Duration = .milliseconds(500), limits: ConnectionLimits = ConnectionLimits(),
        metrics: DaemonMetrics? = nil
    ) {
        self.engine = engine
        self.authority = authority
        self.streamPoll = streamPoll
        self.limits = limits
        self.metrics = metrics
    }

    /// The principal the bearer authentication put in the context.
    static func principal(_ context: APIRequestContext) throws -> Principal {
        guard let principal = context.principal else {
            throw APIFailure(.unauthorized, code: "unauthorized", message: "missing or wrong bearer token", field: "Authorization")
        }
        return principal
    }

    /// The request's workspace: every read and write of a `/v1` handler goes through it (the
    /// server holds no store handle of its own that could forget the workspace).
    func scope(_ context: APIRequestContext) throws -> WorkspaceScope {
        engine.workspace(try Self.principal(context).workspace)
    }

    /// An application serving the API on `host:port`, running `services` (the engine) in the same
    /// service group; `onRunning` gets the bound port (useful with port 0).
    public func application(
        host: String, port: Int, services: [any Service] = [], logger: Logger,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [HTTPEdgeHandler()], idleTimeout: .nanoseconds(Int64(limits.idleTimeout * 1e9)))),
            configuration: .init(
                address: .hostname(host, port: port), serverName: "nightshift",
                availableConnectionsDelegate: MaximumAvailableConnections(limits.maxConnections)),
            services: services,
            onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Serves the API (and `services`, such as the engine) on `host:port` around `body`, which
    /// gets the bound port (useful with port 0), then shuts everything down gracefully.
    public func serving<T: Sendable>(
        host: String = "127.0.0.1", port: Int = 0, services: [any Service] = [], logger: Logger,
        _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        let app = application(host: host, port: port, logger: logger) { port in
            bound.yield(port)
            bound.finish()
        }
        // Shut down in reverse order, as `nightshift serve` does: the services (the engine) drain
        // first, which ends open event streams, then the API stops.
        return try await withServices([app] + services, logger: logger) {
            var boundPort = port
            for await value in ports { boundPort = value }
            return try await body(boundPort)
        }
    }

    /// The path parameter `name`, percent-decoded (`my%2Dagent` is `my-agent`).
    static func parameter(_ context: APIRequestContext, _ name: String) throws -> String {
        let encoded = try context.parameters.require(name)
        guard let decoded = encoded.removingPercentEncoding else {
            throw NightshiftError.invalid(name, "expected a percent-encoded value, got '\(encoded)'")
        }
        return decoded
    }

    static func taskID(_ context: APIRequestContext) throws -> TaskID {
        let text = try Self.parameter(context, "id")
        // An id that cannot exist is simply not found.
        guard let id = TaskID(text) else { throw NightshiftError(.notFound, "no task with id \(text)", field: "id") }
        return id
    }

    /// The `limit` query parameter, from 1 to `maximum` (`value` when absent); 422 naming it otherwise.
    static func limit(_ request: Request, default value: Int, maximum: Int) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return value }
        guard let limit = Int(text), (1...maximum).contains(limit) else {
            throw NightshiftError.invalid("limit", "expected an integer from 1 to \(maximum), got '\(text)'")
        }
        return limit
    }

    /// Where a log read or stream resumes: the `Last-Event-ID` header, else the `after` query
    /// parameter, else 0; a value that is not a `what` (an integer ≥ 0) is refused naming `after`.
    static func cursor(_ request: Request, of what: String) throws -> Int64 {
        guard let text = request.headers[HTTPField.Name("Last-Event-ID")!] ?? request.uri.queryParameters["after"].map(String.init) else {
            return 0
        }
        guard let value = Int64(text), value >= 0 else {
            throw NightshiftError.invalid("after", "expected \(what) (an integer ≥ 0), got '\(text)'")
        }
        return value
    }

    /// A time in a query parameter: RFC 3339 (with or without fractional seconds) or seconds since 1970.
    static func date(_ text: String, field: String) throws -> Date {
        try JSONTime.date(Double(text).map(JSONValue.double) ?? .string(text), field: field)
    }

    /// The request body as JSON: 400 with the byte offset when it is not UTF-8 or malformed (never
    /// repaired), 413 when too large, 422 naming the member when a string holds U+0000 (which the
    /// stores cannot keep whole).
    static func body(_ request: Request) async throws -> JSONValue {
        var request = request
        return try parseBody(try await request.collectBody(upTo: maxBodyBytes))
    }

    /// The request body as JSON (as ``body(_:)`` reads it), or `nil` when the request has none: for
    /// the routes whose body is optional (`wake`, `drop`, `cancel`).
    static func optionalBody(_ request: Request) async throws -> JSONValue? {
        var request = request
        let buffer = try await request.collectBody(upTo: maxBodyBytes)
        // Not `?:` with `nil`: JSONValue is ExpressibleByNilLiteral, so that `nil` would be `.null`.
        guard buffer.readableBytes > 0 else { return nil }
        return try parseBody(buffer)
    }

    /// `buffer` read as a JSON body (see ``body(_:)``).
    private static func parseBody(_ buffer: ByteBuffer) throws -> JSONValue {
        let bytes = buffer.readableBytesView
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw APIFailure(
                .badRequest, code: "invalid_json", message: "the body is not valid UTF-8: a bad byte sequence at byte \(firstInvalidUTF8(bytes))",
                field: "body")
        }
        let value = try JSONValue(jsonText: text)
        // JSON carries a NUL only as the escape `\u0000` (or as a raw byte): only a body that holds
        // one is walked for the member to name.
        if bytes.contains(0) || text.contains(#"\u0000"#), let path = firstNUL(in: value, path: "") {
            throw NightshiftError(.invalidInput, "expected text without NUL (U+0000)", field: path)
        }
        return value
    }

    /// The `Idempotency-Key` header, if sent; two are refused (400 `invalid_input`).
    static func idempotencyKey(_ request: Request) throws -> String? {
        let keys = request.headers[values: HTTPField.Name("Idempotency-Key")!]
        guard keys.count <= 1 else {
            throw APIFailure(.badRequest, code: "invalid_input", message: "expected one Idempotency-Key header, got \(keys.count)", field: "Idempotency-Key")
        }
        return keys.first
    }

    /// The offset of the first byte that does not start a valid UTF-8 sequence.
    static func firstInvalidUTF8(_ bytes: some Collection<UInt8>) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while case .valid(let encoded) = parser.parseScalar(from: &iterator) { offset += encoded.count }
        return offset
    }

    /// The path (`prompt`, `payload.notes[2]`) of the first string, member name included, that holds U+0000.
    static func firstNUL(in value: JSONValue, path: String) -> String? {
        switch value {
        case .string(let text): return text.utf8.contains(0) ? (path.isEmpty ? "body" : path) : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = firstNUL(in: item, path: "\(path)[\(index)]") { return found }
            }
            return nil
        case .object(let members):
            for key in members.keys.sorted() {
                let member = path.isEmpty ? key : "\(path).\(key)"
                if key.utf8.contains(0) { return member }
                if let found = firstNUL(in: members[key]!, path: member) { return found }
            }
            return nil
        default: return nil
        }
    }

    /// The answer `value` in the API's JSON.
    static func reply(_ value: some WireValue, status: HTTPResponse.Status = .ok) -> Response {
        json(value.json, status: status)
    }

    /// A JSON response.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value.jsonText)))
    }
}
