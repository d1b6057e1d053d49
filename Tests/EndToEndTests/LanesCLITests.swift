import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

/// `nightshift lanes` and an agent's stall timeout, from the config file and the CLI, against a
/// `nightshift serve` child.
@Suite("CLI: lanes and stall timeouts", .serialized)
struct LanesCLITests {
    static let config = """
        [lanes.deploys]
        concurrency = 2

        [agents.watched]
        runner = "command"
        command = ["/bin/true"]
        stall_timeout = "10m"
        """

    @Test("the config file's lanes are set at start; lanes set, rm and list manage limits through the API")
    func lanes() async throws {
        try await withDaemon(config: Self.config) { cli in
            #expect(try await cli.json(["lanes", "--json"]) == ["lanes": [["name": "deploys", "concurrency": 2, "running": 0]]])
            let set = try await cli.run(["lanes", "set", "gpu", "1"])
            #expect(set.status == 0 && set.stdout == "gpu  concurrency 1\n", "\(set)")
            #expect(try await cli.json(["lanes", "set", "gpu", "3", "--json"]) == ["name": "gpu", "concurrency": 3, "running": 0])
            let listed = try await cli.run(["lanes"])
            let rows = listed.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(rows == [["LANE", "CONCURRENCY", "RUNNING"], ["deploys", "2", "0"], ["gpu", "3", "0"]], "\(listed)")

            let zero = try await cli.run(["lanes", "set", "gpu", "0"])
            #expect(zero.status == 2 && zero.stderr.contains("concurrency"), "\(zero)")
            let word = try await cli.run(["lanes", "set", "gpu", "many"])
            #expect(word.status == 2, "\(word)")

            let removed = try await cli.run(["lanes", "rm", "gpu"])
            #expect(removed.status == 0 && removed.stdout == "deleted the limit of lane gpu\n", "\(removed)")
            #expect(try await cli.run(["lanes", "rm", "gpu"]).status == 3, "no limit left")
            #expect(try await cli.json(["lanes", "delete", "deploys", "--json"]) == ["deleted": "deploys"])
            #expect(try await cli.run(["lanes"]).stdout == "no lanes\n")
        }
    }

    @Test("an agent's stall timeout shows in agents and agents show; a bad one is refused naming stall_timeout")
    func stallTimeout() async throws {
        try await withDaemon(config: Self.config) { cli in
            let list = try await cli.run(["agents"])
            let header = list.stdout.split(separator: "\n").first.map { $0.split(separator: " ").map(String.init) }
            #expect(header?.contains("STALL") == true, "\(list)")
            let watched = list.stdout.split(separator: "\n").first { $0.hasPrefix("watched") }.map { $0.split(separator: " ").map(String.init) }
            #expect(watched?.contains("10m") == true, "\(list)")
            let shown = try await cli.run(["agents", "show", "watched"])
            #expect(shown.status == 0 && shown.stdout.contains("stall_timeout   10m"), "\(shown)")
            #expect(try await cli.json(["agents", "show", "watched", "--json"])["stall_timeout"]?.doubleValue == 600)
            #expect(try await cli.run(["agents", "show", "nobody"]).status == 3)

            let set = try await cli.json([
                "agents", "set", "quick", "--runner", "command", "--config", #"{"command":["/bin/true"]}"#, "--stall-timeout", "90", "--json",
            ])
            #expect(set["stall_timeout"]?.doubleValue == 90, "\(set)")
            let bad = try await cli.run([
                "agents", "set", "quick", "--runner", "command", "--config", #"{"command":["/bin/true"]}"#, "--stall-timeout", "0",
            ])
            #expect(bad.status == 2 && bad.stderr.contains("stall_timeout"), "\(bad)")
        }
    }

    @Test("serve refuses a config file with a bad stall_timeout or lane limit, naming the key")
    func badConfig() async throws {
        for (toml, key) in [
            ("[agents.a]\nrunner = \"command\"\ncommand = [\"x\"]\nstall_timeout = \"later\"\n", "agents.a.stall_timeout"),
            ("[lanes.gpu]\nconcurrency = 0\n", "lanes.gpu.concurrency"),
        ] {
            let home = try makeHome()
            defer { try? FileManager.default.removeItem(at: home) }
            try toml.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
            let daemon = try DaemonProcess(home: home, arguments: ["--listen", "127.0.0.1:\(try freePort())"])
            #expect(try await eventually(timeout: .seconds(30)) { !daemon.process.isRunning })
            #expect(daemon.process.terminationStatus == 78 && daemon.output.contains(key), "\(daemon.output)")
        }
    }
}
