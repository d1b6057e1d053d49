import AsyncHTTPClient
import Foundation
import Logging
import Nightshift
import NightshiftDaemon
import NIOCore
import Synchronization

extension Bench {
    /// W9: `tasks` no-op tasks drained `rounds` times with no one watching and `rounds` times with
    /// `clients` SSE clients reading the dashboard list's live feed (`GET /feed`: each half
    /// second's changed tasks, as an open task list reads it) over loopback HTTP, alternating,
    /// each on a fresh store. Reports both median drain rates, their ratio, and the frames each
    /// client received (each reads until it has a frame of the drain's last interval).
    func w9(tasks: Int, slots: Int, clients: Int, rounds: Int) async throws -> [(String, JSONValue)] {
        var plain: [Double] = []
        var watched: [Double] = []
        var frames: [Int] = []
        var bytes: [Int] = []
        for _ in 0..<rounds {
            plain.append(try await withStore { bench in
                _ = try await bench.store.submitAll((0..<tasks).map { NewTask(agent: "noop", prompt: "task \($0)") }, now: Date())
                try await drain(bench.store, slots: slots, tasks: tasks, nodeID: "bench")
                let (first, last) = try await drainWindow(bench.store)
                return Double(tasks) / last.timeIntervalSince(first)
            })
            let round = try await watchedRound(tasks: tasks, slots: slots, clients: clients)
            watched.append(round.drain)
            frames += round.frames
            bytes += round.bytes
        }
        let (plainMedian, watchedMedian) = (Self.median(plain), Self.median(watched))
        return [
            ("workload", "W9"), ("store", .string(storeName)), ("tasks", .int(Int64(tasks))), ("slots", .int(Int64(slots))),
            ("sse_clients", .int(Int64(clients))), ("rounds", .int(Int64(rounds))),
            ("drain_per_s_plain", .int(Int64(plainMedian))), ("drain_per_s_sse", .int(Int64(watchedMedian))),
            ("drain_ratio", .double(Self.round(watchedMedian / plainMedian))),
            ("plain_rounds", .array(plain.map { .int(Int64($0)) })), ("sse_rounds", .array(watched.map { .int(Int64($0)) })),
            ("frames_per_client_min", .int(Int64(frames.min() ?? 0))), ("bytes_per_client_max", .int(Int64(bytes.max() ?? 0))),
        ]
    }

    /// One drain watched by `clients` SSE clients: its rate, and the frames and bytes each received.
    private func watchedRound(tasks: Int, slots: Int, clients: Int) async throws -> (drain: Double, frames: [Int], bytes: [Int]) {
        try await withStore { bench in
            let store = bench.store
            _ = try await store.submitAll((0..<tasks).map { NewTask(agent: "noop", prompt: "task \($0)") }, now: Date())
            let engine = engine(store, slots: slots, nodeID: "bench") { _, _ in .succeeded(nil) }
            var logger = Logger(label: "nightshift.bench.sse")
            logger.logLevel = .error
            let token = "bench-token"
            // Per client: frames, bytes; and the clients connected.
            let frames = BenchTally(clients), bytes = BenchTally(clients), connected = BenchTally(1)
            let server = APIServer(engine: engine, authority: TokenAuthority(token: token), limits: ConnectionLimits(maxConnections: clients + 16))
            return try await server.serving(services: [], logger: logger) { port in
                try await Self.withHTTPClient(connections: clients + 8) { http in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for client in 0..<clients {
                            group.addTask {
                                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/feed")
                                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                                request.headers.add(name: "Accept", value: "text/event-stream")
                                let response = try await http.execute(request, timeout: .seconds(600))
                                connected.withLock { $0[0] += 1 }
                                // As cheap as a client can be (a browser parses in its own process):
                                // frames are counted by their blank line, the bytes summed.
                                var previous: UInt8 = 0
                                for try await buffer in response.body {
                                    var count = 0
                                    for byte in buffer.readableBytesView {
                                        if byte == 10, previous == 10 { count += 1 }
                                        previous = byte
                                    }
                                    frames.withLock { $0[client] += count }
                                    bytes.withLock { $0[client] += buffer.readableBytes }
                                }
                            }
                        }
                        while connected.withLock({ $0[0] }) < clients { try await Task.sleep(for: .milliseconds(20)) }
                        try await running(engine) {
                            try await waitUntilDone(store, tasks: tasks)
                            // Until every client got a frame of the drain's last interval.
                            let seen = frames.withLock { $0 }
                            let deadline = ContinuousClock.now + .seconds(30)
                            while ContinuousClock.now < deadline, frames.withLock({ now in zip(now, seen).contains { $0 <= $1 + 1 } }) {
                                try await Task.sleep(for: .milliseconds(50))
                            }
                        }
                        group.cancelAll()
                        let (first, last) = try await drainWindow(store)
                        return (Double(tasks) / last.timeIntervalSince(first), frames.withLock { $0 }, bytes.withLock { $0 })
                    }
                }
            }
        }
    }

    /// Runs `body` with an HTTP client of its own that opens up to `connections` connections to a
    /// host (the shared one opens 8), then shuts it down.
    static func withHTTPClient<T: Sendable>(connections: Int, _ body: (HTTPClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let value = try await body(http)
            try await http.shutdown()
            return value
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// W10: `/metrics` served over loopback HTTP for a store of `tasks` tasks (`done` of them
    /// finished, the rest queued): the census's one count at start, then `scrapes` scrapes'
    /// server time p50 and p99 and the exposition's size.
    func w10(tasks: Int, done: Int, scrapes: Int) async throws -> [(String, JSONValue)] {
        try await withStore { bench in
            let store = bench.store
            var remaining = tasks
            while remaining > 0 {
                let chunk = min(remaining, 10_000)
                _ = try await store.submitAll(
                    (0..<chunk).map { NewTask(agent: "noop", prompt: "task \(remaining - $0)", lane: $0 % 2 == 0 ? "even" : nil) }, now: Date())
                remaining -= chunk
            }
            if done > 0 {
                let engine = engine(store, slots: 64, nodeID: "bench") { _, _ in .succeeded(nil) }
                try await running(engine) {
                    while try await store.countsByState()[.done, default: 0] < done { try await Task.sleep(for: .milliseconds(200)) }
                }
            }
            let metrics = DaemonMetrics(store: store, access: .open)
            metrics.prime(store: store)
            let engine = engine(store, slots: 1, nodeID: "bench") { _, _ in .succeeded(nil) }
            var logger = Logger(label: "nightshift.bench.metrics")
            logger.logLevel = .error
            let counted = ContinuousClock.now
            return try await APIServer(engine: engine, authority: TokenAuthority(token: "bench-token"), metrics: metrics)
                .serving(services: [metrics.census], logger: logger) { port in
                    guard await metrics.census.snapshot(waiting: .seconds(600)) != nil else {
                        throw NightshiftError(.storeUnavailable, "bench: the census made no count in 600 s")
                    }
                    let censusSeconds = (ContinuousClock.now - counted).seconds
                    var samples: [Double] = []
                    var bytes = 0
                    for _ in 0..<scrapes {
                        let start = ContinuousClock.now
                        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(60))
                        bytes = try await response.body.collect(upTo: 64 << 20).readableBytes
                        samples.append((ContinuousClock.now - start).seconds * 1000)
                    }
                    let first = samples.first ?? 0
                    samples.sort()
                    let counts = try await store.countsByState()
                    return [
                        ("workload", "W10"), ("store", .string(storeName)), ("tasks", .int(Int64(tasks))),
                        ("done", .int(Int64(counts[.done, default: 0]))), ("queued", .int(Int64(counts[.queued, default: 0]))),
                        ("census_first_count_ms", .double(Self.round(censusSeconds * 1000))), ("scrapes", .int(Int64(scrapes))),
                        ("scrape_ms_p50", .double(Self.round(Self.percentile(samples, 0.50)))),
                        ("scrape_ms_p99", .double(Self.round(Self.percentile(samples, 0.99)))),
                        ("scrape_ms_first", .double(Self.round(first))), ("scrape_ms_max", .double(Self.round(samples.last ?? 0))),
                        ("exposition_bytes", .int(Int64(bytes))),
                    ]
                }
        }
    }
}

/// Counters shared by a bench's concurrent clients.
final class BenchTally: Sendable {
    private let counts: Mutex<[Int]>

    /// `size` counters at 0.
    init(_ size: Int) { counts = Mutex([Int](repeating: 0, count: size)) }

    /// Runs `body` on the counters under their lock.
    func withLock<T>(_ body: (inout [Int]) -> T) -> T { counts.withLock { body(&$0) } }
}
