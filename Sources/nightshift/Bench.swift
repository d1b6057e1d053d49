import Foundation
import Logging
import Nightshift
import NightshiftSQLite
import Synchronization

/// The benchmark workloads. Each runs on a fresh SQLite file under `root`, deleted afterwards.
struct Bench {
    let root: URL
    let durability: SQLiteTaskStore.Configuration.Durability
    /// Keep the databases for inspection instead of deleting them.
    let keep: Bool

    private static let noop = Agent(name: "noop", runner: .builtin)

    func withStore<T>(_ body: (SQLiteTaskStore) async throws -> T) async throws -> T {
        let directory = root.appendingPathComponent("nightshift-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(at: directory) } }
        let store = try SQLiteTaskStore(
            path: directory.appendingPathComponent("bench.db").path, configuration: .init(durability: durability))
        try await store.saveAgent(Self.noop)
        return try await body(store)
    }

    func engine(_ store: SQLiteTaskStore, slots: Int, handler: @escaping BuiltinRunner.Handler) -> Engine {
        var logger = Logger(label: "nightshift.bench")
        logger.logLevel = .error
        return Engine(
            store: store, runners: RunnerRegistry([BuiltinRunner(handlers: ["noop": handler])]),
            configuration: EngineConfiguration(nodeID: "bench", slots: slots, pollInterval: 60, shutdownGrace: 5),
            logger: logger)
    }

    /// Runs `engine` around `body`, then shuts it down.
    func running<T: Sendable>(_ engine: Engine, _ body: () async throws -> T) async throws -> T {
        try await withServices([engine], logger: Logger(label: "bench"), body)
    }

    /// W1: submit throughput, then drain throughput.
    func w1(tasks: Int, slots: Int, submitters: Int) async throws -> [(String, JSONValue)] {
        try await withStore { store in
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
            let engine = engine(store, slots: slots) { _, _ in .succeeded(nil) }
            try await running(engine) {
                while try await store.countsByState()[.done, default: 0] < tasks {
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
            let (firstClaim, lastSettle) = try await drainWindow(store)
            return [
                ("workload", "W1"), ("store", "sqlite"), ("tasks", .int(Int64(tasks))), ("slots", .int(Int64(slots))),
                ("submitters", .int(Int64(submitters))),
                ("submit_per_s", .int(Int64(Double(tasks) / submitSeconds))),
                ("drain_per_s", .int(Int64(Double(tasks) / lastSettle.timeIntervalSince(firstClaim)))),
                ("synchronous", .string(durability.pragma)),
            ]
        }
    }

    /// The time of the first `task.started` and the last `task.done` hook event.
    func drainWindow(_ store: SQLiteTaskStore) async throws -> (Date, Date) {
        var first: Date?
        var last: Date?
        var cursor: Int64 = 0
        while true {
            let page = try await store.hookEvents(after: cursor, limit: 5000)
            guard let tail = page.last else { break }
            cursor = tail.seq
            for event in page {
                if event.type == "task.started", first == nil { first = event.time }
                if event.type == "task.done" { last = event.time }
            }
        }
        guard let first, let last else { throw NightshiftError(.storeUnavailable, "bench: no run was recorded") }
        return (first, last)
    }

    /// W2: latency from a submit returning to the runner starting, one task at a time.
    func w2(tasks: Int, slots: Int) async throws -> [(String, JSONValue)] {
        try await withStore { store in
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
                ("workload", "W2"), ("store", "sqlite"), ("tasks", .int(Int64(tasks))),
                ("p50_ms", .double(Self.round(Self.percentile(latencies, 0.50)))),
                ("p99_ms", .double(Self.round(Self.percentile(latencies, 0.99)))),
                ("synchronous", .string(durability.pragma)),
            ]
        }
    }

    /// W4: the median cost of claiming a batch with `queued` tasks waiting, and the process's RSS.
    func w4(queued: Int) async throws -> [(String, JSONValue)] {
        try await withStore { store in
            var remaining = queued
            let now = Date()
            while remaining > 0 {
                let chunk = min(remaining, 10_000)
                _ = try await store.submitAll(
                    (0..<chunk).map { NewTask(agent: "noop", prompt: "queued \(remaining - $0)", priority: Int.random(in: 0..<10)) },
                    now: now)
                remaining -= chunk
            }
            var samples: [Double] = []
            for _ in 0..<51 {
                let start = ContinuousClock.now
                let claimed = try await store.claim(worker: "bench", limit: 8, leaseDuration: 60, now: Date())
                samples.append((ContinuousClock.now - start).seconds * 1000)
                for run in claimed { _ = try await store.settle(run.lease, outcome: .succeeded(nil), now: Date()) }
            }
            samples.sort()
            return [
                ("workload", "W4"), ("store", "sqlite"), ("queued", .int(Int64(queued))),
                ("claim_ms_median", .double(Self.round(samples[samples.count / 2]))),
                ("rss_mb", .double(Self.round(Self.residentMegabytes()))),
                ("synchronous", .string(durability.pragma)),
            ]
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

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
