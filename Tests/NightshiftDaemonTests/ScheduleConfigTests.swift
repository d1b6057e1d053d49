import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftSQLite
import Testing

/// `[schedules.NAME]` in nightshift.toml, and how `serve` reconciles them with the store.
@Suite("Config: schedules")
struct ScheduleConfigTests {
    static let full = """
        [schedules.nightly]
        cron = "0 2 * * *"
        timezone = "Europe/Berlin"
        agent = "build"
        prompt = "Run the nightly checks"
        labels = ["nightly", "ci"]
        lane = "ci"
        priority = 3
        budget_usd = 2.5
        timeout = "30m"
        max_attempts = 2
        missed = "once"
        overlap = "skip"
        paused = true
        starts_at = 2027-01-01T00:00:00+01:00
        ends_at = "2027-12-31T23:00:00Z"

        [schedules.tick]
        cron = "@every 5m"
        agent = "build"
        prompt = "tick"
        """

    @Test("every key loads; the defaults where the file says nothing")
    func loads() throws {
        let config = try NightshiftConfig(toml: Self.full, path: "nightshift.toml")
        #expect(config.schedules.map(\.name) == ["nightly", "tick"])
        let nightly = try #require(config.schedules.first)
        #expect(nightly.cron == "0 2 * * *" && nightly.timezone == "Europe/Berlin")
        #expect(nightly.task == TaskTemplate(
            agent: "build", prompt: "Run the nightly checks", priority: 3, lane: "ci", labels: ["nightly", "ci"], budgetUSD: 2.5,
            timeout: 1800, maxAttempts: 2))
        #expect(nightly.missed == .once && nightly.overlap == .skip && nightly.paused)
        #expect(nightly.startsAt == Date(timeIntervalSince1970: 1_798_758_000), "2026-12-31T23:00:00Z")
        #expect(nightly.endsAt == Date(timeIntervalSince1970: 1_830_294_000))
        let tick = config.schedules[1]
        #expect(tick.timezone == "UTC" && tick.missed == .skip && tick.overlap == .allow && !tick.paused && tick.task.labels == [])
        #expect(tick.workspaceID == Workspace.defaultID)
    }

    @Test("a bad key is refused naming schedules.NAME.KEY", arguments: [
        ("cron = \"0 25 * * *\"", "schedules.x.cron", "position 3"),
        ("cron = \"@daily\"\ntimezone = \"Mars/Olympus\"", "schedules.x.timezone", "Mars/Olympus"),
        ("cron = \"@daily\"\nmissed = \"all\"", "schedules.x.missed", "once"),
        ("cron = \"@daily\"\ncolour = \"red\"", "schedules.x.colour", "unknown key"),
        ("cron = \"@daily\"\npriority = -1", "schedules.x.priority", "≥ 0"),
        ("cron = \"@daily\"\nstarts_at = 2027-01-01T00:00:00", "schedules.x.starts_at", "offset"),
        ("cron = \"@daily\"\nstarts_at = \"2027-01-02T00:00:00Z\"\nends_at = \"2027-01-01T00:00:00Z\"", "schedules.x.ends_at", "after"),
        ("timezone = \"UTC\"", "schedules.x.cron", "missing"),
    ])
    func refused(lines: String, key: String, mentions: String) throws {
        let error = #expect(throws: NightshiftError.self) {
            try NightshiftConfig(toml: "[schedules.x]\nagent = \"build\"\nprompt = \"p\"\n\(lines)", path: "nightshift.toml")
        }
        #expect(error?.field == key, "\(error?.message ?? "")")
        #expect(error?.message.contains(mentions) == true, "\(error?.message ?? "")")
    }

    @Test("a blank prompt is refused naming schedules.NAME.prompt")
    func blankPrompt() throws {
        let error = #expect(throws: NightshiftError.self) {
            try NightshiftConfig(toml: "[schedules.x]\ncron = \"@daily\"\nagent = \"build\"\nprompt = \" \"", path: "nightshift.toml")
        }
        #expect(error?.field == "schedules.x.prompt", "\(error?.message ?? "")")
    }

    @Test("reconciling creates, replaces what changed, keeps what did not, deletes config schedules no longer declared, leaves API ones")
    func reconciles() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-sched-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteTaskStore(path: directory.appendingPathComponent("nightshift.db").path)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let declared = try NightshiftConfig(toml: Self.full, path: "nightshift.toml").schedules
        let api = try await store.createSchedule(
            NewSchedule(name: "mine", cron: "@hourly", task: TaskTemplate(agent: "build", prompt: "p")), source: "api", now: t0)

        let first = try await ScheduleReconciliation.apply(declared, to: store, now: t0)
        #expect(first.created == ["nightly", "tick"] && first.replaced.isEmpty && first.deleted.isEmpty)
        let tick = try #require(try await store.schedule("tick", workspace: Workspace.defaultID))
        #expect(tick.source == "config")

        // Unchanged: left alone, its next fire time too (a later start does not move it).
        let again = try await ScheduleReconciliation.apply(declared, to: store, now: t0.addingTimeInterval(7200))
        #expect(again == ScheduleReconciliation())
        #expect(try await store.schedule("tick", workspace: nil)?.nextRunAt == tick.nextRunAt)

        // `tick` changed, `nightly` left the file.
        var changed = declared[1]
        changed.task.prompt = "tock"
        let third = try await ScheduleReconciliation.apply([changed], to: store, now: t0)
        #expect(third.replaced == ["tick"] && third.deleted == ["nightly"] && third.created.isEmpty)
        let replaced = try #require(try await store.schedule("tick", workspace: nil))
        #expect(replaced.id == tick.id && replaced.spec.task.prompt == "tock" && replaced.source == "config")
        #expect(try await store.schedule("nightly", workspace: nil) == nil)
        #expect(try await store.schedule("mine", workspace: nil)?.id == api.id, "made through the API: untouched")

        // An empty file removes what it declared, nothing else.
        let last = try await ScheduleReconciliation.apply([], to: store, now: t0)
        #expect(last.deleted == ["tick"])
        #expect(try await store.schedules(workspace: nil).map(\.id) == [api.id])
    }
}
