import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

/// An agent configured in nightshift.toml with a policy, a setup phase, a secret and a repository,
/// run by a real `nightshift serve`: `show`, `diff`, the secret nowhere in the task's events, and
/// bad isolation settings refused at start naming the agent or the key.
@Suite("CLI: isolation", .serialized)
struct IsolationCLITests {
    static func makeRepository(_ home: URL) async throws -> String {
        try await TestRepository.make(at: home.appendingPathComponent("repo").path, commits: [["notes.txt": "one\ntwo\n"]])
    }

    @Test("a sandboxed agent with setup, a secret and a worktree: show prints the diff stat, diff the patch, and no event holds the secret")
    func configuredAgent() async throws {
        let home = try makeHome()
        let repo = try await Self.makeRepository(home)
        let secretFile = home.appendingPathComponent("api-key").path
        try "sk-live-314159265\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let bwrap = FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")
        if !bwrap, ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI=true and /usr/bin/bwrap is missing") }
        let config = """
            [agents.coder]
            runner = "command"
            command = ["/bin/sh", "-c", "cat deps.txt; echo key=$API_KEY; echo three >> notes.txt; git -c user.email=a@b -c user.name=a commit -qam 'add three'; echo draft > new.txt; echo '{\\"type\\":\\"artifact\\",\\"path\\":\\"notes.txt\\"}'"]
            repo = "\(repo)"
            base = "main"
            policy = { sandbox = "\(bwrap ? "bubblewrap" : "none")", network = false, memory = "1G", max_processes = 256 }
            setup = { command = ["/bin/sh", "-c", "echo deps-installed > deps.txt; echo setup-key=$API_KEY"], policy = { network = true } }
            secrets = { API_KEY = { file = "\(secretFile)", phases = ["agent", "setup"] } }
            """
        try await withDaemon(config: config) { cli in
            let task = try await cli.json(["submit", "change notes", "--agent", "coder", "--wait", "--json"])
            let id = try #require(task["id"]?.stringValue)
            #expect(task["state"] == "done", "\(task)")

            let show = try await cli.run(["show", id])
            #expect(show.status == 0)
            #expect(show.stdout.contains("add three"), "\(show.stdout)")
            #expect(show.stdout.contains("notes.txt"), "\(show.stdout)")
            #expect(show.stdout.contains("new.txt"), "\(show.stdout)")

            let diff = try await cli.run(["diff", id])
            #expect(diff.status == 0)
            #expect(diff.stdout.contains("+three"), "\(diff.stdout)")
            #expect(diff.stdout.contains("+++ b/new.txt"), "\(diff.stdout)")
            let stat = try await cli.run(["diff", id, "--stat"])
            #expect(!stat.stdout.contains("+three") && stat.stdout.contains("3 files changed"), "\(stat)")

            // Every event of the run: setup's and the agent's output, redacted.
            let events = try await cli.run(["logs", id, "--json"])
            #expect(events.status == 0)
            #expect(!events.stdout.contains("sk-live-314159265"), "the secret leaked")
            #expect(events.stdout.contains("key=[redacted]"), "\(events.stdout)")
            #expect(events.stdout.contains("setup-key=[redacted]"), "\(events.stdout)")
            #expect(events.stdout.contains("deps-installed"), "\(events.stdout)")
            // A task's own policy is shown with it.
            let narrowed = try await cli.json(["submit", "later", "--agent", "coder", "--delay", "3600", "--policy", #"{"memory":"512M","workspace":"ro"}"#, "--json"])
            let shown = try await cli.run(["show", try #require(narrowed["id"]?.stringValue)])
            #expect(shown.stdout.contains("memory=512M workspace=ro"), "\(shown.stdout)")
            #expect(try await cli.run(["submit", "x", "--agent", "coder", "--policy", #"{"memory":"lots"}"#]).stderr.contains("policy.memory"))
            let artifacts = try await cli.run(["artifacts", id])
            #expect(artifacts.stdout.contains("notes.txt"), "\(artifacts)")
            let file = home.appendingPathComponent("notes-copy.txt").path
            #expect(try await cli.run(["artifacts", id, "notes.txt", "--output", file]).status == 0)
            #expect(try String(contentsOfFile: file, encoding: .utf8) == "one\ntwo\nthree\n")
            #expect(try await cli.run(["artifacts", id, "notes.txt"]).stdout == "one\ntwo\nthree\n")
            #expect(try await cli.run(["artifacts", id, "missing.txt"]).status != 0)
            let logs = try await cli.run(["logs", id])
            #expect(!logs.stdout.contains("sk-live-314159265"))
        }
    }

    @Test("a repo that is not a git repository, or a memory that does not parse, stops start-up naming the agent or the key")
    func badSettings() async throws {
        for (setting, expected) in [
            ("repo = \"/tmp\"", "agent coder: /tmp is not a git repository"),
            ("policy = { memory = \"lots\" }", "agents.coder.policy.memory"),
            ("policy = { sandbox = \"docker\" }", "agents.coder.policy.sandbox"),
        ] {
            let home = try makeHome()
            try """
                [agents.coder]
                runner = "command"
                command = ["/bin/true"]
                \(setting)
                """.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
            let daemon = try DaemonProcess(home: home, arguments: ["--listen", "127.0.0.1:\(try freePort())"])
            #expect(try await eventually(timeout: .seconds(30)) { !daemon.process.isRunning })
            #expect(daemon.process.terminationStatus != 0)
            #expect(daemon.output.contains(expected), "\(setting): \(daemon.output)")
        }
    }
}
