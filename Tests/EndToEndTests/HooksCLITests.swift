import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

/// `nightshift hooks` against a `nightshift serve` child: a consumer polls, acks and lists; an
/// application emits its own event, and a command agent's `emit` line joins the same stream.
@Suite("CLI: hook consumers", .serialized)
struct HooksCLITests {
    static let config = """
        [agents.reviewer]
        runner = "command"
        command = ["/bin/sh", "-c", "echo '{\\"type\\":\\"emit\\",\\"event\\":\\"feature_review_ready\\",\\"data\\":{\\"pr\\":7}}'; echo reviewed"]
        """

    @Test("hooks poll --ack, ack, consumers, emit and rm, with the exit codes of a conflict, a bad seq and an unknown consumer")
    func consumer() async throws {
        try await withDaemon(config: Self.config) { cli in
            let submitted = try await cli.run(["submit", "--agent", "reviewer", "--wait", "review it"])
            #expect(submitted.status == 0, "\(submitted)")
            let task = try #require(try await cli.json(["list", "--json"])["tasks"]?.arrayValue?.first?["id"]?.stringValue)
            let first = try await cli.json(["hooks", "poll", "--consumer", "ci", "--json"])
            #expect(first["events"]?.arrayValue?.map { $0["type"] } == ["task.queued", "task.started", "feature_review_ready", "task.done"])
            #expect(first["events"]?.arrayValue?[2]["data"] == ["pr": 7])
            #expect(first["consumer"]?["ack"] == 0)
            // --ack moves past what was printed; the text form names the events.
            let printed = try await cli.run(["hooks", "poll", "--consumer", "ci", "--limit", "2", "--ack"])
            #expect(printed.status == 0 && printed.stdout.contains("task.queued") && printed.stdout.contains("task.started"), "\(printed)")
            #expect(printed.stderr.contains("ci: ack 2, lag 2"), "\(printed)")
            let rest = try await cli.json(["hooks", "poll", "--consumer", "ci", "--json"])
            #expect(rest["events"]?.arrayValue?.map { $0["type"] } == ["feature_review_ready", "task.done"])

            let emitted = try await cli.run(["hooks", "emit", task, "post_merge_closure", "--data", #"{"merged":true}"#])
            #expect(emitted.status == 0 && emitted.stdout == "emitted post_merge_closure on \(task)\n", "\(emitted)")
            #expect(try await cli.run(["hooks", "emit", task, "task.done"]).status == 2, "the lifecycle's prefix")
            #expect(try await cli.run(["hooks", "emit", "0193a1b2-0000-7000-8000-000000000001", "fine"]).status == 3, "no such task")

            let acked = try await cli.run(["hooks", "ack", "--consumer", "ci", "5"])
            #expect(acked.status == 0 && acked.stdout == "ci  ack 5  lag 0\n", "\(acked)")
            let behind = try await cli.run(["hooks", "ack", "--consumer", "ci", "3"])
            #expect(behind.status == 1 && behind.stderr.contains("at 5"), "\(behind)")
            #expect(try await cli.run(["hooks", "ack", "--consumer", "ci", "99"]).status == 2)
            #expect(try await cli.run(["hooks", "ack", "--consumer", "nobody", "1"]).status == 3)

            let listed = try await cli.run(["hooks", "consumers"])
            let rows = listed.stdout.split(separator: "\n").map { $0.split(separator: " ").prefix(3).map(String.init) }
            #expect(rows == [["CONSUMER", "ACK", "LAG"], ["ci", "5", "0"]], "\(listed)")
            #expect(try await cli.json(["hooks", "rm", "ci", "--json"]) == ["deleted": "ci"])
            #expect(try await cli.run(["hooks", "rm", "ci"]).status == 3)
            #expect(try await cli.run(["hooks", "consumers"]).stdout == "no consumers\n")
        }
    }

    @Test("submit --origin --session --thread --no-notify: the task carries its origin, and a channel binding from the config file is told of it")
    func origin() async throws {
        let receiver = WebhookReceiver(secret: "ops-secret")
        try await receiver.serving { url in
            let config = Self.config + "\n[channels.ops]\nurl = \"\(url)\"\nsecret = \"ops-secret\"\nevents = [\"done\"]\n"
            try await withDaemon(config: config) { cli in
                let told = try await cli.json(["submit", "--agent", "reviewer", "--origin", "ops", "--session", "C1", "--thread", "9.9", "--wait", "--json", "tell me"])
                #expect(told["origin"] == ["channel": "ops", "session": "C1", "thread": "9.9", "notify": true], "\(told)")
                let quiet = try await cli.json(["submit", "--agent", "reviewer", "--origin", "ops", "--no-notify", "--wait", "--json", "quietly"])
                #expect(quiet["origin"]?["notify"] == false)
                #expect(try await cli.run(["submit", "--no-notify", "x"]).status == 2, "--no-notify without --origin")
                #expect(try await eventually { receiver.accepted.count >= 1 })
                let done = try #require(receiver.accepted.first?.body)
                #expect(done["kind"] == "done" && done["title"] == "tell me" && done["task_id"] == told["id"])
                // Once the channel has looked at every event, the quiet task's done is not among what it told.
                let events = try await cli.run(["events", "--json"]).stdout.split(separator: "\n")
                let last = try #require(events.last.flatMap { try? JSONValue(jsonText: String($0)) }?["seq"])
                #expect(try await eventually { try await cli.json(["webhooks", "show", "ops", "--json"])["cursor"] == last })
                #expect(receiver.accepted.map { $0.body["task_id"] } == [told["id"]])
            }
        }
    }
}
