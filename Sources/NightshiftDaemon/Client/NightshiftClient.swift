import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Nightshift

/// A client of the Nightshift HTTP API (docs/api.md): one method per route, answers as the wire
/// types the server writes (``WireTask``, ``WireRun``, …), failures as ``APIError``.
///
/// All clients share one process-wide `HTTPClient` (``sharedHTTPClient``) unless given another;
/// none is ever created per request, so nothing leaks.
public struct NightshiftClient: Sendable {
    /// The daemon's base URL without a trailing slash, e.g. `http://127.0.0.1:7777`.
    public let baseURL: String
    /// The bearer token sent with every `/v1` request; nil sends none.
    public let token: String?
    /// The time a plain request may take, answer body included (event streams have no limit).
    public var requestTimeout: Duration
    /// How long an event stream keeps trying to reconnect after its connection drops before it
    /// gives up with the last error.
    public var reconnectWindow: Duration
    /// The HTTP client requests go through.
    public let httpClient: HTTPClient

    /// The default daemon address.
    public static let defaultURL = "http://127.0.0.1:7777"

    /// The process-wide HTTP client of every ``NightshiftClient``: never shut down, like
    /// `HTTPClient.shared`, but tuned for a local daemon — a refused connection fails at once
    /// instead of being retried until a deadline, connecting times out after 5 s, and reads after
    /// 5 minutes of silence (an event stream then reconnects).
    public static let sharedHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(5), read: .minutes(5)),
            decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: configuration)
    }()

    /// A client of the daemon at `baseURL` (trailing slashes are dropped) with `token`.
    public init(
        baseURL: String = NightshiftClient.defaultURL, token: String?,
        requestTimeout: Duration = .seconds(60), reconnectWindow: Duration = .seconds(30),
        httpClient: HTTPClient = NightshiftClient.sharedHTTPClient
    ) {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        self.baseURL = url
        self.token = token
        self.requestTimeout = requestTimeout
        self.reconnectWindow = reconnectWindow
        self.httpClient = httpClient
    }

    // MARK: Tasks

    /// `POST /v1/tasks`: submits a task; answers the task (the original one on an idempotent repeat
    /// or a live dedup key — see ``Submitted/created``).
    public func submit(_ task: WireNewTask) async throws -> Submitted {
        var headers: [(String, String)] = []
        if let key = task.idempotencyKey { headers.append(("Idempotency-Key", key)) }
        let (status, body) = try await send(.POST, "/v1/tasks", body: task.json, headers: headers)
        return Submitted(task: try Self.read(WireTask.self, body, "POST /v1/tasks"), created: status == 201)
    }

    /// `POST /v1/tasks` with a body given as JSON (the members of docs/api.md).
    public func submit(json body: JSONValue) async throws -> Submitted {
        let (status, answer) = try await send(.POST, "/v1/tasks", body: body)
        return Submitted(task: try Self.read(WireTask.self, answer, "POST /v1/tasks"), created: status == 201)
    }

    /// `GET /v1/tasks`: one page of tasks, newest first.
    public func tasks(_ query: TaskQuery = TaskQuery()) async throws -> WireTaskPage {
        try await fetch(.GET, "/v1/tasks", query: query.items)
    }

    /// `GET /v1/tasks/{id}`: one task.
    public func task(_ id: String) async throws -> WireTask {
        try await fetch(.GET, "/v1/tasks/\(Self.escapePath(id))")
    }

    /// `PATCH /v1/tasks/{id}`: changes the priority of a task that has not finished (lower runs
    /// first); answers the task.
    public func setPriority(_ priority: Int, task id: String) async throws -> WireTask {
        try await fetch(.PATCH, "/v1/tasks/\(Self.escapePath(id))", body: WireTaskPatch(priority: priority).json)
    }

    /// `POST /v1/tasks/{id}/<action>`: cancels, retries, pauses, resumes or archives the task;
    /// answers the task (``APIError`` 409 `illegal_transition` if its state does not allow it).
    public func perform(_ action: TaskAction, task id: String) async throws -> WireTask {
        try await fetch(.POST, "/v1/tasks/\(Self.escapePath(id))/\(action.rawValue)")
    }

    /// `POST /v1/tasks/{id}/cancel`.
    public func cancel(_ id: String) async throws -> WireTask { try await perform(.cancel, task: id) }
    /// `POST /v1/tasks/{id}/retry`.
    public func retry(_ id: String) async throws -> WireTask { try await perform(.retry, task: id) }
    /// `POST /v1/tasks/{id}/pause`.
    public func pause(_ id: String) async throws -> WireTask { try await perform(.pause, task: id) }
    /// `POST /v1/tasks/{id}/resume`.
    public func resume(_ id: String) async throws -> WireTask { try await perform(.resume, task: id) }
    /// `POST /v1/tasks/{id}/archive`.
    public func archive(_ id: String) async throws -> WireTask { try await perform(.archive, task: id) }

    /// `GET /v1/tasks/{id}/events`: one page of the task's events with `seq > after`.
    public func eventPage(task id: String, after: Int64 = 0, limit: Int? = nil) async throws -> WireEventPage {
        var query = [("after", String(after))]
        if let limit { query.append(("limit", String(limit))) }
        return try await fetch(.GET, "/v1/tasks/\(Self.escapePath(id))/events", query: query)
    }

    /// `GET /v1/tasks/{id}/runs`: the task's runs, one per attempt.
    public func runs(task id: String) async throws -> [WireRun] {
        try await fetch(.GET, "/v1/tasks/\(Self.escapePath(id))/runs", as: WireRunList.self).runs
    }

    /// `GET /v1/tasks/{id}/steps`: a workflow task's recorded steps by position, its declared ones and its progress.
    public func steps(task id: String) async throws -> WireStepList {
        try await fetch(.GET, "/v1/tasks/\(Self.escapePath(id))/steps", as: WireStepList.self)
    }

    // MARK: Status and agents

    /// `GET /v1/status`: counts by state, queue depth, active and recent runs, totals, agents.
    /// With `refresh`, the agents' availability is checked afresh instead of answered from the last check.
    public func status(refresh: Bool = false) async throws -> WireStatus {
        try await fetch(.GET, "/v1/status", query: refresh ? [("refresh", "true")] : [])
    }

    /// `GET /v1/agents`: every agent.
    public func agents() async throws -> [WireAgent] {
        try await fetch(.GET, "/v1/agents", as: WireAgentList.self).agents
    }

    /// `GET /v1/agents/{name}`: one agent.
    public func agent(named name: String) async throws -> WireAgent {
        try await fetch(.GET, "/v1/agents/\(Self.escapePath(name))")
    }

    /// `POST /v1/agents`: creates an agent (``APIError`` 409 `conflict` if one has its name); answers it.
    public func createAgent(_ agent: WireAgentWrite) async throws -> WireAgent {
        try await fetch(.POST, "/v1/agents", body: agent.json)
    }

    /// `PUT /v1/agents/{name}`: creates or replaces the agent (what it has spent is kept); answers it.
    public func putAgent(_ agent: WireAgentWrite, named name: String) async throws -> WireAgent {
        try await fetch(.PUT, "/v1/agents/\(Self.escapePath(name))", body: agent.json)
    }

    /// `DELETE /v1/agents/{name}`.
    public func deleteAgent(named name: String) async throws {
        _ = try await send(.DELETE, "/v1/agents/\(Self.escapePath(name))")
    }

    /// `POST /v1/agents/{name}/unpark`: ends the park of the agent's quota group now; answers the agent.
    public func unparkAgent(named name: String) async throws -> WireAgent {
        try await fetch(.POST, "/v1/agents/\(Self.escapePath(name))/unpark")
    }

    /// `GET /v1/agents/{name}/stats`: the agent's runs that finished from `from` to `to` (each a
    /// date such as `2026-12-01` or an RFC 3339 time; by default the last 7 days), per UTC day and
    /// in total.
    public func agentRunStats(named name: String, from: String? = nil, to: String? = nil) async throws -> WireAgentRunStats {
        var query: [(String, String)] = []
        if let from { query.append(("from", from)) }
        if let to { query.append(("to", to)) }
        return try await fetch(.GET, "/v1/agents/\(Self.escapePath(name))/stats", query: query)
    }

    // MARK: Open routes

    /// `GET /healthz`: `{"status":"ok"}` while the daemon runs.
    public func health() async throws -> WireHealth {
        try await fetch(.GET, "/healthz")
    }

    /// `GET /readyz`: `{"status":"ok"}` once the store answers (``APIError`` 503 before).
    public func ready() async throws -> WireHealth {
        try await fetch(.GET, "/readyz")
    }

    /// `GET /openapi.json`: the OpenAPI 3.1 document.
    public func openAPI() async throws -> JSONValue {
        try await request(.GET, "/openapi.json")
    }

    // MARK: Transport

    /// Sends a request and answers the JSON body (`null` for an empty one); throws ``APIError``
    /// for a non-2xx status or an unreachable daemon.
    public func request(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil
    ) async throws -> JSONValue {
        try await send(method, path, query: query, body: body).body
    }

    /// Sends a request and reads the answer as a `T`; an answer of another shape is
    /// ``APIError/invalidResponse(_:)``.
    func fetch<T: WireValue>(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil, as type: T.Type = T.self
    ) async throws -> T {
        try Self.read(type, try await send(method, path, query: query, body: body).body, "\(method) \(path)")
    }

    /// `answer` read as a `T`; an answer of another shape is ``APIError/invalidResponse(_:)``.
    static func read<T: WireValue>(_ type: T.Type, _ answer: JSONValue, _ route: String) throws -> T {
        do {
            return try T(json: answer)
        } catch {
            throw APIError.invalidResponse("\(route): \(error)")
        }
    }

    /// Sends a request; answers the status and the JSON body.
    func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: JSONValue? = nil,
        headers: [(String, String)] = []
    ) async throws -> (status: Int, body: JSONValue) {
        var request = makeRequest(method, path, query: query, headers: headers)
        request.headers.add(name: "Accept", value: "application/json")
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.jsonText))
        }
        let text: String
        let status: Int
        do {
            let response = try await httpClient.execute(request, timeout: TimeAmount(requestTimeout))
            status = Int(response.status.code)
            text = String(buffer: try await response.body.collect(upTo: 256 << 20))
        } catch {
            throw APIError.classify(error, url: baseURL)
        }
        return (status, try Self.answer(status: status, text: text, route: "\(method) \(path)"))
    }

    /// The JSON of an answer with `status` and body `text` (`null` for an empty one); ``APIError``
    /// for a non-2xx status or a body that is not JSON.
    static func answer(status: Int, text: String, route: String) throws -> JSONValue {
        guard (200..<300).contains(status) else { throw APIError.fromResponse(status: status, body: text) }
        if text.allSatisfy(\.isWhitespace) { return .null }
        do {
            return try JSONValue(jsonText: text)
        } catch {
            throw APIError.invalidResponse("\(route): the body is not JSON (\(error))")
        }
    }

    /// `GET path`: the answer's bytes as they are (an artifact's file), up to 64 MiB.
    public func download(_ path: String) async throws -> [UInt8] {
        let request = makeRequest(.GET, path)
        let status: Int
        let buffer: ByteBuffer
        do {
            let response = try await httpClient.execute(request, timeout: TimeAmount(requestTimeout))
            status = Int(response.status.code)
            buffer = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw APIError.classify(error, url: baseURL)
        }
        guard (200..<300).contains(status) else { throw APIError.fromResponse(status: status, body: String(buffer: buffer)) }
        return Array(buffer.readableBytesView)
    }

    /// A request to `path` with `query`, the token and `headers`.
    func makeRequest(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = []
    ) -> HTTPClientRequest {
        var url = baseURL + path
        if !query.isEmpty {
            url += "?" + query.map { Self.escapeQuery($0.0) + "=" + Self.escapeQuery($0.1) }.joined(separator: "&")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        return request
    }

    private static let unreserved = CharacterSet(charactersIn:
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// `text` percent-encoded for one path segment.
    static func escapePath(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// `text` percent-encoded for a query name or value.
    static func escapeQuery(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
