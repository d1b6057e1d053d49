import Foundation
import Logging
import Nightshift
import NightshiftPostgres
import NightshiftSQLite
import Synchronization

/// The benchmark workloads. Each runs on a fresh store: a SQLite file under a temporary
/// directory, or a schema of its own in a PostgreSQL database; deleted afterwards unless kept.
struct Bench {
    /// Where the benchmark stores live.
    enum Target {
        case sqlite(root: URL, durability: SQLiteTaskStore.Configuration.Durability)
        case postgres(url: PostgresURL)
    }

    let target: Target
    /// Keep the databases for inspection instead of deleting them.
    let keep: Bool

    private static let noop = Agent(name: "noop", runner: .builtin)

    /// `"sqlite"` or `"postgres"`, for the figures' `store` field.
    var storeName: String {
        if case .postgres = target { return "postgres" }
        return "sqlite"
    }

    /// A fresh store with the `noop` agent, and the figure that says how durable its commits are
    /// (`synchronous` for SQLite, `synchronous_commit` for PostgreSQL).
    func withStore<T>(_ body: (BenchStore) async throws -> T) async throws -> T {
        switch target {
        case .sqlite(let root, let durability):
            let directory = root.appendingPathComponent("nightshift-bench-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { if !keep { try? FileManager.default.removeItem(at: directory) } }
            let store = try SQLiteTaskStore(
                path: directory.appendingPathComponent("bench.db").path, configuration: .init(durability: durability))
            try await store.saveAgent(Self.noop)
            return try await body(BenchStore(store: store, durability: ("synchronous", .string(durability.pragma)), url: nil))
        case .postgres(var url):
            url.schema = "nightshift_bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12)
            var logger = Logger(label: "nightshift.bench.postgres")
            logger.logLevel = .error
            let store = try PostgresTaskStore(url: url, logger: logger)
            try await store.migrate()
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                do {
                    try await store.saveAgent(Self.noop)
                    let durability = try await store.setting("synchronous_commit")
                    let result = try await body(BenchStore(store: store, durability: ("synchronous_commit", .string(durability)), url: url))
                    if !keep { try await store.dropSchema() }
                    return result
                } catch {
                    if !keep { try? await store.dropSchema() }
                    throw error
                }
            }
        }
    }

    func engine(
        _ store: any TaskStore, slots: Int, nodeID: String = "bench", webhookSender: (any WebhookSender)? = nil,
        handler: @escaping BuiltinRunner.Handler
    ) -> Engine {
        var logger = Logger(label: "nightshift.bench")
        logger.logLevel = .error
        return Engine(
            store: store, runners: RunnerRegistry([BuiltinRunner(handlers: ["noop": handler])]),
            configuration: EngineConfiguration(nodeID: nodeID, slots: slots, pollInterval: 60, shutdownGrace: 5),
            webhookSender: webhookSender, logger: logger)
    }

    /// Runs `engine` around `body`, then shuts it down.
    func running<T: Sendable>(_ engine: Engine, _ body: () async throws -> T) async throws -> T {
        try await withServices([engine], logger: Logger(label: "bench"), body)
    }

    /// W1: submit throughput, then drain throughput (with `nodes` engines in child processes
    /// when `nodes` > 1, each with `slots` slots).
    func w1(tasks: Int, slots: Int, submitters: Int, nodes: Int) async throws -> [(String, JSONValue)] {
        try await withStore { bench in
            let store = bench.store
            let submitStart = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for submitter in 0..<submitters {
                    group.addTask {
                        for index in stride(from: submitter, to: tasks, by: submitters) {
                            _ = try await store.submit(NewTask(agent: "noop", prompt: "task \(index)"), now: Date())
                        }
                    }
                }
                try await group.waitForAll()
            }
            let submitSeconds = (ContinuousClock.now - submitStart).seconds
            if nodes > 1, let url = bench.url {
                try await BenchNodes.drain(url: url, nodes: nodes, slots: slots, tasks: tasks)
            } else {
                try await drain(store, slots: slots, tasks: tasks, nodeID: "bench")
            }
            let (firstClaim, lastSettle) = try await drainWindow(store)
            var figures: [(String, JSONValue)] = [
                ("workload", "W1"), ("store", .string(storeName)), ("tasks", .int(Int64(tasks))), ("slots", .int(Int64(slots))),
                ("submitters", .int(Int64(submitters))),
            ]
            if nodes > 1 {
                // How many engines took part, from the workers of the last 500 runs.
                let workers = Set(try await store.recentRuns(limit: 500).map(\.workerID))
                figures += [("nodes", .int(Int64(nodes))), ("nodes_seen", .int(Int64(workers.count)))]
            }
            return figures + [
                ("submit_per_s", .int(Int64(Double(tasks) / submitSeconds))),
                ("drain_per_s", .int(Int64(Double(tasks) / lastSettle.timeIntervalSince(firstClaim)))),
                bench.durability,
            ]
        }
    }

    /// Runs an engine with `slots` no-op slots on `store` until `tasks` tasks are done.
    func drain(_ store: any TaskStore, slots: Int, tasks: Int, nodeID: String) async throws {
        let engine = engine(store, slots: slots, nodeID: nodeID) { _, _ in .succeeded(nil) }
        try await running(engine) { try await waitUntilDone(store, tasks: tasks) }
    }

    /// Returns once `tasks` tasks are done. Counting scans the task table on PostgreSQL: it looks
    /// five times a second, which costs the drain little (its rate comes from the hook events'
    /// times, not from this loop).
    func waitUntilDone(_ store: any TaskStore, tasks: Int) async throws {
        while try await store.countsByState()[.done, default: 0] < tasks {
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// The time of the first `task.started` and the last `task.done` hook event.
    func drainWindow(_ store: any TaskStore) async throws -> (Date, Date) {
        var first: Date?
        var last: Date?
        try await forEachHookEvent(store) { event in
            if event.type == "task.started", first == nil { first = event.time }
            if event.type == "task.done" { last = event.time }
        }
        guard let first, let last else { throw NightshiftError(.storeUnavailable, "bench: no run was recorded") }
        return (first, last)
    }

    /// Calls `body` with each event of the store's hook stream, in order, a page at a time.
    func forEachHookEvent(_ store: any TaskStore, _ body: (HookEvent) -> Void) async throws {
        var cursor: Int64 = 0
        while true {
            let page = try await store.hookEvents(after: cursor, limit: 5000)
            guard let tail = page.last else { return }
            cursor = tail.seq
            page.forEach(body)
        }
    }

    /// W2: latency from a submit returning to the runner starting, one task at a time.
    func w2(tasks: Int, slots: Int) async throws -> [(String, JSONValue)] {
        try await withStore { bench in
            let store = bench.store
            let started = Mutex<ContinuousClock.Instant?>(nil)
            let engine = engine(store, slots: slots) { _, _ in
                started.withLock { $0 = .now }
                return .succeeded(nil)
            }
            var latencies: [Double] = []
            try await running(engine) {
                try await Task.sleep(for: .milliseconds(50))
                for index in 0..<tasks {
                    started.withLock { $0 = nil }
                    let id = try await engine.submit(NewTask(agent: "noop", prompt: "latency \(index)")).task.id
                    let submitted = ContinuousClock.now
                    while try await store.task(id)?.state != .done {
                        try await Task.sleep(for: .microseconds(200))
                    }
                    if let start = started.withLock({ $0 }) { latencies.append((start - submitted).seconds * 1000) }
                }
            }
            latencies.sort()
            return [
                ("workload", "W2"), ("store", .string(storeName)), ("tasks", .int(Int64(tasks))),
                ("p50_ms", .double(Self.round(Self.percentile(latencies, 0.50)))),
                ("p99_ms", .double(Self.round(Self.percentile(latencies, 0.99)))),
                bench.durability,
            ]
        }
    }

    /// W4: the median cost of claiming a batch with `queued` tasks waiting, and the process's RSS.
    func w4(queued: Int) async throws -> [(String, JSONValue)] {
        try await withStore { bench in
            let store = bench.store
            try await Self.queue(queued, in: store) { NewTask(agent: "noop", prompt: "queued \(queued - $0)", priority: Int.random(in: 0..<10)) }
            var samples: [Double] = []
            for _ in 0..<51 {
                let start = ContinuousClock.now
                let claimed = try await store.claim(worker: "bench", limit: 8, leaseDuration: 60, now: Date())
                samples.append((ContinuousClock.now - start).seconds * 1000)
                for run in claimed { _ = try await store.settle(run.lease, outcome: .succeeded(nil), now: Date()) }
            }
            samples.sort()
            return [
                ("workload", "W4"), ("store", .string(storeName)), ("queued", .int(Int64(queued))),
                ("claim_ms_median", .double(Self.round(samples[samples.count / 2]))),
                ("rss_mb", .double(Self.round(Self.residentMegabytes()))),
                bench.durability,
            ]
        }
    }

    /// Submits `count` tasks (`make(i)` for i in 0..<count) to `store` in batches of 10,000.
    static func queue(_ count: Int, in store: any TaskStore, _ make: (Int) -> NewTask) async throws {
        let now = Date()
        for start in stride(from: 0, to: count, by: 10_000) {
            _ = try await store.submitAll((start..<min(count, start + 10_000)).map(make), now: now)
        }
    }

    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
    }

    static func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    /// The resident set size of this process, from `/proc/self/status`.
    static func residentMegabytes() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }
}

/// A benchmark's fresh store, how durable its commits are, and, on PostgreSQL, where it is (for
/// engines in other processes).
struct BenchStore {
    let store: any TaskStore
    let durability: (String, JSONValue)
    let url: PostgresURL?
}

