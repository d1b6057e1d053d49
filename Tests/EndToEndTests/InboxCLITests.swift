import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

/// The inbox commands (`input`, `approve`, `reject`, `inputs`, `wake`, `drop`, `cancel --reason`)
/// and what `show` and `list` say of a waiting task, run as child processes against a real
/// `nightshift serve` with `command` agents that ask, wait and read their answers on stdin.
@Suite("CLI: task inbox", .serialized)
struct InboxCLITests {
    /// Reads the agent's stdin: `$kind` and `$text` of the last `input` line (empty on a first run).
    static let readLastInput = #"""
        stdin=$(cat)
        last=$(printf '%s\n' "$stdin" | grep '"type":"input"' | tail -n 1)
        text=$(printf '%s\n' "$last" | sed -n 's/.*"text":"\([^"]*\)".*/\1/p')
        kind=$(printf '%s\n' "$last" | sed -n 's/.*"kind":"\([a-z]*\)".*/\1/p')

        """#

    static let scripts = [
        "asker": readLastInput + #"""
            if [ -z "$kind" ]; then echo '{"type":"wait_for_input","question":"Which branch?","options":["main","dev"]}'; exit 0; fi
            printf '{"type":"result","text":"on %s"}\n' "$text"
            """#,
        "pusher": readLastInput + #"""
            case "$kind" in
            approve) printf '{"type":"result","text":"pushed (%s)"}\n' "$text" ;;
            reject) printf '{"type":"result","text":"not pushed: %s"}\n' "$text" ;;
            *) echo '{"type":"request_approval","question":"May I push?","tool":"Bash","input":{"command":"git push"}}' ;;
            esac
            """#,
        "sleeper": readLastInput + #"""
            if [ -z "$kind" ]; then echo '{"type":"wake","after":3600}'; exit 0; fi
            printf '{"type":"result","text":"woke with %s"}\n' "$text"
            """#,
    ]

    /// Adds the agents of ``scripts`` (each a `/bin/sh` script in the daemon's home).
    static func addAgents(_ cli: CLIRunner) async throws {
        for (name, script) in scripts {
            let file = cli.home.appendingPathComponent("\(name).sh")
            try script.write(to: file, atomically: true, encoding: .utf8)
            let config = JSONValue.object(["command": ["/bin/sh", .string(file.path)]]).jsonText
            let added = try await cli.run(["agents", "add", name, "--runner", "command", "--config", config])
            try #require(added.status == 0, "\(added)")
        }
    }

    /// Submits a task to `agent` and waits until it waits; answers its id.
    static func waitingTask(_ cli: CLIRunner, agent: String) async throws -> String {
        let id = try #require(try await cli.json(["submit", "go", "--agent", agent, "--max-attempts", "1", "--json"])["id"]?.stringValue)
        let waits = try await eventually(timeout: .seconds(20)) { try await cli.json(["show", id, "--json"])["state"] == "waiting" }
        let shown = try await cli.run(["show", id])
        try #require(waits, "task \(id) of \(agent) waits: \(shown)")
        return id
    }

    /// Waits until the task ends; answers it (`show --json`).
    static func ended(_ cli: CLIRunner, _ id: String) async throws -> JSONValue {
        var task: JSONValue = .null
        _ = try await eventually(timeout: .seconds(20)) {
            task = try await cli.json(["show", id, "--json"])
            return NightshiftClient.terminalStates.contains(task["state"]?.stringValue ?? "")
        }
        return task
    }

    @Test("input --answer: show and list say what the task waits for; the answer reaches the agent; inputs lists it delivered")
    func answer() async throws {
        try await withDaemon { cli in
            try await Self.addAgents(cli)
            let id = try await Self.waitingTask(cli, agent: "asker")

            let show = try await cli.run(["show", id])
            #expect(show.status == 0, "\(show)")
            let fields = show.stdout.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) } }
            #expect(fields.contains(["question", "Which branch?"]), "\(show)")
            #expect(fields.contains(["options", "main | dev"]), "\(show)")
            let shown = show.stdout.split(separator: "\n")
            #expect(shown.contains { $0.hasPrefix("waiting for") && $0.hasSuffix(" an answer") }, "\(show)")
            #expect(fields.contains(["reply", "nightshift input \(id) TEXT --answer"]), "\(show)")
            let list = try await cli.run(["list", "--state", "waiting"])
            #expect(list.stdout.contains("WAITING FOR"), "\(list)")
            let row = try #require(list.stdout.split(separator: "\n").first { $0.hasPrefix(id) }, "\(list)")
            #expect(row.contains("question: Which branch?"), "\(list)")

            let approve = try await cli.run(["approve", id])
            #expect(approve.status == 1 && approve.stderr.contains("it waits for an answer, not an approval"), "\(approve)")
            let empty = try await cli.run(["input", id, " ", "--answer"])
            #expect(empty.status == 2 && empty.stderr.contains("text"), "\(empty)")
            #expect(try await cli.run(["input", "no-such-task", "dev"]).status == 3)

            let sent = try await cli.run(["input", id, "dev", "--answer", "--idempotency-key", "k1"])
            #expect(sent.status == 0 && sent.stdout == "\(id)  input 1  answer  pending\n", "\(sent)")
            let again = try await cli.run(["input", id, "main", "--answer", "--idempotency-key", "k1"])
            #expect(again.status == 0 && again.stdout.contains("input 1  answer") && again.stdout.contains("sent before"), "\(again)")

            let done = try await Self.ended(cli, id)
            #expect(done["state"] == "done" && done["result"] == "on dev", "\(done)")
            let inputs = try await cli.run(["inputs", id])
            #expect(inputs.status == 0, "\(inputs)")
            let lines = inputs.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(lines.first == ["SEQ", "KIND", "SENDER", "DELIVERY", "CREATED", "TEXT"], "\(inputs)")
            #expect(lines.count == 2 && lines[1].prefix(4) == ["1", "answer", "token:bootstrap", "delivered_resume"], "\(inputs)")
            #expect(lines.last?.last == "dev", "\(inputs)")
            let json = try await cli.json(["inputs", id, "--json"])
            guard case .array(let items)? = json["inputs"] else { Issue.record("inputs --json: \(json)"); return }
            #expect(items.count == 1 && items.first?["delivery"] == "delivered_resume" && items.first?["run_id"]?.stringValue != nil)

            let logs = try await cli.run(["logs", id])
            #expect(logs.stdout.contains("answer from token:bootstrap: dev") && logs.stdout.contains("1 input delivered_resume to run"), "\(logs)")

            let late = try await cli.run(["input", id, "one more thing"])
            #expect(late.status == 1 && late.stderr.contains("is done"), "\(late)")
        }
    }

    @Test("approve and reject --reason: show prints the tool call; the decision and its text reach the agent")
    func approveAndReject() async throws {
        try await withDaemon { cli in
            try await Self.addAgents(cli)
            let approved = try await Self.waitingTask(cli, agent: "pusher")
            let show = try await cli.run(["show", approved])
            #expect(show.stdout.contains("May I push?") && show.stdout.contains("Bash") && show.stdout.contains(#"{"command":"git push"}"#), "\(show)")
            #expect(show.stdout.contains("nightshift approve \(approved)"), "\(show)")
            let approve = try await cli.run(["approve", approved, "--comment", "go ahead", "--json"])
            #expect(approve.status == 0, "\(approve)")
            let input = try JSONValue(jsonText: approve.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(input["kind"] == "approve" && input["text"] == "go ahead", "\(input)")
            #expect(try await Self.ended(cli, approved)["result"] == "pushed (go ahead)")

            let rejected = try await Self.waitingTask(cli, agent: "pusher")
            let noReason = try await cli.run(["reject", rejected])
            #expect(noReason.status == 2 && noReason.stderr.contains("--reason"), "the reason is required: \(noReason)")
            let reject = try await cli.run(["reject", rejected, "--reason", "not on a Friday"])
            #expect(reject.status == 0 && reject.stdout == "\(rejected)  input 1  reject  pending\n", "\(reject)")
            let task = try await Self.ended(cli, rejected)
            #expect(task["state"] == "done" && task["result"] == "not pushed: not on a Friday", "\(task)")
        }
    }

    @Test("wake --prompt continues the agent with the prompt; drop --reason and cancel --reason set the task's error")
    func wakeDropCancel() async throws {
        try await withDaemon { cli in
            try await Self.addAgents(cli)
            let woken = try await Self.waitingTask(cli, agent: "sleeper")
            let show = try await cli.run(["show", woken])
            #expect(show.stdout.contains("its wake time") && show.stdout.contains("wakes"), "\(show)")
            let wake = try await cli.run(["wake", woken, "--prompt", "go now"])
            #expect(wake.status == 0 && wake.stdout.hasPrefix("\(woken)  "), "\(wake)")
            #expect(try await Self.ended(cli, woken)["result"] == "woke with go now")
            let notWaiting = try await cli.run(["wake", woken])
            #expect(notWaiting.status == 1 && notWaiting.stderr.hasPrefix("error: "), "\(notWaiting)")

            let dropped = try await Self.waitingTask(cli, agent: "sleeper")
            let drop = try await cli.run(["drop", dropped, "--reason", "no longer needed"])
            #expect(drop.status == 0 && drop.stdout == "\(dropped)  dropped\n", "\(drop)")
            #expect(try await cli.json(["show", dropped, "--json"])["error"] == "no longer needed")
            #expect(try await cli.run(["show", dropped]).stdout.contains("no longer needed"))

            let queued = try #require(try await cli.json(["submit", "true", "--delay", "600", "--json"])["id"]?.stringValue)
            let cancelled = try await cli.json(["cancel", queued, "--reason", "changed my mind", "--json"])
            #expect(cancelled["state"] == "cancelled" && cancelled["error"] == "changed my mind", "\(cancelled)")
        }
    }
}
