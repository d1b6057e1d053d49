import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
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

/// W7's receiver: answers 200 and keeps when each event's seq first arrived (read from the
/// `X-Nightshift-Delivery` header, `<workspace>:<webhook>:<seq>`).
///
/// It stands in for a receiver on another machine, so it takes only the CPU the drain leaves: a
/// plain NIO HTTP/1 server on one event-loop thread of its own at `nice` 19, doing all its
/// work there (no JSON parsing, no Swift concurrency). On a two-core VM a receiver at normal
/// priority took a quarter of a core at 2,500 deliveries a second, and what W7 measures is the
/// sender's cost to the drain, not a co-located receiver's.
final class BenchReceiver: Sendable {
    private let arrivals = Mutex<[Int64: Date]>([:])

    /// When each seq first arrived.
    var received: [Int64: Date] { arrivals.withLock { $0 } }
    /// How many seqs arrived.
    var count: Int { arrivals.withLock { $0.count } }

    /// Runs the receiver on 127.0.0.1 (a free port) around `body`, which gets its URL.
    func serving<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        // The lowest priority, not SCHED_IDLE: on a machine kept busy (the test suite's) an
        // idle-class receiver would hardly run at all.
        let group = WebhookHTTPSender.backgroundEventLoop(nice: 19)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(receiver: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let result = try await body("http://127.0.0.1:\(channel.localAddress?.port ?? 0)/hook")
            try await channel.close()
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await channel.close()
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// Notes the seq of each request's head, answers 200 with no body at its end.
    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let receiver: BenchReceiver

        init(receiver: BenchReceiver) {
            self.receiver = receiver
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                let at = Date()
                if let id = head.headers.first(name: "X-Nightshift-Delivery"), let colon = id.lastIndex(of: ":"),
                   let seq = Int64(id[id.index(after: colon)...])
                {
                    receiver.arrivals.withLock { arrivals in if arrivals[seq] == nil { arrivals[seq] = at } }
                }
            case .body:
                break
            case .end:
                var headers = HTTPHeaders()
                headers.add(name: "Content-Length", value: "0")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
