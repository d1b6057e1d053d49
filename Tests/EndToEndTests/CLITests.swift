import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing
@testable import nightshift

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `nightshift` API commands, run as child processes against a `nightshift serve` child on a
/// random loopback port: what they print, what they change, and their exit codes.
@Suite("CLI", .serialized)
struct CLITests {
    @Test("submit, logs --follow shows the output and exits 0; the task is done; --json parses")
    func submitAndFollow() async throws {
        try await withDaemon { cli in
            let submitted = try await cli.json(["submit", "echo hello", "--label", "e2e", "--json"])
            let id = try #require(submitted["id"]?.stringValue)
            for key in ["id", "state", "agent", "attempt", "result", "error"] {
                #expect(submitted[key] != nil, "task JSON has \(key)")
            }
            #expect(submitted["agent"] == "shell")

            let logs = try await cli.run(["logs", id, "--follow"])
            #expect(logs.status == 0, "logs --follow: \(logs)")
            #expect(logs.stdout.contains("stdout"))
            #expect(logs.stdout.contains("hello"))
            #expect(logs.stdout.contains("running → done"))

            let task = try await cli.json(["show", id, "--json"])
            #expect(task["state"] == "done")
            #expect(task["result"] == "hello")
            #expect(task["attempt"] == 1)

            let human = try await cli.run(["show", id])
            #expect(human.status == 0)
            #expect(human.stdout.contains("done") && human.stdout.contains("hello"))

            // submit --follow prints the id, then the log, and exits 0 for a task that ends done.
            let followed = try await cli.run(["submit", "echo followed", "--follow"])
            #expect(followed.status == 0, "\(followed)")
            #expect(followed.stdout.contains("followed"))
            #expect(followed.stdout.contains("→ done"))

            // submit --wait prints the result.
            let waited = try await cli.run(["submit", "echo waited", "--wait"])
            #expect(waited.status == 0, "\(waited)")
            #expect(waited.stdout.split(separator: "\n").last == "waited")

            // Every --json output is JSON.
            let list = try await cli.json(["list", "--json", "--label", "e2e"])
            guard case .array(let tasks)? = list["tasks"] else {
                Issue.record("list --json has no tasks array: \(list)")
                return
            }
            #expect(tasks.map { $0["id"] } == [.string(id)])
            let all = try await cli.json(["list", "--json", "--all", "--limit", "1"])
            if case .array(let every)? = all["tasks"] { #expect(every.count == 3) } else { Issue.record("list --all --json") }
            let status = try await cli.json(["status", "--json"])
            #expect(status["counts"]?["done"] == 3)
            let agents = try await cli.json(["agents", "--json"])
            if case .array(let list)? = agents["agents"] {
                #expect(list.contains { $0["name"] == "shell" })
            } else {
                Issue.record("agents --json has no agents array: \(agents)")
            }
            let events = try await cli.run(["logs", id, "--json"])
            #expect(events.status == 0)
            let lines = events.stdout.split(separator: "\n")
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { (try? JSONValue(jsonText: String($0)))?["seq"] != nil })

            // Human list, status and agents output.
            for arguments in [["list"], ["status"], ["agents"]] {
                let result = try await cli.run(arguments)
                #expect(result.status == 0, "\(arguments): \(result)")
                #expect(!result.stdout.contains("\u{1B}["), "no colour when stdout is not a terminal")
            }
        }
    }

    @Test("cancel a running task: it ends cancelled and submit --wait of it exits 1")
    func cancelRunning() async throws {
        try await withDaemon { cli in
            let submitted = try await cli.json(["submit", "sleep 30", "--idempotency-key", "cancel-me", "--json"])
            let id = try #require(submitted["id"]?.stringValue)
            #expect(try await eventually(timeout: .seconds(20)) { try await cli.json(["show", id, "--json"])["state"] == "running" })

            // The same idempotency key answers the same task; --wait follows it.
            let waiter = try cli.start(["submit", "sleep 30", "--idempotency-key", "cancel-me", "--wait"])
            try await Task.sleep(for: .milliseconds(300))
            let cancelled = try await cli.json(["cancel", id, "--json"])
            #expect(cancelled["state"] == "cancelled")

            let waited = try await waiter.finish(timeout: .seconds(20))
            #expect(waited.status == 1, "submit --wait of a cancelled task: \(waited)")
            #expect(waited.stdout.hasPrefix(id))
            #expect(waited.stderr.contains("error: "))
            #expect(try await cli.json(["show", id, "--json"])["state"] == "cancelled")

            let again = try await cli.run(["cancel", id])
            #expect(again.status == 1, "cancelling a cancelled task is refused (409): \(again)")
            #expect(again.stderr.hasPrefix("error: "))

            let follow = try await cli.run(["logs", id, "--follow"])
            #expect(follow.status == 1, "logs --follow of a cancelled task: \(follow)")
            #expect(follow.stdout.contains("running → cancelled"))
        }
    }

    @Test("a task that errors after its attempts can be retried; --json shows the attempts")
    func retryErrored() async throws {
        try await withDaemon { cli in
            let failed = try await cli.run(["submit", "exit 3", "--wait", "--json"])
            #expect(failed.status == 1, "submit --wait of a failing task: \(failed)")
            let task = try JSONValue(jsonText: failed.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            let id = try #require(task["id"]?.stringValue)
            #expect(task["state"] == "error")
            #expect(task["attempt"] == 2, "the shell agent tries twice")
            #expect(task["error"] != nil && task["error"] != .null)

            let retried = try await cli.json(["retry", id, "--json"])
            #expect(retried["id"] == .string(id))
            #expect(["queued", "running", "error"].contains(retried["state"]?.stringValue ?? ""))

            let follow = try await cli.run(["logs", id, "--follow"])
            #expect(follow.status == 1, "logs --follow of a task that ends in error: \(follow)")
            let final = try await cli.json(["show", id, "--json"])
            #expect(final["state"] == "error")
            let attempt = if case .int(let value)? = final["attempt"] { value } else { Int64(0) }
            #expect(attempt > 2, "the retry ran as a new attempt")
            #expect(final["failures"] == 2, "the manual retry started the count of failures afresh")

            // Runs started and failures against the attempts allowed are shown apart, never as "4/2".
            let list = try await cli.run(["list"])
            let rows = list.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(rows.first?[3...4] == ["RUNS", "FAILURES"], "\(list)")
            let row = try #require(rows.first { $0.first == id }, "\(list)")
            #expect(row[3...4] == ["\(attempt)", "2/2"], "\(list)")
            let show = try await cli.run(["show", id])
            let fields = show.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(fields.contains(["attempts", "\(attempt)"]), "\(show)")
            #expect(fields.contains(["failures", "2/2"]), "\(show)")
            #expect(fields.contains(["interruptions", "0"]), "no run was lost to the node: \(show)")
        }
    }

    @Test("show prints a task's interruptions apart from attempts and failures")
    func showInterruptions() {
        let task = AgentTask(
            id: TaskID.generate(), workspaceID: "default", agent: "shell", prompt: "p", payload: .object([:]), priority: 0,
            lane: nil, labels: [], origin: nil, idempotencyKey: nil, dedupKey: nil, budgetUSD: nil, timeout: nil,
            retry: RetryPolicy(maxAttempts: 2), availableAt: Date(), state: .queued, attempt: 3, failures: 1, createdAt: Date(),
            updatedAt: Date(), finishedAt: nil, result: nil, error: nil, costUSD: 0, interruptions: 2)
        let fields = Dictionary(ShowCommand.fields(of: WireTask(task), now: Date(), full: false)) { first, _ in first }
        #expect(fields["attempts"] == "3")
        #expect(fields["failures"] == "1/2")
        #expect(fields["interruptions"] == "2")
    }

    @Test("show cuts a long result and says --full prints it whole")
    func longResult() async throws {
        try await withDaemon { cli in
            let task = try await cli.json(["submit", "seq 1 1000", "--wait", "--json"])
            let id = try #require(task["id"]?.stringValue)
            #expect(task["state"] == "done")

            let cut = try await cli.run(["show", id])
            #expect(cut.status == 0, "\(cut)")
            let shown = cut.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(shown.contains("40") && !shown.contains("41") && !shown.contains("1000"), "\(cut)")
            #expect(cut.stdout.contains("--full shows all"), "\(cut)")
            let full = try await cli.run(["show", id, "--full"])
            let whole = full.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(whole.contains("41") && whole.contains("1000") && !full.stdout.contains("--full"), "\(full)")
        }
    }

    @Test("logs aligns the text after every event type (checkpoint and tool_call too)")
    func alignedLogs() async throws {
        try await withDaemon { cli in
            let script = #"echo '{"type":"checkpoint","summary":"half way"}'; echo done"#
            let id = try #require(try await cli.json(["submit", script, "--wait", "--json"])["id"]?.stringValue)
            let logs = try await cli.run(["logs", id])
            #expect(logs.status == 0, "\(logs)")
            var types: Set<String> = []
            var columns: Set<Int> = []
            for line in logs.stdout.split(separator: "\n") {
                // HH:MM:SS.mmm, two spaces, the type, spaces, the text.
                let rest = line.dropFirst(14)
                let type = rest.prefix { $0 != " " }
                types.insert(String(type))
                columns.insert(type.count + rest.dropFirst(type.count).prefix { $0 == " " }.count)
            }
            #expect(types.isSuperset(of: ["state", "checkpoint", "stdout"]), "\(logs)")
            #expect(columns.count == 1, "the text starts in one column: \(columns)")
            #expect(columns.first == CLIOutput.eventTypeWidth)
            // The agent CLIs' types (not written by a shell task) line up with them.
            for type in ["tool_call", "tool_result", "file_change", "checkpoint", "log"] {
                let line = CLIOutput.eventLine(try WireEvent(json: ["seq": 1, "type": .string(type), "time": "2026-01-01T00:00:00.000Z", "data": ["text": "x"]]))
                #expect(line.dropFirst(14).firstIndex(of: "x").map { line.distance(from: line.index(line.startIndex, offsetBy: 14), to: $0) }
                    == CLIOutput.eventTypeWidth, "\(line)")
            }
        }
    }

    @Test("logs --follow survives a daemon restart: it reconnects and prints every event exactly once")
    func followAcrossRestart() async throws {
        let home = try makeHome()
        let port = try freePort()
        let arguments = ["--listen", "127.0.0.1:\(port)", "--poll-interval", "0.05", "--shutdown-grace", "0.2",
                         "--log-level", "warning"]
        let cli = CLIRunner(url: "http://127.0.0.1:\(port)", home: home)
        let first = try DaemonProcess(home: home, arguments: arguments)
        #expect(try await eventually(timeout: .seconds(20)) { try await cli.run(["status", "--json"]).status == 0 }, "log:\n\(first.output)")
        let script = "for i in 1 2 3 4 5 6; do echo line $i; sleep 0.3; done"
        let id = try #require(try await cli.json(["submit", script, "--json"])["id"]?.stringValue)
        let follower = try cli.start(["logs", id, "--follow", "--json"])
        #expect(await eventually(timeout: .seconds(20)) {
            (try? String(contentsOf: follower.stdoutFile, encoding: .utf8))?.contains("line 2") == true
        })
        #expect(await first.stop(SIGKILL) != nil)
        try await Task.sleep(for: .milliseconds(500))
        let second = try DaemonProcess(home: home, arguments: arguments)
        let followed = try await follower.finish(timeout: .seconds(30))
        #expect(followed.status == 0, "\(followed)\ndaemon log:\n\(second.output)")
        let events = try followed.stdout.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
        let seqs = events.compactMap { event -> Int64? in if case .int(let seq)? = event["seq"] { seq } else { nil } }
        #expect(seqs == Array(1...Int64(max(seqs.count, 1))), "every event once, in order: \(seqs)")
        #expect(events.last?["data"]?["to"] == "done")
        let stored = try await cli.run(["logs", id, "--json"])
        #expect(stored.stdout.split(separator: "\n").count == events.count, "the stream missed no stored event")
        #expect(await second.stop(SIGTERM) == 0)
    }

    @Test("exit codes: 3 for an unknown id, 2 for a usage error, 4 for an unreachable daemon")
    func exitCodes() async throws {
        try await withDaemon { cli in
            let unknown = try await cli.run(["show", "no-such-task"])
            #expect(unknown.status == 3, "\(unknown)")
            #expect(unknown.stderr.hasPrefix("error: "))
            #expect(try await cli.run(["logs", "no-such-task", "--follow"]).status == 3)
            #expect(try await cli.run(["cancel", "no-such-task", "--json"]).status == 3)

            let badFlag = try await cli.run(["list", "--bogus"])
            #expect(badFlag.status == 2, "\(badFlag)")
            #expect(badFlag.stderr.hasPrefix("error: "))
            #expect(try await cli.run(["submit"]).status == 2, "missing prompt")
            #expect(try await cli.run(["list", "--limit", "0"]).status == 2, "validation error")
            #expect(try await cli.run(["frobnicate"]).status == 2, "unknown subcommand")
            #expect(try await cli.run(["submit", "x", "--agent", "no-such-agent"]).status == 2, "rejected input")
            #expect(try await cli.run(["list", "--url", "not a url"]).status == 2)
            #expect(try await cli.run(["--help"]).status == 0)
            let version = try await cli.run(["--version"])
            #expect(version.status == 0 && version.stdout == NightshiftCommand.version + "\n", "\(version)")

            let closed = try freePort()
            let unreachable = try await cli.run(["status", "--url", "http://127.0.0.1:\(closed)"])
            #expect(unreachable.status == 4, "\(unreachable)")
            #expect(unreachable.stderr.hasPrefix("error: "))
            #expect(try await cli.run(["submit", "echo x", "--url", "http://127.0.0.1:\(closed)"]).status == 4)

            let unauthorized = try await cli.run(["status"], environment: ["NIGHTSHIFT_TOKEN": "wrong"])
            #expect(unauthorized.status == 1, "\(unauthorized)")
        }
    }
}

extension CLITests {
    @Test("archive hides a task that ended; priority changes a queued task's; both refuse a state that does not allow them")
    func archiveAndPriority() async throws {
        try await withDaemon { cli in
            let done = try #require(try await cli.json(["submit", "true", "--wait", "--json"])["id"]?.stringValue)
            let archived = try await cli.run(["archive", done])
            #expect(archived.status == 0 && archived.stdout == "\(done)  done\n", "\(archived)")
            let live = try await cli.json(["list", "--json"])["tasks"]
            #expect(live == .array([]), "archived tasks leave the list: \(String(describing: live))")
            let hidden = try await cli.json(["list", "--archived", "--json"])["tasks"]
            if case .array(let tasks)? = hidden { #expect(tasks.map { $0["id"] } == [.string(done)]) } else { Issue.record("no tasks") }

            let queued = try #require(try await cli.json(["submit", "true", "--delay", "600", "--json"])["id"]?.stringValue)
            let raised = try await cli.run(["priority", queued, "7"])
            #expect(raised.status == 0 && raised.stdout == "\(queued)  queued  priority 7\n", "\(raised)")
            #expect(try await cli.json(["show", queued, "--json"])["priority"] == 7)
            #expect(try await cli.json(["priority", queued, "3", "--json"])["priority"] == 3)

            let ended = try await cli.run(["priority", done, "1"])
            #expect(ended.status == 1 && ended.stderr.hasPrefix("error: "), "a task that ended keeps its priority: \(ended)")
            let running = try await cli.run(["archive", queued])
            #expect(running.status == 1 && running.stderr.contains("only finished tasks"), "\(running)")
            #expect(try await cli.run(["archive", "no-such-task"]).status == 3)
            #expect(try await cli.run(["priority", queued, "many"]).status == 2)
        }
    }

    @Test("agents add, set and delete manage agents through the API; tasks run on an added agent")
    func agentsAddSetDelete() async throws {
        try await withDaemon { cli in
            let added = try await cli.json([
                "agents", "add", "lint", "--runner", "command", "--config", #"{"command":["/bin/echo","linted"]}"#,
                "--concurrency", "2", "--timeout", "60", "--max-attempts", "3", "--initial-backoff", "0.5", "--max-backoff", "9",
                "--budget", "5", "--inject-memories", "--json",
            ])
            #expect(added["name"] == "lint" && added["runner"] == "command", "\(added)")
            #expect(added["config"]?["command"] == ["/bin/echo", "linted"], "\(added)")
            #expect(added["concurrency"] == 2 && added["timeout"]?.doubleValue == 60 && added["max_attempts"] == 3, "\(added)")
            #expect(added["initial_backoff"]?.doubleValue == 0.5 && added["max_backoff"]?.doubleValue == 9, "\(added)")
            #expect(added["budget_usd"]?.doubleValue == 5 && added["inject_memories"] == true, "\(added)")
            let ran = try await cli.run(["submit", "x", "--agent", "lint", "--wait"])
            #expect(ran.status == 0 && ran.stdout.hasSuffix("linted\n"), "\(ran)")

            let twice = try await cli.run(["agents", "add", "lint", "--runner", "command", "--config", #"{"command":["/bin/true"]}"#])
            #expect(twice.status == 1 && twice.stderr.contains("agents set lint"), "\(twice)")
            let replaced = try await cli.run(["agents", "set", "lint", "--runner", "command", "--config", #"{"command":["/bin/true"]}"#])
            #expect(replaced.status == 0 && replaced.stdout == "lint  command\n", "\(replaced)")
            let stored = try await cli.json(["agents", "--json"])
            guard case .array(let agents)? = stored["agents"], let lint = agents.first(where: { $0["name"] == "lint" }) else {
                Issue.record("lint is not listed: \(stored)")
                return
            }
            #expect(lint["config"]?["command"] == ["/bin/true"] && lint["concurrency"] == .null && lint["budget_usd"] == .null, "\(lint)")
            let created = try await cli.run(["agents", "set", "fmt", "--runner", "command", "--config", #"{"command":["/bin/true"]}"#])
            #expect(created.status == 0, "set creates an agent: \(created)")

            let badConfig = try await cli.run(["agents", "add", "x", "--runner", "command", "--config", "[1]"])
            #expect(badConfig.status == 2 && badConfig.stderr.contains("--config"), "\(badConfig)")
            let badRunner = try await cli.run(["agents", "add", "x", "--runner", "aider"])
            #expect(badRunner.status == 2 && badRunner.stderr.contains("runner"), "\(badRunner)")

            let deleted = try await cli.run(["agents", "delete", "lint"])
            #expect(deleted.status == 0 && deleted.stdout == "deleted lint\n", "\(deleted)")
            #expect(try await cli.run(["agents", "delete", "lint"]).status == 3)
            #expect(try await cli.json(["agents", "rm", "fmt", "--json"]) == ["deleted": "fmt"])
            let left = try await cli.json(["agents", "--json"])["agents"]
            if case .array(let names)? = left { #expect(names.map { $0["name"] } == ["shell"]) } else { Issue.record("no agents") }
        }
    }

    @Test("status lists a run in progress once, among the active runs, not again among the recent ones")
    func statusActiveOnce() async throws {
        try await withDaemon { cli in
            let done = try #require(try await cli.json(["submit", "true", "--wait", "--json"])["id"]?.stringValue)
            let id = try #require(try await cli.json(["submit", "sleep 30", "--json"])["id"]?.stringValue)
            #expect(try await eventually(timeout: .seconds(20)) {
                if case .array(let runs)? = try await cli.json(["status", "--json"])["active_runs"] { return !runs.isEmpty }
                return false
            })
            let status = try await cli.run(["status"])
            #expect(status.status == 0, "\(status)")
            #expect(status.stdout.components(separatedBy: id).count == 2, "the running task once: \(status.stdout)")
            let recent = try #require(status.stdout.components(separatedBy: "Recent runs").last, "\(status.stdout)")
            #expect(recent.contains(done) && !recent.contains(id), "\(status.stdout)")
            _ = try await cli.json(["cancel", id, "--json"])
        }
    }

    @Test("submit: a repeat by key says which task answered; a bad --agent lists the agents; --budget sets the task's budget")
    func submitNotes() async throws {
        try await withDaemon { cli in
            let first = try await cli.run(["submit", "sleep 30", "--dedup-key", "nightly"])
            #expect(first.status == 0 && first.stderr.isEmpty, "\(first)")
            let id = first.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let again = try await cli.run(["submit", "sleep 30", "--dedup-key", "nightly"])
            #expect(again.status == 0 && again.stdout == id + "\n", "the id stays alone on stdout: \(again)")
            #expect(again.stderr.hasPrefix("already queued as \(id) ("), "\(again)")
            #expect(again.stderr.contains("--dedup-key"), "\(again)")
            let json = try await cli.run(["submit", "sleep 30", "--dedup-key", "nightly", "--json"])
            #expect(json.stderr.isEmpty && (try? JSONValue(jsonText: json.stdout))?["id"] == .string(id), "--json is unchanged: \(json)")
            _ = try await cli.json(["cancel", id, "--json"])

            let unknown = try await cli.run(["submit", "x", "--agent", "no-such-agent"])
            #expect(unknown.status == 2, "\(unknown)")
            #expect(unknown.stderr.hasPrefix("error: ") && unknown.stderr.contains("no-such-agent"), "\(unknown)")
            #expect(unknown.stderr.contains("defined agents: shell"), "\(unknown)")

            let budgeted = try await cli.json(["submit", "echo x", "--budget", "0.5", "--json"])
            #expect(budgeted["budget_usd"]?.doubleValue == 0.5, "\(budgeted)")
            let shown = try await cli.run(["show", try #require(budgeted["id"]?.stringValue)])
            #expect(shown.stdout.contains("budget") && shown.stdout.contains("$0.5000"), "\(shown)")
            for bad in ["0", "nan"] {
                let refused = try await cli.run(["submit", "echo x", "--budget", bad])
                #expect(refused.status == 2 && refused.stderr.contains("--budget"), "\(refused)")
            }
        }
    }

    @Test("bench --help has no hard line breaks: each paragraph is wrapped to the width it is shown in")
    func benchHelpWraps() {
        let wide = NightshiftCommand.helpMessage(for: BenchCommand.self, columns: 250).split(separator: "\n")
        let w1 = wide.first { $0.contains("W1: submit") }
        #expect(w1?.hasSuffix("drain rate from the first claim to the last settle.") == true, "\(w1 ?? "")")
        let narrow = NightshiftCommand.helpMessage(for: BenchCommand.self, columns: 60).split(separator: "\n")
            .prefix { !$0.hasPrefix("USAGE:") }
        #expect(narrow.count > 10 && narrow.allSatisfy { $0.count <= 60 }, "\(narrow.filter { $0.count > 60 })")
    }

    @Test("serve on a port already in use names the address and exits 1")
    func portInUse() async throws {
        try await withDaemon { cli in
            let port = try #require(URL(string: cli.url)?.port)
            let second = try DaemonProcess(home: try makeHome(), arguments: ["--listen", "127.0.0.1:\(port)", "--log-level", "warning"])
            #expect(try await eventually(timeout: .seconds(30)) { !second.process.isRunning })
            let output = second.output
            #expect(second.process.terminationStatus == 1, "\(output)")
            #expect(output.contains("error: cannot listen on 127.0.0.1:\(port): address already in use\n"), "\(output)")
            #expect(!output.contains("bind("), "\(output)")
        }
    }

    @Test("agents check: a missing CLI's problem goes on its own line under the table, not into the PATH column")
    func agentsCheckProblem() async throws {
        try await withDaemon(config: "[agents.ghost]\nrunner = \"claude_code\"\nexecutable = \"no-such-agent-cli\"\n") { cli in
            let check = try await cli.run(["agents", "check"])
            #expect(check.status == 1, "\(check)")
            let lines = check.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let row = try #require(lines.first { $0.hasPrefix("ghost ") }, "\(check)")
            #expect(row.split(separator: " ") == ["ghost", "claude_code", "no", "-", "-"], "\(row)")
            #expect(lines.prefix { !$0.isEmpty }.allSatisfy { $0.count <= 80 }, "no cell is stretched:\n\(check.stdout)")
            let problem = try #require(lines.first { $0.hasPrefix("ghost: ") }, "\(check)")
            #expect(problem.contains("not found: no-such-agent-cli") && problem.contains("PATH="), "\(problem)")
            let shell = try #require(lines.first { $0.hasPrefix("shell ") })
            #expect(shell.split(separator: " ").prefix(3) == ["shell", "command", "yes"], "\(shell)")
        }
    }

    @Test("serve: a bad or missing config file prints the error alone and exits 78; a bad --listen is a usage error")
    func configErrors() async throws {
        let home = try makeHome()
        try "[agents.build]\nrunner = \"command\"\ncommand = [\"/usr/bin/make\"]\ntimeout = 5.5\n"
            .write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let listen = ["--listen", "127.0.0.1:\(try freePort())"]
        for (arguments, expected, words) in [
            (listen, CLIExitCodes.config, ["nightshift.toml", "agents.build.timeout"]),
            (listen + ["--config", home.appendingPathComponent("absent.toml").path], CLIExitCodes.config, ["absent.toml"]),
            (["--listen", "nowhere"], CLIExitCodes.usage, ["--listen"]),
        ] {
            let daemon = try DaemonProcess(home: home, arguments: arguments)
            #expect(try await eventually(timeout: .seconds(30)) { !daemon.process.isRunning })
            let output = daemon.output
            #expect(daemon.process.terminationStatus == expected, "\(arguments): \(output)")
            #expect(output.hasPrefix("error: "), "\(output)")
            for word in words { #expect(output.contains(word), "\(output)") }
            let usage = output.contains("Usage: nightshift serve")
            #expect(usage == (expected == CLIExitCodes.usage), "the usage text follows usage errors only: \(output)")
        }
    }
}

// MARK: Harness

/// The outcome of one `nightshift` invocation.
struct CLIResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}

/// A `nightshift` invocation still running.
final class CLIProcess: @unchecked Sendable {
    let process: ChildProcess
    let stdoutFile: URL
    let stderrFile: URL

    /// Starts `nightshift ARGUMENTS`.
    convenience init(arguments: [String], environment: [String: String], directory: URL) throws {
        try self.init(executable: NightshiftBinary.url.path, arguments: arguments, environment: environment, directory: directory)
    }

    /// Starts `executable ARGUMENTS` (another program that runs nightshift, such as `script`).
    init(executable: String, arguments: [String], environment: [String: String], directory: URL) throws {
        let name = UUID().uuidString
        stdoutFile = directory.appendingPathComponent("cli-\(name).out")
        stderrFile = directory.appendingPathComponent("cli-\(name).err")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        process = try ChildProcess(
            executable: executable, arguments: arguments, environment: environment, stdout: stdoutFile.path,
            stderr: stderrFile.path)
    }

    /// Waits for the exit (killing the process after `timeout`); answers its status and output.
    func finish(timeout: Duration = .seconds(60)) async throws -> CLIResult {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            Issue.record("nightshift \(process.arguments) did not finish within \(timeout)")
        }
        process.waitUntilExit()
        return CLIResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "")
    }
}

/// Runs `nightshift` commands against one daemon: `--url` and `$NIGHTSHIFT_HOME` point at it.
struct CLIRunner: Sendable {
    let url: String
    let home: URL

    /// The environment of a command: this process's without Nightshift settings, plus the daemon's home.
    func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessLaunch.environment.filter { !$0.key.hasPrefix("NIGHTSHIFT_") }
        environment["NIGHTSHIFT_HOME"] = home.path
        environment.removeValue(forKey: "NO_COLOR")
        return environment.merging(extra) { _, new in new }
    }

    /// `nightshift ARGUMENTS --url URL` (unless `--url` is among the arguments or it is `--help` or `--version`).
    func arguments(_ arguments: [String]) -> [String] {
        arguments.contains("--url") || arguments == ["--help"] || arguments == ["--version"] || arguments.first == "--generate-completion-script"
            ? arguments : arguments + ["--url", url]
    }

    /// Starts a command.
    func start(_ arguments: [String], environment: [String: String] = [:]) throws -> CLIProcess {
        try CLIProcess(arguments: self.arguments(arguments), environment: self.environment(environment), directory: home)
    }

    /// Runs a command to its end.
    func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> CLIResult {
        try await start(arguments, environment: environment).finish()
    }

    /// Runs a command that must succeed and print one JSON value; answers it.
    func json(_ arguments: [String]) async throws -> JSONValue {
        let result = try await run(arguments)
        try #require(result.status == 0, "nightshift \(arguments): \(result)")
        return try JSONValue(jsonText: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Runs `body` against a fresh daemon on a random loopback port, then stops the daemon; `config`
/// is the daemon's nightshift.toml.
func withDaemon(config: String? = nil, _ body: (CLIRunner) async throws -> Void) async throws {
    let home = try makeHome()
    try config?.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
    let port = try freePort()
    let daemon = try DaemonProcess(home: home, arguments: [
        "--listen", "127.0.0.1:\(port)", "--poll-interval", "0.05", "--shutdown-grace", "0.2", "--log-level", "warning",
    ])
    let cli = CLIRunner(url: "http://127.0.0.1:\(port)", home: home)
    do {
        let up = try await eventually(timeout: .seconds(30)) {
            guard daemon.process.isRunning else { return true }
            return try await cli.run(["status", "--json"]).status == 0
        }
        try #require(up && daemon.process.isRunning, "the daemon answers on port \(port); its log:\n\(daemon.output)")
        try await body(cli)
    } catch {
        await daemon.stop(SIGTERM)
        throw error
    }
    #expect(await daemon.stop(SIGTERM) == 0, "daemon log:\n\(daemon.output)")
}

/// A loopback TCP port nothing listens on (bound to port 0, read back, closed).
func freePort() throws -> Int {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EADDRINUSE) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EINVAL) }
    return Int(UInt16(bigEndian: address.sin_port))
}
