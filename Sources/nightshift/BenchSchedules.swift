import Foundation
import Logging
import Nightshift

extension Bench {
    /// W6, schedules: `due` schedules due at the same instant, and the time the scheduler takes to
    /// fire them all; the cost of one idle poll (nothing due) with those `due` schedules and with
    /// `idle` (the fire-time index keeps it flat); and the fire lag of one schedule firing every second
    /// for `lagSeconds` seconds (from its fire time to its task's submit).
    func w6(due: Int, idle: Int, lagSeconds: Int, slots: Int) async throws -> [(String, JSONValue)] {
        try await withStore { bench in
            let store = bench.store
            try await store.saveAgent(Agent(name: "tick", runner: .builtin))
            var logger = Logger(label: "nightshift.bench")
            logger.logLevel = .error
            // An engine runs once: each phase starts its own.
            let engine = {
                Engine(
                    store: store, runners: RunnerRegistry([BuiltinRunner(handlers: ["tick": { _, _ in .succeeded(nil) }])]),
                    configuration: EngineConfiguration(nodeID: "bench", slots: slots, pollInterval: 60, shutdownGrace: 5), logger: logger)
            }
            let template = TaskTemplate(agent: "tick", prompt: "tick")

            // Fire all: every schedule's first time is the same instant, a few seconds ahead.
            let at = Date().addingTimeInterval(Double(max(3, due / 2000)))
            try await Self.create(due, on: store) { index in
                NewSchedule(name: "due-\(index)", cron: "@every 1h", task: template, startsAt: at)
            }
            var fireSeconds = 0.0
            try await running(engine()) {
                while Date() < at { try await Task.sleep(for: .milliseconds(1)) }
                while let earliest = try await store.earliestScheduleDue(), earliest <= at {
                    try await Task.sleep(for: .milliseconds(1))
                    guard Date().timeIntervalSince(at) < 300 else { throw NightshiftError(.storeUnavailable, "W6: not all fired in 5 minutes") }
                }
                // From the instant they were due (the scheduler may have fired them all before this
                // loop first looked) to when none is due any more.
                fireSeconds = Date().timeIntervalSince(at)
            }

            // An idle poll, with few and with many schedules (none due).
            let later = Date().addingTimeInterval(86_400)
            let pollFew = try await Self.pollCost(store)
            try await Self.create(idle - due, on: store) { index in
                NewSchedule(name: "idle-\(index)", cron: "@every 1h", task: template, startsAt: later)
            }
            let pollMany = try await Self.pollCost(store)

            // Fire lag: one schedule every second.
            let ticking = try await store.createSchedule(NewSchedule(name: "every-second", cron: "@every 1s", task: template), source: "api", now: Date())
            var lags: [Double] = []
            try await running(engine()) {
                try await Task.sleep(for: .seconds(lagSeconds))
                var query = TaskQuery()
                query.limit = 1000
                query.agent = "tick"
                let fired = try await store.listTasks(query).tasks.filter { $0.scheduleID == ticking.id }
                lags = fired.compactMap { task in task.scheduledFor.map { task.createdAt.timeIntervalSince($0) * 1000 } }.sorted()
            }
            return [
                ("workload", "W6"), ("store", .string(storeName)), ("due_schedules", .int(Int64(due))),
                ("fire_all_s", .double(Self.round(fireSeconds))),
                ("fire_per_s", .double(Self.round(Double(due) / max(fireSeconds, 1e-9)))),
                ("idle_poll_ms_few", .double(Self.round(pollFew))), ("idle_schedules", .int(Int64(idle))),
                ("idle_poll_ms_many", .double(Self.round(pollMany))),
                ("lag_fires", .int(Int64(lags.count))),
                ("lag_p50_ms", .double(Self.round(Self.percentile(lags, 0.50)))),
                ("lag_p99_ms", .double(Self.round(Self.percentile(lags, 0.99)))),
                bench.durability,
            ]
        }
    }

    /// Creates `count` schedules made by `make`, 64 at a time (so commits are shared).
    private static func create(_ count: Int, on store: any TaskStore, _ make: @escaping @Sendable (Int) -> NewSchedule) async throws {
        guard count > 0 else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            for _ in 0..<min(64, count) {
                let index = next
                next += 1
                group.addTask { _ = try await store.createSchedule(make(index), source: "bench", now: Date()) }
            }
            while try await group.next() != nil {
                if next < count {
                    let index = next
                    next += 1
                    group.addTask { _ = try await store.createSchedule(make(index), source: "bench", now: Date()) }
                }
            }
        }
    }

    /// Milliseconds of one idle scheduler poll (the due query and the earliest fire time), the
    /// median of 200.
    private static func pollCost(_ store: any TaskStore) async throws -> Double {
        var samples: [Double] = []
        for _ in 0..<200 {
            let start = ContinuousClock.now
            _ = try await store.dueSchedules(now: Date(), limit: Engine.scheduleBatch)
            _ = try await store.earliestScheduleDue()
            samples.append((ContinuousClock.now - start).seconds * 1000)
        }
        return percentile(samples.sorted(), 0.5)
    }
}
