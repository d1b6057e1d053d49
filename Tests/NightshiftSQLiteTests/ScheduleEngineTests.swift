import Foundation
import Logging
import Nightshift
import NightshiftTestSupport
import Testing

/// The scheduler of an engine, on each store: schedules fire on time, each occurrence once.
@Suite("Engine: schedules")
struct ScheduleEngineTests {
    static func engine(_ store: any TaskStore, retryDelay: Double = 30) -> Engine {
        var configuration = EngineConfiguration(
            nodeID: "node-sched", slots: 4, rescueInterval: 0.2, pollInterval: 60,
            workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-work-\(UUID().uuidString)"))
        configuration.scheduleRetryDelay = retryDelay
        var logger = Logger(label: "test.engine")
        logger.logLevel = .warning
        return Engine(
            store: store, runners: RunnerRegistry([BuiltinRunner(handlers: ["echo": { request, _ in .succeeded(request.task.prompt) }])]),
            configuration: configuration, logger: logger)
    }

    static func query(_ limit: Int) -> TaskQuery {
        var query = TaskQuery()
        query.limit = limit
        return query
    }

    @Test("an @every 1s schedule fires each second through the engine, each occurrence once, without waiting for the 60 s poll", arguments: StoreKind.allCases)
    func everySecond(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        try await withEngine(Self.engine(store)) { engine in
            let schedule = try await engine.createSchedule(NewSchedule(cron: "@every 1s", task: TaskTemplate(agent: "echo", prompt: "tick")))
            var tasks: [AgentTask] = []
            #expect(try await eventually {
                tasks = try await store.listTasks(Self.query(100)).tasks.filter { $0.scheduleID == schedule.id }
                return tasks.count >= 3
            })
            let occurrences = tasks.compactMap(\.scheduledFor).sorted()
            #expect(Set(occurrences).count == occurrences.count, "each occurrence once: \(occurrences)")
            for (earlier, later) in zip(occurrences, occurrences.dropFirst()) {
                let gap = later.timeIntervalSince(earlier)
                #expect(abs(gap - gap.rounded()) < 0.001 && gap >= 1, "whole seconds apart from the schedule's creation: \(gap)")
            }
            #expect(try await eventually { try await store.task(tasks[0].id)?.state == .done }, "the fired task runs")
        }
    }

    @Test("a schedule whose task is refused keeps its time and fires once the agent exists", arguments: StoreKind.allCases)
    func refusedThenFired(kind: StoreKind) async throws {
        let store = try await kind.make()
        try await withEngine(Self.engine(store, retryDelay: 0.2)) { engine in
            let schedule = try await engine.createSchedule(NewSchedule(cron: "@every 1s", task: TaskTemplate(agent: "echo", prompt: "tick")))
            #expect(try await eventually { try await store.schedule(schedule.id, workspace: nil)?.lastError != nil })
            let waiting = try #require(try await store.schedule(schedule.id, workspace: nil))
            #expect(waiting.lastError?.contains("echo") == true)
            #expect(waiting.nextRunAt == schedule.nextRunAt, "the refused time stays due")
            try await store.saveAgent(echoAgent)
            #expect(try await eventually {
                try await store.listTasks(Self.query(10)).tasks.contains { $0.scheduleID == schedule.id && $0.scheduledFor == schedule.nextRunAt }
            }, "the refused occurrence itself fires")
        }
    }
}
