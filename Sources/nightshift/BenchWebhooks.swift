import Foundation
import Hummingbird
import Logging
import Nightshift
import NightshiftDaemon
import Synchronization

extension Bench {
    /// W7: `tasks` no-op tasks drained `rounds` times without a webhook and `rounds` times with
    /// one subscribed to every event (delivered over loopback HTTP to a receiver in this process),
    /// alternating, each drain on a fresh store. One drain of 10,000 tasks lasts about 2 s, so one
    /// pair swings by ±10 % on a shared VM: the ratio is of the medians. Reports both median drain
    /// rates and each round's, the delivery rate, and the lag from an event's commit to the
    /// receiver (p50, p99) over every webhook round.
    func w7(tasks: Int, slots: Int, rounds: Int) async throws -> [(String, JSONValue)] {
        var plain: [Double] = []
        var hooked: [Double] = []
        var lags: [Double] = []
        var deliveryRates: [Double] = []
        var durability: (String, JSONValue) = ("synchronous", .null)
        for _ in 0..<rounds {
            let (rate, setting) = try await withStore { bench in
                try await submitAll(bench.store, tasks: tasks)
                try await drain(bench.store, slots: slots, tasks: tasks, nodeID: "bench")
                let (first, last) = try await drainWindow(bench.store)
                return (Double(tasks) / last.timeIntervalSince(first), bench.durability)
            }
            plain.append(rate)
            durability = setting
            let round = try await webhookRound(tasks: tasks, slots: slots)
            hooked.append(round.drain)
            lags += round.lags
            deliveryRates.append(round.deliveryRate)
        }
        let (plainMedian, hookedMedian) = (Self.median(plain), Self.median(hooked))
        lags.sort()
        return [
            ("workload", "W7"), ("store", .string(storeName)), ("tasks", .int(Int64(tasks))), ("slots", .int(Int64(slots))),
            ("rounds", .int(Int64(rounds))),
            ("drain_per_s_plain", .int(Int64(plainMedian))), ("drain_per_s_webhook", .int(Int64(hookedMedian))),
            ("drain_ratio", .double(Self.round(hookedMedian / plainMedian))),
            ("plain_rounds", .array(plain.map { .int(Int64($0)) })), ("webhook_rounds", .array(hooked.map { .int(Int64($0)) })),
            ("delivery_per_s", .int(Int64(Self.median(deliveryRates)))),
            ("lag_p50_ms", .double(Self.round(Self.percentile(lags, 0.50)))),
            ("lag_p99_ms", .double(Self.round(Self.percentile(lags, 0.99)))),
            durability,
        ]
    }

    /// One drain with the webhook: its rate, the delivery rate, and each drained event's lag (ms).
    private func webhookRound(tasks: Int, slots: Int) async throws -> (drain: Double, deliveryRate: Double, lags: [Double]) {
        let receiver = BenchReceiver()
        return try await receiver.serving { url in
            try await withStore { bench in
                let store = bench.store
                _ = try await store.createWebhook(NewWebhook(name: "bench", url: url, secret: "bench-secret"), source: "bench", now: Date())
                try await submitAll(store, tasks: tasks)
                let events = 3 * tasks
                let engine = engine(store, slots: slots, nodeID: "bench", webhookSender: WebhookHTTPSender()) { _, _ in .succeeded(nil) }
                try await running(engine) {
                    try await waitUntilDone(store, tasks: tasks)
                    // Every event: queued (at submit), started and done, for each task.
                    let deadline = ContinuousClock.now + .seconds(600)
                    while receiver.count < events, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(50))
                    }
                }
                guard receiver.count == events else {
                    throw NightshiftError(.storeUnavailable, "bench: the receiver got \(receiver.count) of \(events) events in 600 s")
                }
                let (first, last) = try await drainWindow(store)
                // The lag of the events the drain committed (the queued ones were committed before
                // the webhook's worker started).
                var times: [Int64: Date] = [:]
                try await forEachHookEvent(store) { event in
                    if event.type != "task.queued" { times[event.seq] = event.time }
                }
                let received = receiver.received
                let lags = received.compactMap { seq, at in times[seq].map { at.timeIntervalSince($0) * 1000 } }
                let arrivals = received.values.sorted()
                let span = (arrivals.last ?? Date()).timeIntervalSince(arrivals.first ?? Date())
                return (Double(tasks) / last.timeIntervalSince(first), Double(received.count) / max(span, 1e-9), lags)
            }
        }
    }

    /// The median of `values` (0 for none).
    static func median(_ values: [Double]) -> Double {
        percentile(values.sorted(), 0.5)
    }

    /// Submits `tasks` no-op tasks one by one.
    private func submitAll(_ store: any TaskStore, tasks: Int) async throws {
        for index in 0..<tasks { _ = try await store.submit(NewTask(agent: "noop", prompt: "task \(index)"), now: Date()) }
    }
}

/// W7's receiver: answers 200 and keeps when each event's seq first arrived.
final class BenchReceiver: Sendable {
    private let arrivals = Mutex<[Int64: Date]>([:])

    /// When each seq first arrived.
    var received: [Int64: Date] { arrivals.withLock { $0 } }
    /// How many seqs arrived.
    var count: Int { arrivals.withLock { $0.count } }

    /// Runs the receiver on 127.0.0.1 (a free port) around `body`, which gets its URL.
    func serving<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            var request = request
            let at = Date()
            let text = String(buffer: try await request.collectBody(upTo: 1 << 20))
            if let seq = (try? JSONValue(jsonText: text))?["seq"]?.doubleValue {
                self.arrivals.withLock { arrivals in if arrivals[Int64(seq)] == nil { arrivals[Int64(seq)] = at } }
            }
            return Response(status: .ok)
        }
        var logger = Logger(label: "nightshift.bench.receiver")
        logger.logLevel = .error
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "bench"),
            onServerRunning: { channel in
                bound.yield(channel.localAddress?.port ?? 0)
                bound.finish()
            },
            logger: logger)
        return try await withServices([app], logger: logger) {
            var port = 0
            for await value in ports { port = value }
            return try await body("http://127.0.0.1:\(port)/hook")
        }
    }
}
