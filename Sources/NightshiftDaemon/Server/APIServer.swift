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

    /// Every route: method and path, with `{name}` for path parameters. The router is built from
    /// this list and the OpenAPI document must describe exactly these.
    public static let routes: [(method: HTTPRequest.Method, path: String)] = [
        (.get, "/healthz"), (.get, "/readyz"), (.get, "/openapi.json"),
        (.post, "/v1/tasks"), (.get, "/v1/tasks"), (.get, "/v1/tasks/{id}"), (.patch, "/v1/tasks/{id}"),
        (.post, "/v1/tasks/{id}/cancel"), (.post, "/v1/tasks/{id}/retry"), (.post, "/v1/tasks/{id}/pause"),
        (.post, "/v1/tasks/{id}/resume"), (.post, "/v1/tasks/{id}/archive"),
        (.get, "/v1/tasks/{id}/events"), (.get, "/v1/tasks/{id}/runs"), (.get, "/v1/status"), (.get, "/v1/events"),
        (.get, "/v1/agents"), (.post, "/v1/agents"), (.get, "/v1/agents/{name}"), (.put, "/v1/agents/{name}"),
        (.delete, "/v1/agents/{name}"),
        (.get, "/v1/checkpoints"), (.post, "/v1/checkpoints"), (.get, "/v1/checkpoints/quarantine"),
        (.post, "/v1/checkpoints/cleanup"), (.get, "/v1/checkpoints/{id}"), (.post, "/v1/checkpoints/{id}/resolve"),
        (.get, "/v1/agents/{name}/memories"), (.get, "/v1/agents/{name}/memories/{key}"),
        (.put, "/v1/agents/{name}/memories/{key}"), (.delete, "/v1/agents/{name}/memories/{key}"),
    ]

    let engine: Engine
    let authority: TokenAuthority
    /// How often an event stream looks for new events without being told of a write (the
    /// engine rings for its own writes; this catches other nodes').
    let streamPoll: Duration
    /// What the server grants a connection.
    let limits: ConnectionLimits

    /// A server for `engine`, accepting the token `authority` knows.
    public init(
        engine: Engine, authority: TokenAuthority, streamPoll: Duration = .milliseconds(500), limits: ConnectionLimits = ConnectionLimits()
    ) {
        self.engine = engine
        self.authority = authority
        self.streamPoll = streamPoll
        self.limits = limits
    }

    var store: any TaskStore { engine.store }

    /// The router with every route, the JSON error shape and bearer auth on `/v1`.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: DrainingMiddleware(engine: engine))
        let auth = BearerAuthMiddleware<BasicRequestContext>(authority: authority)
        // Every other method of HTTP (but HEAD and CONNECT) on a known path is answered 405 with the
        // methods it takes; a method HTTP does not define is not found.
        var methods: [String: [HTTPRequest.Method]] = [:]
        for (method, path) in Self.routes { methods[path, default: []].append(method) }
        for (path, allowed) in methods {
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .options, .trace] where !allowed.contains(method) {
                router.on(Self.routerPath(path), method: method) { request, _ -> Response in
                    throw APIFailure(
                        .methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(path); use \(allow)",
                        headers: [.allow: allow])
                }
            }
        }
        for (method, path) in Self.routes {
            let handler = self.handler(method, path)
            let hbPath = Self.routerPath(path)
            if path.hasPrefix("/v1/") {
                router.on(hbPath, method: method) { request, context in
                    try await auth.handle(request, context: context) { request, context in
                        try await handler(request, context)
                    }
                }
            } else {
                router.on(hbPath, method: method) { request, context in try await handler(request, context) }
            }
        }
        return router
    }

    /// Hummingbird's form of a route's path (`{id}` becomes `:id`).
    static func routerPath(_ path: String) -> RouterPath {
        RouterPath(path.replacingOccurrences(of: "{", with: ":").replacingOccurrences(of: "}", with: ""))
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

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    // swiftlint:disable:next cyclomatic_complexity
    private func handler(_ method: HTTPRequest.Method, _ path: String) -> Handler {
        switch (method, path) {
        case (.get, "/healthz"): { _, _ in Self.json(["status": "ok"]) }
        case (.get, "/readyz"): { _, _ in
            do {
                // A database that went away may keep a query waiting for a connection: not ready
                // if the store does not take a write (locked, full, read-only) within two seconds.
                let node = engine.configuration.nodeID
                _ = try await answer(within: .seconds(2)) { [store] in try await store.probeWrite(node: node, now: Date()) }
                return Self.json(["status": "ok"])
            } catch {
                throw APIFailure(.serviceUnavailable, code: "store_unavailable", message: "the store does not take a write: \(error)")
            }
        }
        case (.get, "/openapi.json"): { _, _ in Self.json(OpenAPIDocument.document) }
        case (.post, "/v1/tasks"): submit
        case (.get, "/v1/tasks"): list
        case (.get, "/v1/tasks/{id}"): { _, context in Self.json(APIJSON.task(try await task(context))) }
        case (.patch, "/v1/tasks/{id}"): patch
        case (.post, "/v1/tasks/{id}/cancel"): action(.cancel)
        case (.post, "/v1/tasks/{id}/retry"): action(.retry)
        case (.post, "/v1/tasks/{id}/pause"): action(.pause)
        case (.post, "/v1/tasks/{id}/resume"): action(.resume)
        case (.post, "/v1/tasks/{id}/archive"): { _, context in
            Self.json(APIJSON.task(try await engine.archive(try Self.taskID(context))))
        }
        case (.get, "/v1/tasks/{id}/events"): events
        case (.get, "/v1/events"): hookEventsHandler
        case (.get, "/v1/tasks/{id}/runs"): { _, context in
            let id = try await task(context).id
            return Self.json(["runs": .array(try await store.runs(task: id).map(APIJSON.run))])
        }
        case (.get, "/v1/status"): status
        case (.get, "/v1/agents"): { _, _ in Self.json(["agents": .array(try await store.agents().map(APIJSON.agent))]) }
        case (.post, "/v1/agents"): { request, _ in
            let agent = try APIJSON.agent(try await Self.body(request), name: nil)
            if try await store.agent(named: agent.name) != nil {
                throw APIFailure(.conflict, code: "conflict", message: "agent '\(agent.name)' exists; use PUT /v1/agents/\(agent.name) to replace it", field: "name")
            }
            return Self.json(APIJSON.agent(try await save(agent)), status: .created)
        }
        case (.get, "/v1/agents/{name}"): { _, context in Self.json(APIJSON.agent(try await agent(context))) }
        case (.put, "/v1/agents/{name}"): { request, context in
            let agent = try APIJSON.agent(try await Self.body(request), name: try Self.parameter(context, "name"))
            return Self.json(APIJSON.agent(try await save(agent)))
        }
        case (.delete, "/v1/agents/{name}"): { _, context in
            let name = try Self.parameter(context, "name")
            guard try await engine.deleteAgent(named: name) else {
                throw APIFailure(.notFound, code: "not_found", message: "no agent named '\(name)'", field: "name")
            }
            return Response(status: .noContent)
        }
        case (_, let path) where path.hasPrefix("/v1/checkpoints") || path.hasPrefix("/v1/agents/{name}/memories"):
            sessionHandler(method, path)
        default: preconditionFailure("no handler for \(method) \(path)")
        }
    }

    // MARK: Handlers

    private func submit(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let body = try await Self.body(request)
        let keys = request.headers[values: HTTPField.Name("Idempotency-Key")!]
        guard keys.count <= 1 else {
            throw APIFailure(.badRequest, code: "invalid_input", message: "expected one Idempotency-Key header, got \(keys.count)", field: "Idempotency-Key")
        }
        let new = try APIJSON.newTask(body, idempotencyHeader: keys.first, now: Date())
        let result = try await engine.submit(new)
        return Self.json(APIJSON.task(result.task), status: result.inserted ? .created : .ok)
    }

    private func list(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        var query = TaskQuery()
        if let states = parameters["state"] {
            query.states = try states.split(separator: ",").map { text in
                guard let state = TaskState(rawValue: String(text)) else {
                    throw NightshiftError(.invalidInput, "expected one of \(TaskState.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'", field: "state")
                }
                return state
            }
        }
        query.agent = parameters["agent"].map(String.init)
        query.label = parameters["label"].map(String.init)
        query.lane = parameters["lane"].map(String.init)
        query.createdAfter = try parameters["created_after"].map { try Self.date(String($0), field: "created_after") }
        query.createdBefore = try parameters["created_before"].map { try Self.date(String($0), field: "created_before") }
        switch parameters["archived"] {
        case nil, "false": query.archived = false
        case "true": query.archived = true
        case "any": query.archived = nil
        case let other?: throw NightshiftError(.invalidInput, "expected true, false or any, got '\(other)'", field: "archived")
        }
        if let cursor = parameters["cursor"] { query.cursor = try TaskCursor(text: String(cursor)) }
        if let limit = parameters["limit"] {
            guard let value = Int(limit), (1...TaskQuery.maxLimit).contains(value) else {
                throw NightshiftError(.invalidInput, "expected an integer from 1 to \(TaskQuery.maxLimit), got '\(limit)'", field: "limit")
            }
            query.limit = value
        }
        let page = try await store.listTasks(query)
        return Self.json([
            "tasks": .array(page.tasks.map(APIJSON.task)),
            "next_cursor": page.nextCursor.map { .string($0.text) } ?? .null,
        ])
    }

    private func patch(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try Self.taskID(context)
        let members = try APIJSON.object(try await Self.body(request))
        try APIJSON.rejectUnknown(members, allowed: ["priority"])
        guard let priority = try APIJSON.int(members, "priority") else {
            throw NightshiftError(.invalidInput, "is required (an integer ≥ 0)", field: "priority")
        }
        return Self.json(APIJSON.task(try await engine.setPriority(id, to: priority)))
    }

    private func action(_ action: LifecycleAction) -> Handler {
        { _, context in Self.json(APIJSON.task(try await engine.transition(try Self.taskID(context), action))) }
    }

    private func status(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let counts = try await store.countsByState()
        let now = Date()
        let active = engine.activeRuns().map { run -> JSONValue in
            [
                "task_id": .string(run.taskID.rawValue), "run_id": .string(run.runID), "agent": .string(run.agent),
                "attempt": .int(Int64(run.attempt)), "pid": run.pid.map { .int(Int64($0)) } ?? .null,
                "started_at": APIJSON.time(run.startedAt),
                "duration_s": .double((now.timeIntervalSince(run.startedAt) * 1000).rounded() / 1000),
            ]
        }
        let totals = try await store.runTotals()
        let refresh = request.uri.queryParameters["refresh"].map { $0 == "true" || $0 == "1" } ?? false
        let stats = Dictionary(uniqueKeysWithValues: try await store.agentStats().map { ($0.agent, $0) })
        let quotas = engine.quotas()
        let agents = try await engine.availability(maxAge: refresh ? .zero : .seconds(30)).map { report -> JSONValue in
            var entry = APIJSON.availability(report).objectValue ?? [:]
            entry["stats"] = APIJSON.agentStats(stats[report.agent] ?? AgentStats(agent: report.agent, tasks: 0, costUSD: 0, totals: TaskTotals()))
            entry["quota"] = quotas[report.agent].map(APIJSON.quota) ?? .null
            return .object(entry)
        }
        return Self.json([
            "agents": .array(agents),
            "counts": .object(Dictionary(uniqueKeysWithValues: TaskState.allCases.map { ($0.rawValue, .int(Int64(counts[$0] ?? 0))) })),
            "queue_depth": .int(Int64([TaskState.queued, .waiting, .paused].reduce(0) { $0 + (counts[$1] ?? 0) })),
            "active_runs": .array(active),
            "recent_runs": .array(try await store.recentRuns(limit: 20).map(APIJSON.run)),
            "totals": [
                "invocations": .int(Int64(totals.invocations)), "succeeded": .int(Int64(totals.succeeded)),
                "failed": .int(Int64(totals.failed)),
            ],
        ])
    }

    private func events(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let id = try await task(context).id
        let parameters = request.uri.queryParameters
        var after: Int64 = 0
        if let text = request.headers[HTTPField.Name("Last-Event-ID")!] ?? parameters["after"].map(String.init) {
            guard let value = Int64(text), value >= 0 else {
                throw NightshiftError(.invalidInput, "expected an event seq (an integer ≥ 0), got '\(text)'", field: "after")
            }
            after = value
        }
        if request.headers[.accept]?.contains("text/event-stream") == true {
            return EventStream(store: store, task: id, after: after, changes: engine.taskChanges, poll: streamPoll) { [engine] in
                engine.drainDeadline != nil
            }.response()
        }
        var limit = 100
        if let text = parameters["limit"] {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw NightshiftError(.invalidInput, "expected an integer from 1 to 1000, got '\(text)'", field: "limit")
            }
            limit = value
        }
        let events = try await store.events(task: id, after: after, limit: limit)
        return Self.json(["events": .array(events.map(APIJSON.event)), "next_after": .int(events.last?.seq ?? after)])
    }

    // MARK: Helpers

    private func task(_ context: BasicRequestContext) async throws -> AgentTask {
        let id = try Self.taskID(context)
        guard let task = try await store.task(id) else { throw NightshiftError.taskNotFound(id) }
        return task
    }

    /// Saves `agent` and answers it as stored: a replaced agent keeps what it has spent, which
    /// the request body does not carry.
    private func save(_ agent: Agent) async throws -> Agent {
        try await engine.saveAgent(agent)
        return try await store.agent(named: agent.name) ?? agent
    }

    private func agent(_ context: BasicRequestContext) async throws -> Agent {
        let name = try Self.parameter(context, "name")
        guard let agent = try await store.agent(named: name) else {
            throw APIFailure(.notFound, code: "not_found", message: "no agent named '\(name)'", field: "name")
        }
        return agent
    }

    /// The path parameter `name`, percent-decoded (`my%2Dagent` is `my-agent`).
    static func parameter(_ context: BasicRequestContext, _ name: String) throws -> String {
        let encoded = try context.parameters.require(name)
        guard let decoded = encoded.removingPercentEncoding else {
            throw NightshiftError.invalid(name, "expected a percent-encoded value, got '\(encoded)'")
        }
        return decoded
    }

    static func taskID(_ context: BasicRequestContext) throws -> TaskID {
        let text = try Self.parameter(context, "id")
        // An id that cannot exist is simply not found.
        guard let id = TaskID(text) else { throw NightshiftError(.notFound, "no task with id \(text)", field: "id") }
        return id
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
        let buffer = try await request.collectBody(upTo: maxBodyBytes)
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

    /// A JSON response.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: value.jsonText)))
    }
}
