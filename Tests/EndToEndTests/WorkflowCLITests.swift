import Foundation
import Nightshift
import NightshiftSQLite
import NightshiftTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Workflows declared in nightshift.toml, run by a real `nightshift serve`: `submit --workflow`,
/// templates over the input and earlier results, `show`'s steps, a daemon SIGKILLed mid-workflow
/// that does not run a finished step again, and a bad workflow refused at start.
@Suite("CLI: workflows", .serialized)
struct WorkflowCLITests {
    /// `reproducer` appends a line to `reproduce-runs` each time it runs; `fixer` waits until the
    /// file `gate` exists.
    static func config(_ home: URL) throws -> String {
        let reproduce = home.appendingPathComponent("reproduce.sh")
        try """
            read line
            echo ran >> "\(home.appendingPathComponent("reproduce-runs").path)"
            printf '{"type":"result","text":"repro of %s"}\\n' "$line"
            """.write(to: reproduce, atomically: true, encoding: .utf8)
        let fix = home.appendingPathComponent("fix.sh")
        try """
            read line
            while [ ! -e "\(home.appendingPathComponent("gate").path)" ]; do sleep 0.05; done
            printf '{"type":"result","text":"fixed: %s"}\\n' "$line"
            """.write(to: fix, atomically: true, encoding: .utf8)
        return """
            [agents.reproducer]
            runner = "command"
            command = ["/bin/sh", "\(reproduce.path)"]
            [agents.fixer]
            runner = "command"
            command = ["/bin/sh", "\(fix.path)"]
            [workflows.fix]
            steps = [
              { name = "reproduce", agent = "reproducer", prompt = "{{input}}" },
              { name = "fix", agent = "fixer", prompt = "after {{steps.reproduce.result}}", timeout = "30m", max_attempts = 2 },
              { name = "report", command = ["/bin/echo", "report:", "{{steps.fix.result}}"], timeout = "1m" },
            ]
            """
    }

    @Test("submit --workflow runs the agent and command steps in order with their templates; show lists them with the progress; a daemon SIGKILLed during the second step does not run the first again")
    func crashMidWorkflow() async throws {
        let home = try makeHome()
        try (try Self.config(home)).write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let port = try freePort()
        let arguments = ["--listen", "127.0.0.1:\(port)", "--poll-interval", "0.05", "--lease-duration", "60", "--log-level", "warning"]
        let cli = CLIRunner(url: "http://127.0.0.1:\(port)", home: home)
        let first = try DaemonProcess(home: home, arguments: arguments)
        #expect(try await eventually(timeout: .seconds(30)) { try await cli.run(["status", "--json"]).status == 0 }, "\(first.output)")
        let submitted = try await cli.json(["submit", "--workflow", "fix", "bug 7", "--json"])
        let id = try #require(submitted["id"]?.stringValue, "\(submitted)")
        #expect(submitted["agent"] == "fix")
        // Killed while the fix step's child runs (its agent waits for the gate).
        let store = try SQLiteTaskStore(path: home.appendingPathComponent("nightshift.db").path)
        #expect(try await eventually(timeout: .seconds(60)) {
            try await store.children(of: TaskID(id)!, workspace: nil).contains { $0.agent == "fixer" && $0.state == .running }
        })
        #expect(await first.stop(SIGKILL) != nil)
        let second = try DaemonProcess(home: home, arguments: arguments)
        #expect(try await eventually(timeout: .seconds(30)) { try await cli.run(["status", "--json"]).status == 0 }, "\(second.output)")
        _ = FileManager.default.createFile(atPath: home.appendingPathComponent("gate").path, contents: nil)
        #expect(try await eventually(timeout: .seconds(60)) { try await cli.json(["show", id, "--json"])["state"] == "done" }, "\(second.output)")
        let task = try await cli.json(["show", id, "--json"])
        #expect(task["result"] == "report: fixed: after repro of bug 7", "the command step's output: \(task)")
        let runs = try String(contentsOf: home.appendingPathComponent("reproduce-runs"), encoding: .utf8)
        #expect(runs == "ran\n", "the finished step did not run again: \(runs)")
        let show = try await cli.run(["show", id])
        let stepLines = show.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.filter { $0.contains("completed") && Int($0[0]) != nil }
        #expect(stepLines.map { Array($0.prefix(4)) } == [
            ["1", "reproduce", "completed", "1"], ["2", "fix", "completed", "1"], ["3", "report", "completed", "1"],
        ], "\(show.stdout)")
        #expect(show.stdout.contains("3/3 completed (100%)"), "\(show.stdout)")
        let both = try await cli.run(["submit", "--workflow", "fix", "--agent", "x", "y"])
        #expect(both.status == 2 && both.stderr.contains("--workflow"), "\(both)")
        #expect(await second.stop(SIGTERM) == 0, "\(second.output)")
    }

    @Test("a workflow whose template names no earlier step stops serve at start, naming the workflow, the step and the reference")
    func badTemplate() async throws {
        let home = try makeHome()
        try """
            [agents.a]
            runner = "command"
            command = ["/bin/true"]
            [workflows.w]
            steps = [
              { name = "one", agent = "a", prompt = "{{steps.two.result}}" },
              { name = "two", agent = "a", prompt = "{{input}}" },
            ]
            """.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(home: home, arguments: ["--listen", "127.0.0.1:\(try freePort())"])
        let status = await daemon.stop(0, timeout: .seconds(30))
        #expect(status != nil && status != 0, "\(daemon.output)")
        #expect(daemon.output.contains("workflows.w.steps[0]") && daemon.output.contains("step one")
            && daemon.output.contains("{{steps.two.result}}"), "\(daemon.output)")
    }
}
