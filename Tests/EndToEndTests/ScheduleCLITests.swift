import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

/// `nightshift schedule …` against a real `nightshift serve`, and `schedule next` without one.
@Suite("Schedule CLI")
struct ScheduleCLITests {
    @Test("a schedule the config declares is listed; trigger makes a task; add, show, pause, resume and rm work")
    func throughTheDaemon() async throws {
        let config = """
            [schedules.nightly]
            cron = "0 2 * * *"
            timezone = "Europe/Berlin"
            agent = "shell"
            prompt = "echo nightly"
            labels = ["nightly"]
            """
        try await withDaemon(config: config) { cli in
            let listed = try await cli.json(["schedule", "list", "--json"])
            let nightly = try #require(listed["schedules"]?.arrayValue?.first)
            #expect(nightly["name"] == "nightly" && nightly["source"] == "config" && nightly["timezone"] == "Europe/Berlin")
            let table = try await cli.run(["schedule", "list"])
            #expect(table.status == 0 && table.stdout.contains("nightly") && table.stdout.contains("0 2 * * *"), "\(table)")

            let triggered = try await cli.json(["schedule", "trigger", "nightly", "--json"])
            let id = try #require(triggered["id"]?.stringValue)
            #expect(triggered["schedule_id"] == nightly["id"] && triggered["labels"] == ["nightly"])
            #expect(try await eventually { try await cli.json(["show", id, "--json"])["state"] == "done" })

            let shown = try await cli.run(["schedule", "show", "nightly"])
            #expect(shown.status == 0 && shown.stdout.contains("next fire times") && shown.stdout.contains(id), "\(shown)")
            #expect(shown.stdout.contains("02:00:00 +01:00") || shown.stdout.contains("02:00:00 +02:00"), "\(shown)")

            let added = try await cli.run([
                "schedule", "add", "standup", "--cron", "0 9 * * 1-5", "--tz", "Europe/Berlin", "--agent", "shell", "--prompt", "echo hi",
                "--label", "daily", "--overlap", "skip",
            ])
            #expect(added.status == 0 && added.stdout.contains("standup") && added.stdout.contains("next in"), "\(added)")
            let again = try await cli.run(["schedule", "add", "standup", "--cron", "@daily", "--agent", "shell", "--prompt", "x"])
            #expect(again.status == 1 && again.stderr.contains("exists"), "\(again)")
            let bad = try await cli.run(["schedule", "add", "bad", "--cron", "0 9 * * 1-8", "--agent", "shell", "--prompt", "x"])
            #expect(bad.status == 2 && bad.stderr.contains("position"), "\(bad)")

            let paused = try await cli.json(["schedule", "pause", "standup", "--json"])
            #expect(paused["paused"] == true && paused["next_run_at"] == .null)
            #expect(try await cli.run(["schedule", "resume", "standup"]).stdout.contains("next in"))
            #expect(try await cli.run(["schedule", "rm", "standup"]).status == 0)
            let gone = try await cli.run(["schedule", "show", "standup"])
            #expect(gone.status == 3, "\(gone)")
        }
    }

    @Test("schedule next prints 5 weekday 09:00 times in Europe/Berlin, and UTC; a bad expression exits 2 naming the position")
    func next() async throws {
        let home = try makeHome()
        // No daemon, and no --url: `next` computes here.
        let cli = { (arguments: [String]) async throws -> CLIResult in
            try await CLIProcess(arguments: arguments, environment: ProcessLaunch.environment, directory: home).finish()
        }
        let result = try await cli(["schedule", "next", "0 9 * * 1-5", "--tz", "Europe/Berlin", "-n", "5"])
        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 5, "\(result)")
        for line in lines {
            let words = line.split(separator: " ")
            #expect(["Mon", "Tue", "Wed", "Thu", "Fri"].contains(String(words.first ?? "")), "\(line)")
            #expect(words.count > 2 && words[2] == "09:00:00", "\(line)")
            #expect(line.contains("UTC"), "\(line)")
        }

        let printed = try await cli(["schedule", "next", "0 9 * * 1-5", "--tz", "Europe/Berlin", "--json"])
        let json = try JSONValue(jsonText: printed.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let times = try (json["next"]?.arrayValue ?? []).map { try JSONTime.date($0, field: "next") }
        var berlin = Calendar(identifier: .gregorian)
        berlin.timeZone = try #require(TimeZone(identifier: "Europe/Berlin"))
        #expect(times.count == 5 && times.allSatisfy { berlin.component(.hour, from: $0) == 9 && (2...6).contains(berlin.component(.weekday, from: $0)) })

        let bad = try await cli(["schedule", "next", "0 9 * * 1-8", "--tz", "Europe/Berlin"])
        #expect(bad.status == 2 && bad.stderr.contains("position 9"), "\(bad)")
        let zone = try await cli(["schedule", "next", "@daily", "--tz", "Mars/Olympus"])
        #expect(zone.status == 2 && zone.stderr.contains("Mars/Olympus"), "\(zone)")
    }
}
