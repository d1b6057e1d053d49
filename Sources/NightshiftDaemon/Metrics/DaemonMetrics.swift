import Foundation
import Nightshift
import Prometheus
import Synchronization

/// Who may read `/metrics` (`server.metrics`).
public enum MetricsAccess: String, Sendable, CaseIterable {
    /// Anyone who reaches the port: the default when the daemon listens on loopback only.
    case open
    /// An admin token of the `default` workspace (the operator's): the default elsewhere, since the
    /// figures name every workspace's agents.
    case token
    /// Not served (404), and no census kept.
    case off
}

/// The daemon's Prometheus metrics (docs/metrics.md): the engine's own counters and timings
/// (``EngineMetrics``, through swift-metrics into this registry) and, set at each scrape from
/// figures kept or read cheaply, the store's tasks by state (the ``TaskCensus``), the queue
/// (``TaskQueries/queueStats()``) and the parked quota groups.
public final class DaemonMetrics: Sendable {
    /// The registry `/metrics` prints.
    public let registry: PrometheusCollectorRegistry
    /// The factory the engine's measurements go to (``EngineConfiguration/metrics``).
    public let factory: PrometheusMetricsFactory
    /// Tasks by workspace, agent and state; a service to run beside the engine.
    public let census: TaskCensus
    /// Who may read them.
    public let access: MetricsAccess
    /// The gauges set at the last scrape, by name and labels (one gone since is removed); its lock
    /// lets one scrape at a time set every gauge, then print them.
    private let scraped = Mutex<[String: Gauge]>([:])
    /// The queue's figures as last read, when, and whether a read is under way.
    private let queue = Mutex<(stats: [QueueStat], at: ContinuousClock.Instant?, reading: Task<Void, Never>?)>(([], nil, nil))
    /// How old the queue's figures may be before a scrape reads them again (in the background).
    public let queueRefresh: Duration

    /// Metrics of `store`, readable as `access` says.
    public init(store: any TaskStore, access: MetricsAccess, queueRefresh: Duration = .seconds(15)) {
        self.queueRefresh = queueRefresh
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Runs take seconds to hours, not milliseconds.
        factory.durationHistogramBuckets["nightshift_run_duration_seconds"] = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200].map {
            Duration.seconds($0)
        }
        factory.durationHistogramBuckets["nightshift_claim_latency_seconds"] = [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300, 1800].map {
            Duration.milliseconds(Int64($0 * 1000))
        }
        factory.durationHistogramBuckets["nightshift_store_transaction_seconds"] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
            .map { Duration.microseconds(Int64($0 * 1_000_000)) }
        self.factory = factory
        census = TaskCensus(store: store)
        self.access = access
    }

    /// The queue's figures and their age in seconds. They are read again in the background once
    /// older than ``queueRefresh`` (the read costs what the queue holds, so it is not made per
    /// scrape); a scrape that comes before the first read (``prime(store:)``) has ended waits for
    /// it, up to `timeout`.
    func queueStats(store: any TaskStore, waiting timeout: Duration) async -> ([QueueStat], Double) {
        if let reading = refreshQueue(store: store) {
            // The first read: wait for it (bounded), so the first scrape has the queue too.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await reading.value }
                group.addTask { try? await Task.sleep(for: timeout) }
                await group.next()
                group.cancelAll()
            }
        }
        return queue.withLock { queue in (queue.stats, queue.at.map { (ContinuousClock.now - $0).seconds } ?? 0) }
    }

    /// Starts the first read of the queue's figures now, as the daemon starts (beside the census's
    /// first count), so that the first scrape finds them.
    public func prime(store: any TaskStore) {
        _ = refreshQueue(store: store)
    }

    /// Starts a read of the queue's figures in the background if they are older than
    /// ``queueRefresh`` and none is under way; answers the read while there are no figures yet.
    private func refreshQueue(store: any TaskStore) -> Task<Void, Never>? {
        let now = ContinuousClock.now
        return queue.withLock { queue in
            if let at = queue.at, now - at < queueRefresh { return nil }
            if queue.reading == nil {
                queue.reading = Task {
                    let stats = try? await store.queueStats()
                    self.queue.withLock { queue in
                        if let stats { queue.stats = stats; queue.at = .now }
                        queue.reading = nil
                    }
                }
            }
            return queue.at == nil ? queue.reading : nil
        }
    }

    /// The metrics in Prometheus' text format, the store's figures read now: the census's counts
    /// (waiting up to `censusWait` for its first count), the queue and the parked quota groups.
    public func exposition(engine: Engine, censusWait: Duration = .seconds(5)) async throws -> [UInt8] {
        let census = await census.snapshot(waiting: censusWait)
        let (queue, queueAge) = await queueStats(store: engine.store, waiting: censusWait)
        let pacing = try await engine.agentPacing()
        let now = engine.clock.now
        return scraped.withLock { scraped in
            var values: [(name: String, help: String, labels: [(String, String)], value: Double)] = []
            for (key, count) in census?.counts ?? [:] where count != 0 {
                values.append((
                    "nightshift_tasks", "Tasks by workspace, agent and state.",
                    [("workspace", key.workspace), ("agent", key.agent), ("state", key.state.rawValue)], Double(count)
                ))
            }
            for stat in queue {
                let labels = [("workspace", stat.workspace), ("agent", stat.agent), ("lane", stat.lane)]
                values.append(("nightshift_queue_depth", "Queued tasks by workspace, agent and lane.", labels, Double(stat.depth)))
                values.append((
                    "nightshift_queue_oldest_age_seconds", "Seconds since the oldest queued task became available.", labels,
                    max(0, now.timeIntervalSince(stat.oldestAvailableAt))
                ))
            }
            for agent in pacing where agent.parkedUntil.map({ $0 > now }) == true {
                values.append((
                    "nightshift_parked_agents", "Agents whose quota group is parked by a usage limit (1 while parked).",
                    [("workspace", agent.agent.workspace), ("agent", agent.agent.name), ("quota_group", agent.quotaGroup)], 1
                ))
            }
            values.append(("nightshift_census_seq", "The hook seq the task counts reflect.", [], Double(census?.seq ?? 0)))
            values.append((
                "nightshift_queue_stats_age_seconds", "How old the queue depth and oldest age figures are (read at most every 15 s).", [],
                queueAge
            ))
            var next: [String: Gauge] = [:]
            var previous = scraped
            for value in values {
                let key = value.name + "\u{0}" + value.labels.map { "\($0.0)=\($0.1)" }.joined(separator: "\u{0}")
                let gauge = previous.removeValue(forKey: key) ?? registry.makeGauge(name: value.name, labels: value.labels, help: value.help)
                gauge.set(value.value)
                next[key] = gauge
            }
            for gone in previous.values { registry.unregisterGauge(gone) }
            scraped = next
            return registry.emitToBuffer()
        }
    }
}
