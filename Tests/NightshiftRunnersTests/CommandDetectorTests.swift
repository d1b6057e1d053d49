import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

@testable import NightshiftRunners

/// Commands the daemon runs for itself (``HelperCommand``), with real processes: a command
/// detector's output lines are items, a bad line or a failed command fails the scan naming it, the
/// timeout stops the command, the process command gets the result on stdin; a hanging
/// `--version` is cut off.
@Suite("Helper commands and the command detector", .timeLimit(.minutes(1)))
struct CommandDetectorTests {
    static func detector(_ script: String, process: [String]? = nil, timeout: Duration = .seconds(30)) -> CommandDetector {
        CommandDetector(agent: "a", command: ["/bin/sh", "-c", script], prompt: "{{item.key}}", process: process, timeout: timeout)
    }

    @Test("each non-empty line is an item; a bad line names its number; a failed command its status and stderr")
    func scans() async throws {
        let items = try await Self.detector(#"printf '{"key":"a","priority":2,"payload":{"t":1}}\n\n{"key":"b"}\n'"#).detect()
        #expect(items == [WorkItem(key: "a", priority: 2, payload: ["t": 1]), WorkItem(key: "b")])
        let bad = await #expect(throws: NightshiftError.self) { try await Self.detector(#"printf '{"key":"a"}\nnope\n'"#).detect() }
        #expect(bad?.field == "line 2 of the scan's output" && bad?.message.contains("nope") == true, "\(String(describing: bad))")
        let noKey = await #expect(throws: NightshiftError.self) { try await Self.detector(#"echo '{"priority":1}'"#).detect() }
        #expect(noKey?.field == "line 1.key", "\(String(describing: noKey))")
        let failed = await #expect(throws: NightshiftError.self) { try await Self.detector("echo 'tracker down' >&2; exit 3").detect() }
        #expect(failed?.message.contains("exited(3)") == true && failed?.message.contains("tracker down") == true, "\(String(describing: failed))")
    }

    @Test("a scan past its timeout is stopped and fails saying so")
    func timeout() async throws {
        let started = ContinuousClock.now
        let slow = await #expect(throws: NightshiftError.self) {
            try await Self.detector("sleep 60", timeout: .milliseconds(200)).detect()
        }
        #expect(slow?.message.contains("took longer than") == true, "\(String(describing: slow))")
        #expect(ContinuousClock.now - started < .seconds(60), "the command's sleep is 60 s")
    }

    @Test("a --version that hangs gives no version once its timeout passes, and its process is gone")
    func hangingVersion() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let cli = dir.url.appendingPathComponent("cli").path
        try "#!/bin/sh\necho $$ > '\(dir.url.path)/cli.pid'\nsleep 60\n".write(toFile: cli, atomically: true, encoding: .utf8)
        chmod(cli, 0o755)
        // Long enough for the shell to start and write its pid on a loaded machine (300 ms was not).
        #expect(await AgentCLIRunner<ClaudeCode>.version(of: cli, timeout: .seconds(2)) == nil)
        let pid = try #require(await pid(in: dir, "cli.pid"))
        #expect(await eventually(timeout: .seconds(15)) { processIsGone(pid) })
        try "#!/bin/sh\necho\necho 'cli 1.2.3'\n".write(toFile: cli, atomically: true, encoding: .utf8)
        chmod(cli, 0o755)
        #expect(await AgentCLIRunner<ClaudeCode>.version(of: cli, timeout: .seconds(30)) == "cli 1.2.3", "the first non-empty line")
    }

    @Test("the process command gets the item, the task, the result and the cost on stdin")
    func processResult() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let out = dir.url.appendingPathComponent("result.json").path
        let detector = Self.detector("true", process: ["/bin/sh", "-c", "cat > '\(out)'"])
        let task = TaskID.generate()
        try await detector.processResult(DetectedWorkResult(item: WorkItem(key: "k", payload: ["n": 1]), taskID: task, result: "done", costUSD: 0.5))
        let written = try JSONValue(jsonText: String(contentsOfFile: out, encoding: .utf8))
        #expect(written == ["item": ["key": "k", "priority": 0, "payload": ["n": 1]], "task_id": .string(task.rawValue), "result": "done", "cost_usd": 0.5])
        let failing = Self.detector("true", process: ["/bin/sh", "-c", "exit 1"])
        await #expect(throws: NightshiftError.self) {
            try await failing.processResult(DetectedWorkResult(item: WorkItem(key: "k"), taskID: task, result: nil, costUSD: 0))
        }
    }
}
