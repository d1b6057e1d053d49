import Foundation
import Nightshift
import Testing

/// Schedules, on every store kind.
@Suite("Store conformance: schedules")
struct ScheduleConformanceTests {
    static let template = TaskTemplate(agent: "echo", prompt: "nightly report", labels: ["nightly"], maxAttempts: 1)

    /// t0 is 2027-01-15 08:00 UTC, a Friday.
    static func daily(_ name: String? = "nightly", missed: MissedRunPolicy = .skip, overlap: OverlapPolicy = .allow) -> NewSchedule {
        NewSchedule(name: name, cron: "0 9 * * *", timezone: "Europe/Berlin", task: template, missed: missed, overlap: overlap)
    }

    @Test("create computes the next fire time; bad input is refused naming the field, nothing written", arguments: StoreKind.allCases)
    func create(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let schedule = try await store.createSchedule(Self.daily(), source: "api", now: t0)
        // 09:00 in Berlin (CET) is 08:00 UTC: t0 itself is not after t0, so the next day.
        #expect(schedule.nextRunAt == t0.addingTimeInterval(86_400))
        #expect(schedule.spec.task == Self.template)
        #expect(try await store.schedule("nightly", workspace: nil)?.id == schedule.id, "found by name")
        #expect(try await store.schedule(schedule.id, workspace: "other") == nil, "scoped by workspace")

        let badCron = await #expect(throws: NightshiftError.self) {
            try await store.createSchedule(NewSchedule(cron: "0 25 * * *", task: Self.template), source: "api", now: t0)
        }
        #expect(badCron?.field == "cron")
        #expect(badCron?.message.contains("position 3") == true, "\(badCron?.message ?? "")")
        let badZone = await #expect(throws: NightshiftError.self) {
            try await store.createSchedule(NewSchedule(cron: "@daily", timezone: "Mars/Olympus", task: Self.template), source: "api", now: t0)
        }
        #expect(badZone?.field == "timezone")
        #expect(badZone?.message.contains("Mars/Olympus") == true)
        let badTask = await #expect(throws: NightshiftError.self) {
            try await store.createSchedule(NewSchedule(cron: "@daily", task: TaskTemplate(agent: "echo", prompt: " ")), source: "api", now: t0)
        }
        #expect(badTask?.field == "task.prompt")
        let taken = await #expect(throws: NightshiftError.self) { try await store.createSchedule(Self.daily(), source: "api", now: t0) }
        #expect(taken?.code == .conflict && taken?.field == "name")
        #expect(try await store.schedules(workspace: nil).map(\.id) == [schedule.id], "nothing half-written")

        let paused = try await store.pauseSchedule("nightly", paused: true, now: t0, workspace: nil)
        #expect(paused.nextRunAt == nil && paused.spec.paused)
        let resumed = try await store.pauseSchedule("nightly", paused: false, now: t0.addingTimeInterval(2 * 86_400), workspace: nil)
        #expect(resumed.nextRunAt == t0.addingTimeInterval(3 * 86_400))
        var changed = Self.daily()
        changed.cron = "30 9 * * 1-5"
        let replaced = try await store.replaceSchedule(schedule.id, with: changed, now: t0, workspace: nil)
        #expect(replaced.id == schedule.id && replaced.spec.cron == "30 9 * * 1-5")
        #expect(replaced.nextRunAt == t0.addingTimeInterval(1800), "Friday 09:30 in Berlin, half an hour after t0")
        let weekend = try await store.replaceSchedule(schedule.id, with: changed, now: t0.addingTimeInterval(3600), workspace: nil)
        #expect(weekend.nextRunAt == t0.addingTimeInterval(3 * 86_400 + 1800), "after Friday's: Monday's, past the weekend")
        #expect(try await store.deleteSchedule("nightly", workspace: nil))
        #expect(try await store.deleteSchedule("nightly", workspace: nil) == false)
    }

    @Test("an occurrence fires once: a compare-and-set on its time; the task carries the schedule, the occurrence and a key made of them", arguments: StoreKind.allCases)
    func fireOnce(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let schedule = try await store.createSchedule(Self.daily(), source: "api", now: t0)
        let occurrence = try #require(schedule.nextRunAt)
        #expect(try await store.dueSchedules(now: occurrence.addingTimeInterval(-1), limit: 10).isEmpty)
        #expect(try await store.dueSchedules(now: occurrence, limit: 10).map(\.id) == [schedule.id])
        #expect(try await store.earliestScheduleDue() == occurrence)

        guard case .fired(let task) = try await store.fireSchedule(schedule.id, occurrence: occurrence, now: occurrence, missedGrace: 60) else {
            Issue.record("not fired")
            return
        }
        #expect(task.scheduleID == schedule.id)
        #expect(task.scheduledFor == occurrence)
        #expect(task.idempotencyKey == "schedule:\(schedule.id):\(Int64(occurrence.timeIntervalSince1970 * 1000))")
        #expect(task.labels == ["nightly"] && task.prompt == "nightly report" && task.retry.maxAttempts == 1)
        #expect(try await store.task(task.id)?.scheduledFor == occurrence, "stored")
        let after = try #require(try await store.schedule(schedule.id, workspace: nil))
        #expect(after.nextRunAt == occurrence.addingTimeInterval(86_400))
        #expect(after.lastRunAt == occurrence && after.lastTaskID == task.id)
        // A second node with the same reading loses the compare-and-set.
        #expect(try await store.fireSchedule(schedule.id, occurrence: occurrence, now: occurrence, missedGrace: 60) == .lost)
        #expect(try await store.countsByState()[.queued] == 1)

        // Triggered: a task now; the next fire time stays.
        let triggered = try await store.triggerSchedule("nightly", now: occurrence.addingTimeInterval(10), workspace: nil)
        #expect(triggered.task.scheduleID == schedule.id)
        #expect(try await store.schedule(schedule.id, workspace: nil)?.nextRunAt == occurrence.addingTimeInterval(86_400))

        // With a key: a repeat answers the first trigger's task and changes nothing.
        let keyed = try await store.triggerSchedule("nightly", now: occurrence.addingTimeInterval(20), workspace: nil, idempotencyKey: "by-hand")
        #expect(keyed.inserted && keyed.task.idempotencyKey == "by-hand")
        let repeated = try await store.triggerSchedule("nightly", now: occurrence.addingTimeInterval(30), workspace: nil, idempotencyKey: "by-hand")
        #expect(!repeated.inserted && repeated.task.id == keyed.task.id)
        let last = try #require(try await store.schedule(schedule.id, workspace: nil))
        #expect(last.lastTaskID == keyed.task.id && last.lastRunAt == occurrence.addingTimeInterval(20))
    }

    @Test("a refused task moves nothing: the fire time stays for a retry, the error is kept, and once the agent exists it fires", arguments: StoreKind.allCases)
    func refused(kind: StoreKind) async throws {
        let store = try await kind.make()
        let schedule = try await store.createSchedule(Self.daily(), source: "api", now: t0)
        let occurrence = try #require(schedule.nextRunAt)
        guard case .refused(let error) = try await store.fireSchedule(schedule.id, occurrence: occurrence, now: occurrence, missedGrace: 60) else {
            Issue.record("not refused")
            return
        }
        #expect(error.field == "agent")
        let kept = try #require(try await store.schedule(schedule.id, workspace: nil))
        #expect(kept.nextRunAt == occurrence, "reverted: still due")
        #expect(kept.lastError?.contains("echo") == true)
        #expect(try await store.countsByState().values.reduce(0, +) == 0, "no task")
        try await store.saveAgent(echoAgent)
        guard case .fired = try await store.fireSchedule(schedule.id, occurrence: occurrence, now: occurrence.addingTimeInterval(5), missedGrace: 60) else {
            Issue.record("not fired on retry")
            return
        }
        #expect(try await store.schedule(schedule.id, workspace: nil)?.lastError == nil)
    }

    @Test("after downtime: skip fires none of the missed times, once fires one; overlap skip skips while the last task is live", arguments: StoreKind.allCases)
    func missedAndOverlap(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let skipping = try await store.createSchedule(Self.daily("skipping"), source: "api", now: t0)
        let first = try #require(skipping.nextRunAt)
        // Three days down: the first missed time is fired late, beyond the grace.
        let late = first.addingTimeInterval(2 * 86_400 + 3600)
        #expect(try await store.fireSchedule(skipping.id, occurrence: first, now: late, missedGrace: 60) == .skipped("missed"))
        #expect(try await store.schedule(skipping.id, workspace: nil)?.nextRunAt == first.addingTimeInterval(3 * 86_400), "the next after now")

        let once = try await store.createSchedule(Self.daily("once", missed: .once), source: "api", now: t0)
        guard case .fired(let task) = try await store.fireSchedule(once.id, occurrence: first, now: late, missedGrace: 60) else {
            Issue.record("not fired")
            return
        }
        #expect(task.scheduledFor == first.addingTimeInterval(2 * 86_400), "once, for the latest missed time")
        #expect(try await store.schedule(once.id, workspace: nil)?.nextRunAt == first.addingTimeInterval(3 * 86_400))

        let single = try await store.createSchedule(Self.daily("single", overlap: .skip), source: "api", now: t0)
        guard case .fired = try await store.fireSchedule(single.id, occurrence: first, now: first, missedGrace: 60) else {
            Issue.record("not fired")
            return
        }
        let second = first.addingTimeInterval(86_400)
        #expect(try await store.fireSchedule(single.id, occurrence: second, now: second, missedGrace: 60) == .skipped("overlap"))
        #expect(try await store.schedule(single.id, workspace: nil)?.nextRunAt == second.addingTimeInterval(86_400))
    }

    @Test("@every fires at fixed intervals from its start; starts_at and ends_at bound it", arguments: StoreKind.allCases)
    func every(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let bounded = NewSchedule(
            cron: "@every 90s", task: Self.template, startsAt: t0.addingTimeInterval(100), endsAt: t0.addingTimeInterval(300))
        let schedule = try await store.createSchedule(bounded, source: "api", now: t0)
        #expect(schedule.nextRunAt == t0.addingTimeInterval(100), "its first time is its start")
        var occurrence = try #require(schedule.nextRunAt)
        var fired: [Date] = []
        while case .fired(let task) = try await store.fireSchedule(schedule.id, occurrence: occurrence, now: occurrence, missedGrace: 60) {
            fired.append(try #require(task.scheduledFor))
            guard let next = try await store.schedule(schedule.id, workspace: nil)?.nextRunAt else { break }
            occurrence = next
        }
        #expect(fired == [100, 190, 280].map { t0.addingTimeInterval($0) })
        #expect(try await store.schedule(schedule.id, workspace: nil)?.nextRunAt == nil, "ended")
        let bad = await #expect(throws: NightshiftError.self) {
            try await store.createSchedule(NewSchedule(cron: "@every 0s", task: Self.template), source: "api", now: t0)
        }
        #expect(bad?.field == "cron")
    }
}
