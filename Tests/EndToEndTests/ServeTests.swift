import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

@Suite("serve: data directory, config file, token")
struct ServeTests {
    @Test("the config file's agents, queue depth and listen address are used")
    func configFile() async throws {
        let home = try makeHome()
        let port = try freePort()
        try """
            [server]
            listen = "127.0.0.1:\(port)"
            [queue]
            depth = 1
            [agents.greet]
            runner = "command"
            command = ["/bin/sh", "-c", "echo greeting from config"]
            timeout = "1m"
            """.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let (daemon, cli) = try await startDaemon(home: home, port: port)
        let done = try await cli.json(["submit", "ignored", "--agent", "greet", "--wait", "--json"])
        #expect(done["state"] == "done")
        #expect(done["result"]?.stringValue?.contains("greeting from config") == true)
        // Depth 1: one delayed task fills the queue; the next submit is refused and nothing is written.
        #expect(try await cli.run(["submit", "echo later", "--delay", "60"]).status == 0)
        let refused = try await cli.run(["submit", "echo one too many", "--delay", "60"])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("queue"), "\(refused)")
        let queued = try await cli.json(["list", "--state", "queued", "--json"])
        if case .array(let tasks)? = queued["tasks"] { #expect(tasks.count == 1) } else { Issue.record("no task list: \(queued)") }
        #expect(await daemon.stop(SIGTERM) == 0, "daemon log:\n\(daemon.output)")
    }

    @Test("a second daemon on the same data directory refuses to start and leaves the first one's agents alone")
    func oneDaemonPerDirectory() async throws {
        let home = try makeHome()
        let port = try freePort()
        try "[server]\nlisten = \"127.0.0.1:\(port)\"\n".write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let (first, cli) = try await startDaemon(home: home, port: port)
        let id = try #require(try await cli.json(["submit", "sleep 30", "--json"])["id"]?.stringValue)
        var pid: Int32?
        _ = try await eventually(timeout: .seconds(20)) {
            let status = try await cli.json(["status", "--json"])
            if case .array(let runs)? = status["active_runs"], case .int(let value)? = runs.first?["pid"] { pid = Int32(value) }
            return pid != nil
        }
        let agent = try #require(pid, "the task runs")
        let second = try DaemonProcess(home: home, arguments: ["--listen", "127.0.0.1:\(try freePort())"])
        #expect(try await eventually(timeout: .seconds(20)) { !second.process.isRunning })
        #expect(second.process.terminationStatus == 1)
        #expect(second.output.contains("another nightshift daemon (pid \(first.pid)) is running on the data directory"), "\(second.output)")
        #expect(kill(agent, 0) == 0, "the first daemon's agent still runs")
        #expect(try await cli.json(["show", id, "--json"])["state"] == "running")
        #expect(await first.stop(SIGTERM) == 0)
    }

    @Test("nightshift token rotate: the daemon takes the new token at once and refuses the old one")
    func tokenRotate() async throws {
        try await withDaemon { cli in
            let old = try String(contentsOf: cli.home.appendingPathComponent("token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let rotated = try await CLIProcess(
                arguments: ["token", "rotate", "--home", cli.home.path], environment: cli.environment([:]), directory: cli.home
            ).finish()
            #expect(rotated.status == 0, "\(rotated)")
            #expect(!rotated.stdout.contains("ns_"), "the token itself is not printed")
            #expect(try await cli.run(["status"]).status == 0, "the CLI reads the new token")
            let stale = try await cli.run(["status"], environment: ["NIGHTSHIFT_TOKEN": old])
            #expect(stale.status != 0 && stale.stderr.contains("token"), "\(stale)")
        }
    }

    @Test("status shows a running agent's pid, agent, start and duration; run totals count")
    func statusActiveRuns() async throws {
        try await withDaemon { cli in
            let id = try #require(try await cli.json(["submit", "sleep 30", "--json"])["id"]?.stringValue)
            var active: JSONValue = .null
            let seen = try await eventually(timeout: .seconds(20)) {
                let status = try await cli.json(["status", "--json"])
                guard case .array(let runs)? = status["active_runs"], let run = runs.first,
                      case .int(let pid)? = run["pid"], pid > 0 else { return false }
                active = run
                return true
            }
            #expect(seen)
            #expect(active["task_id"]?.stringValue == id)
            #expect(active["agent"] == "shell")
            #expect(active["started_at"]?.stringValue != nil)
            #expect((active["duration_s"]?.doubleValue ?? -1) >= 0)
            #expect(try await cli.run(["cancel", id]).status == 0)
            let status = try await cli.json(["status", "--json"])
            #expect(status["totals"]?["invocations"] == .int(1))
            #expect(status["counts"]?["cancelled"] == .int(1))
        }
    }

    @Test("a bad config file stops start-up with an error naming the file, the key and what was expected")
    func badConfigFile() async throws {
        let home = try makeHome()
        try """
            [agents.build]
            runner = "command"
            command = ["/usr/bin/make"]
            timeout = 5.5
            """.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(home: home, arguments: ["--listen", "127.0.0.1:\(try freePort())"])
        #expect(try await eventually(timeout: .seconds(30)) { !daemon.process.isRunning })
        #expect(daemon.process.terminationStatus != 0)
        let output = daemon.output
        #expect(output.contains("nightshift.toml"), "\(output)")
        #expect(output.contains("agents.build.timeout"), "\(output)")
        #expect(output.contains("expected"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("nightshift.db").path))
    }

    @Test("the token file is private, the daemon keeps only its hash, and it survives a restart")
    func token() async throws {
        let home = try makeHome()
        let port = try freePort()
        var (daemon, cli) = try await startDaemon(home: home, port: port, arguments: ["--listen", "127.0.0.1:\(port)"])
        let tokenFile = home.appendingPathComponent("token")
        let attributes = try FileManager.default.attributesOfItem(atPath: tokenFile.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let token = try String(contentsOf: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.count >= 32)
        let hash = try String(contentsOf: home.appendingPathComponent("token.sha256"), encoding: .utf8)
        #expect(!hash.contains(token))
        #expect(await daemon.stop(SIGTERM) == 0)
        (daemon, cli) = try await startDaemon(home: home, port: port, arguments: ["--listen", "127.0.0.1:\(port)"])
        #expect(try String(contentsOf: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == token)
        #expect(try await cli.run(["status"]).status == 0)
        #expect(try await cli.run(["status"], environment: ["NIGHTSHIFT_TOKEN": "wrong"]).status == 1)
        #expect(await daemon.stop(SIGTERM) == 0)
    }

    @Test("without --home the data directory is $NIGHTSHIFT_HOME, else $XDG_DATA_HOME/nightshift")
    func dataDirectory() async throws {
        let root = try makeHome()
        let xdg = root.appendingPathComponent("xdg")
        let explicit = root.appendingPathComponent("explicit")
        var environment = ProcessLaunch.environment.filter { !$0.key.hasPrefix("NIGHTSHIFT_") }
        environment["XDG_DATA_HOME"] = xdg.path
        for (extra, expected) in [([String: String](), xdg.appendingPathComponent("nightshift")), (["NIGHTSHIFT_HOME": explicit.path], explicit)] {
            let daemon = try DaemonProcess(
                home: nil, arguments: ["--listen", "127.0.0.1:\(try freePort())"],
                environment: environment.merging(extra) { _, new in new })
            // Serving (signal handlers installed, API bound) or dead.
            let created = await eventually(timeout: .seconds(30)) {
                daemon.output.contains("nightshift serving") || !daemon.process.isRunning
            }
            #expect(created && FileManager.default.fileExists(atPath: expected.appendingPathComponent("nightshift.db").path), "\(daemon.output)")
            #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)")
        }
    }

    @Test("--keep-failed-workdirs 0 (over the config file's keep_failed_workdirs) removes a failed task's work directory as it ends")
    func keepFailedWorkdirs() async throws {
        let home = try makeHome()
        let port = try freePort()
        try "[server]\nkeep_failed_workdirs = \"48h\"\n".write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let (daemon, cli) = try await startDaemon(home: home, port: port, arguments: ["--listen", "127.0.0.1:\(port)", "--keep-failed-workdirs", "0"])
        let submitted = try await cli.run(["submit", "pwd; exit 3", "--wait", "--json"])
        let failed = try JSONValue(jsonText: submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(failed["state"] == "error", "\(failed)")
        let id = try #require(failed["id"]?.stringValue)
        let workdir = home.appendingPathComponent("work/\(id)")
        let shown = try await cli.run(["logs", id])
        #expect(shown.stdout.contains(workdir.path), "the agent ran in its work directory: \(shown)")
        #expect(await eventually { !FileManager.default.fileExists(atPath: workdir.path) })
        #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)")
    }

    @Test("a data directory the daemon makes is private: 0700, and nothing in it open to others after a task ran")
    func privateDataDirectory() async throws {
        let root = try makeHome()
        let home = root.appendingPathComponent("data")
        let port = try freePort()
        var environment = ProcessLaunch.environment.filter { !$0.key.hasPrefix("NIGHTSHIFT_") }
        environment["NIGHTSHIFT_HOME"] = home.path
        // No --home: the log then goes beside, not into, the data directory the daemon makes; so do
        // the commands' output files, while they read the token in the data directory.
        let daemon = try DaemonProcess(
            home: nil, arguments: ["--listen", "127.0.0.1:\(port)", "--poll-interval", "0.05", "--shutdown-grace", "0.2"],
            environment: environment)
        let cli = CLIRunner(url: "http://127.0.0.1:\(port)", home: root)
        let up = try await eventually(timeout: .seconds(30)) {
            guard daemon.process.isRunning else { return true }
            return try await cli.run(["status", "--json"], environment: ["NIGHTSHIFT_HOME": home.path]).status == 0
        }
        try #require(up && daemon.process.isRunning, "the daemon answers; its log:\n\(daemon.output)")
        // A task that fails keeps its work directory, with the file its agent wrote.
        let submitted = try await cli.run(
            ["submit", "echo secret > notes.txt; exit 3", "--wait", "--json"], environment: ["NIGHTSHIFT_HOME": home.path])
        let failed = try JSONValue(jsonText: submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(failed["state"] == "error", "\(failed)")
        let id = try #require(failed["id"]?.stringValue)
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("work/\(id)/notes.txt").path))

        // Checked while the daemon runs, so that the database's -wal and -shm are there too.
        let files = FileManager.default
        #expect(files.fileExists(atPath: home.appendingPathComponent("nightshift.db-wal").path))
        #expect((try files.attributesOfItem(atPath: home.path)[.posixPermissions] as? Int) == 0o700)
        let entries = try files.subpathsOfDirectory(atPath: home.path)
        #expect(entries.count >= 8, "\(entries)")
        for entry in entries {
            let mode = try files.attributesOfItem(atPath: home.appendingPathComponent(entry).path)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o077 == 0 } == true, "\(entry): \(String(format: "%o", mode ?? -1))")
        }
        #expect(!daemon.output.contains("open to other users"), "\(daemon.output)")
        #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)")
    }

    @Test("a data directory open to others is reported at start, naming it and its mode, and left as it is")
    func openDataDirectoryWarning() async throws {
        let home = try makeHome()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: home.path)
        let port = try freePort()
        let (daemon, _) = try await startDaemon(home: home, port: port, arguments: ["--listen", "127.0.0.1:\(port)"])
        let warning = daemon.output.split(separator: "\n").first { line in
            line.contains("open to other users") && line.contains("nightshift.path=\(home.path) ")
        }
        #expect(warning?.contains("nightshift.mode=0755") == true, "\(daemon.output)")
        #expect((try FileManager.default.attributesOfItem(atPath: home.path)[.posixPermissions] as? Int) == 0o755)
        #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)")
    }
}
