import AsyncHTTPClient
import Foundation
import Logging
import Nightshift
import NightshiftDaemon
import NightshiftRunners
import NightshiftSQLite
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing

/// A daemon (engine + API) on a random loopback port, and a client for it.
struct APIHarness {
    static let token = "test-token"
    let port: Int
    let store: SQLiteTaskStore
    let engine: Engine
    /// The SQLite file of the store.
    let databasePath: String
    /// Every exchange of ``request(_:_:bytes:token:headers:)``; each answer is checked against the
    /// OpenAPI document when the test's daemon stops.
    let recorder: ExchangeRecorder

    var base: String { "http://127.0.0.1:\(port)" }

    /// Runs `body` against a fresh daemon whose builtin agents are `handlers`, with an agent of
    /// each of `workflows` (event streams read
    /// every `streamPoll` without a ring from the engine), its store enforcing `subtasks` and its
    /// engine reporting tasks waiting longer than `blockedStaleAfter` seconds as blocked.
    static func with<T: Sendable>(
        handlers: [String: BuiltinRunner.Handler],
        streamPoll: Duration = .milliseconds(10),
        limits: ConnectionLimits = ConnectionLimits(),
        clock: any EngineClock = SystemClock(),
        subtasks: SubtaskLimits = SubtaskLimits(),
        blockedStaleAfter: Double = EngineConfiguration().blockedStaleAfter,
        webhookLeaseDuration: Double = EngineConfiguration().webhookLeaseDuration,
        workflows: WorkflowRegistry = WorkflowRegistry(),
        detectors: DetectorRegistry? = nil,
        metrics access: MetricsAccess? = nil,
        tracing: (tracing: EngineTracing, exporter: any Service)? = nil,
        _ body: @Sendable (APIHarness) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-api-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteTaskStore(
            path: directory.appendingPathComponent("nightshift.db").path, configuration: .init(subtasks: subtasks))
        for name in handlers.keys { try await store.saveAgent(Agent(name: name, runner: .builtin, retry: RetryPolicy(maxAttempts: 1))) }
        for name in workflows.names { try await store.saveAgent(Agent(name: name, runner: .workflow, retry: RetryPolicy(maxAttempts: 1))) }
        var configuration = EngineConfiguration(nodeID: "api-test", slots: 4, pollInterval: 60, shutdownGrace: 1, workRoot: directory)
        configuration.blockedStaleAfter = blockedStaleAfter
        configuration.webhookLeaseDuration = webhookLeaseDuration
        let metrics = access.map { DaemonMetrics(store: store, access: $0) }
        if let metrics { configuration.metrics = EngineMetrics(factory: metrics.factory) }
        if let tracing { configuration.tracing = tracing.tracing }
        let engine = Engine(
            store: store, runners: RunnerRegistry(AgentRunners.all() + [BuiltinRunner(handlers: handlers), WorkflowRunner(registry: workflows)]),
            // Deliveries on the global executor: the daemon's niced delivery thread (WebhookTests
            // checks it) gets next to no CPU while the whole suite loads both cores, and these
            // tests time what a webhook does, not its priority.
            configuration: configuration, clock: clock, webhookSender: WebhookHTTPSender(client: .shared), detectors: detectors)
        let recorder = ExchangeRecorder()
        let result = try await APIServer(
            engine: engine, authority: TokenAuthority(token: token), streamPoll: streamPoll, limits: limits, metrics: metrics
        )
            .serving(services: (tracing.map { [$0.exporter] } ?? []) + [engine] + (metrics.map { [$0.census] } ?? []), logger: Logger(label: "api-test")) { port in
                try await body(APIHarness(
                    port: port, store: store, engine: engine, databasePath: directory.appendingPathComponent("nightshift.db").path,
                    recorder: recorder))
            }
        recorder.expectDocumented()
        return result
    }

    /// One HTTP exchange: status, headers and body text.
    func request(
        _ method: HTTPMethod, _ path: String, body: String? = nil, token: String? = APIHarness.token,
        headers: [(String, String)] = []
    ) async throws -> (status: Int, body: String, json: JSONValue?) {
        try await request(method, path, bytes: body.map { Array($0.utf8) }, token: token, headers: headers)
    }

    /// One HTTP exchange with a body given as bytes (which need not be UTF-8).
    func request(
        _ method: HTTPMethod, _ path: String, bytes body: [UInt8]?, token: String? = APIHarness.token,
        headers: [(String, String)] = []
    ) async throws -> (status: Int, body: String, json: JSONValue?) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        // A guard against a hang, not a measure: while the whole suite starts on two cores, an
        // exchange with the in-process server took over 10 s.
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let text = String(buffer: try await response.body.collect(upTo: 16 * 1024 * 1024))
        recorder.record(.init(
            method: method.rawValue, path: String(path.prefix { $0 != "?" }), status: Int(response.status.code),
            contentType: response.headers.first(name: "Content-Type"), body: text))
        return (Int(response.status.code), text, try? JSONValue(jsonText: text))
    }
}

