import CoreMetrics
import Foundation

/// What the engine measures, through swift-metrics: each figure goes to the metrics factory the
/// engine was given (the daemon's Prometheus registry behind `/metrics`; by default swift-metrics'
/// global one, which does nothing unless a program bootstraps it). docs/metrics.md lists them.
///
/// These are this node's counters and timings; what is the whole store's (tasks by state, the
/// queue) is read from the ``TaskCensus`` and the store when scraped.
public struct EngineMetrics: Sendable {
    /// The factory every figure goes to.
    public let factory: any MetricsFactory

    /// Measures into `factory`.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// A run of `agent` was claimed `latency` seconds after its task became available.
    func claimed(agent: String, latency: Double) {
        Timer(label: "nightshift_claim_latency_seconds", dimensions: [("agent", agent)], factory: factory)
            .recordNanoseconds(Self.nanoseconds(latency))
    }

    /// A run of `agent` ended with `outcome` (its label) and `usage`.
    func runEnded(agent: String, outcome: String, usage: RunUsage) {
        Counter(label: "nightshift_runs_total", dimensions: [("agent", agent), ("outcome", outcome)], factory: factory).increment()
        Timer(label: "nightshift_run_duration_seconds", dimensions: [("agent", agent)], factory: factory)
            .recordNanoseconds(Self.nanoseconds(usage.durationSeconds))
        let model = usage.model ?? "unknown"
        for (kind, count) in [("input", usage.tokensIn), ("output", usage.tokensOut), ("cache_read", usage.cacheReadTokens),
            ("cache_write", usage.cacheWriteTokens)] where count > 0
        {
            Counter(label: "nightshift_tokens_total", dimensions: [("agent", agent), ("model", model), ("kind", kind)], factory: factory)
                .increment(by: count)
        }
        if usage.costUSD > 0 {
            FloatingPointCounter(label: "nightshift_cost_usd_total", dimensions: [("agent", agent), ("model", model)], factory: factory)
                .increment(by: usage.costUSD)
        }
    }

    /// A webhook delivery attempt ended with `result` (`delivered`, `failed`, `dead`); `lag` is
    /// the seconds from its event's commit to a delivery's answer.
    func webhookDelivery(webhook: String, result: String, lag: Double?) {
        Counter(label: "nightshift_webhook_deliveries_total", dimensions: [("webhook", webhook), ("result", result)], factory: factory)
            .increment()
        if let lag {
            Timer(label: "nightshift_webhook_lag_seconds", dimensions: [("webhook", webhook)], factory: factory)
                .recordNanoseconds(Self.nanoseconds(lag))
        }
    }

    /// A schedule fired `lag` seconds after its fire time.
    func scheduleFired(lag: Double) {
        Timer(label: "nightshift_schedule_fire_lag_seconds", dimensions: [], factory: factory).recordNanoseconds(Self.nanoseconds(lag))
    }

    /// Times `body`, a store transaction of the engine's named `operation` (`claim`, `settle`, …).
    func transaction<T>(_ operation: String, _ body: () async throws -> T) async rethrows -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            Timer(label: "nightshift_store_transaction_seconds", dimensions: [("operation", operation)], factory: factory)
                .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        return try await body()
    }

    static func nanoseconds(_ seconds: Double) -> Int64 { Int64((max(seconds, 0) * 1e9).rounded()) }
}
