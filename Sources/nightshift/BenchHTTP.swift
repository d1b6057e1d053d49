import AsyncHTTPClient
import Foundation
import Logging
import Nightshift
import NightshiftDaemon
import NightshiftSQLite
import NIOCore
import Synchronization

extension Bench {
    static let token = "bench-token"

    /// Runs the HTTP API for `engine` on a random loopback port around `body(baseURL)`; the engine
    /// itself runs too unless `withEngine` is false (submits are then queued, not yet drained).
    func serving<T: Sendable>(
        _ engine: Engine, withEngine: Bool = true, _ body: @Sendable (String) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "nightshift.bench.http")
        logger.logLevel = .error
        return try await APIServer(engine: engine, authority: TokenAuthority(token: Self.token))
            .serving(services: withEngine ? [engine] : [], logger: logger) { port in
                try await body("http://127.0.0.1:\(port)")
            }
    }

    private static func submit(_ base: String, prompt: String) async throws -> String {
        var request = HTTPClientRequest(url: base + "/v1/tasks")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"agent":"noop","prompt":"\#(prompt)"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .created, let id = try? WireTask(json: try JSONValue(jsonText: String(buffer: body))).id else {
            throw NightshiftError(.storeUnavailable, "bench: submit answered \(response.status): \(String(buffer: body))")
        }
        return id
    }

    /// W1-http: `tasks` submits through the API from `clients` concurrent clients, then the drain.
    func w1HTTP(tasks: Int, slots: Int, clients: Int) async throws -> [(String, JSONValue)] {
        try await withStore { bench in
            let store = bench.store
            let engine = engine(store, slots: slots) { _, _ in .succeeded(nil) }
            // As in W1: submit everything, then drain (timed from the first claim to the last settle).
            let submitSeconds = try await serving(engine, withEngine: false) { base in
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for client in 0..<clients {
                        group.addTask {
                            for index in stride(from: client, to: tasks, by: clients) {
                                _ = try await Self.submit(base, prompt: "task \(index)")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                return (ContinuousClock.now - start).seconds
            }
            try await running(engine) { try await waitUntilDone(store, tasks: tasks) }
            let (firstClaim, lastSettle) = try await drainWindow(store)
            return [
                ("workload", "W1-http"), ("store", .string(storeName)), ("tasks", .int(Int64(tasks))), ("slots", .int(Int64(slots))),
                ("clients", .int(Int64(clients))),
                ("submit_per_s", .int(Int64(Double(tasks) / submitSeconds))),
                ("drain_per_s", .int(Int64(Double(tasks) / lastSettle.timeIntervalSince(firstClaim)))),
                bench.durability,
            ]
        }
    }

    /// W2-http: latency from a submit's HTTP response to the runner starting, one task at a time.
    func w2HTTP(tasks: Int, slots: Int) async throws -> [(String, JSONValue)] {
        try await withStore { bench in
            let store = bench.store
            let started = Mutex<ContinuousClock.Instant?>(nil)
            let engine = engine(store, slots: slots) { _, _ in
                started.withLock { $0 = .now }
                return .succeeded(nil)
            }
            let latencies = try await serving(engine) { base in
                var latencies: [Double] = []
                try await Task.sleep(for: .milliseconds(50))
                for index in 0..<tasks {
                    started.withLock { $0 = nil }
                    let id = try await Self.submit(base, prompt: "latency \(index)")
                    let submitted = ContinuousClock.now
                    while try await store.task(TaskID(trusted: id))?.state != .done {
                        try await Task.sleep(for: .microseconds(200))
                    }
                    if let start = started.withLock({ $0 }) { latencies.append(max(0, (start - submitted).seconds * 1000)) }
                }
                return latencies.sorted()
            }
            return [
                ("workload", "W2-http"), ("store", .string(storeName)), ("tasks", .int(Int64(tasks))),
                ("p50_ms", .double(Self.round(Self.percentile(latencies, 0.50)))),
                ("p99_ms", .double(Self.round(Self.percentile(latencies, 0.99)))),
                bench.durability,
            ]
        }
    }
}
