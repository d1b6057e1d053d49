import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

/// `nightshift events`: the global hook stream through the CLI, against a `nightshift serve` child.
@Suite("CLI events")
struct EventsCLITests {
    @Test("events lists every task's lifecycle changes in seq order, filters them, and --follow prints them as they happen")
    func events() async throws {
        try await withDaemon { cli in
            let follower = try cli.start(["events", "--follow", "--json", "--state", "done"])
            var ids: [String] = []
            for text in ["one", "two"] {
                let task = try await cli.json(["submit", "echo \(text)", "--wait", "--json"])
                ids.append(try #require(task["id"]?.stringValue))
            }
            let lines: @Sendable () -> [Substring] = {
                ((try? String(contentsOf: follower.stdoutFile, encoding: .utf8)) ?? "").split(separator: "\n")
            }
            #expect(await eventually(timeout: .seconds(20)) { lines().count >= 2 }, "followed: \(lines())")
            follower.process.terminate()
            _ = try await follower.finish(timeout: .seconds(10))
            let followed = try lines().map { try JSONValue(jsonText: String($0)) }
            #expect(followed.map { $0["task_id"]?.stringValue } == ids)
            #expect(followed.map { $0["type"] } == ["task.done", "task.done"])

            let all = try await cli.run(["events", "--json"])
            #expect(all.status == 0, "\(all)")
            let events = try all.stdout.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
            #expect(events.map { $0["seq"] } == (1...6).map { .int($0) })
            let one = try await cli.run(["events", "--task", ids[0], "--json"])
            #expect(one.stdout.split(separator: "\n").map { try? JSONValue(jsonText: String($0))["type"] }
                == ["task.queued", "task.started", "task.done"])
            let human = try await cli.run(["events", "--task", ids[1]])
            #expect(human.status == 0 && human.stdout.contains("queued → running") && human.stdout.contains(ids[1]), "\(human)")
            let bad = try await cli.run(["events", "--state", "bogus"])
            #expect(bad.status != 0 && bad.stderr.contains("state"), "\(bad)")
        }
    }
}
