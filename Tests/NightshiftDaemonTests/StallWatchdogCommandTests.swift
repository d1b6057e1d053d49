import Foundation
import Logging
import Nightshift
import NightshiftRunners
import NightshiftSQLite
import NightshiftTestSupport
import Testing

/// The stall watchdog on a real agent process: a real engine, a real SQLite file, `/bin/sh`.
@Suite("Stall watchdog on a command agent", .timeLimit(.minutes(2)))
struct StallWatchdogCommandTests {
    @Test("an agent that prints a line then hangs is stopped as stalled after its stall timeout, its process group killed, and retried")
    func hungAgentIsKilledAndRetried() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-stall-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pids = directory.path
        // Attempt 1 prints one line, starts a grandchild and waits on it (300 s): silence. Attempt 2 finishes.
        let script = """
            if [ "$NIGHTSHIFT_ATTEMPT" != 1 ]; then echo '{"type":"result","text":"second try"}'; exit 0; fi
            sleep 300 & echo $! > '\(pids)/g.tmp' && mv '\(pids)/g.tmp' '\(pids)/grandchild.pid'
            echo $$ > '\(pids)/c.tmp' && mv '\(pids)/c.tmp' '\(pids)/child.pid'
            echo working
            wait
            """
        let store = try SQLiteTaskStore(path: directory.appendingPathComponent("nightshift.db").path)
        try await store.saveAgent(Agent(
            name: "hangs", runner: .command, config: ["command": ["/bin/sh", "-c", .string(script)]], stallTimeout: 2,
            retry: RetryPolicy(maxAttempts: 2, initialBackoff: 0.05, maxBackoff: 0.05)))
        let engine = Engine(
            store: store, runners: RunnerRegistry([CommandRunner(killGrace: .milliseconds(300))]),
            configuration: EngineConfiguration(pollInterval: 0.05, workRoot: directory.appendingPathComponent("work")),
            logger: Logger(label: "test"))
        try await withServices([engine], logger: Logger(label: "test")) {
            let id = try await store.submit(NewTask(agent: "hangs", prompt: "x"), now: Date()).task.id
            let child = try #require(await Self.pid(in: directory, "child.pid"), "the agent did not start")
            let grandchild = try #require(await Self.pid(in: directory, "grandchild.pid"))
            #expect(try await eventually(timeout: .seconds(60)) { try await store.task(id)?.state == .done })
            for pid in [child, grandchild] {
                #expect(await eventually(timeout: .seconds(15)) { kill(pid, 0) == -1 && errno == ESRCH }, "process \(pid) survived")
            }
            let runs = try await store.runs(task: id)
            #expect(runs.map(\.outcome) == ["stalled", "succeeded"])
            let silent = try #require(runs.first?.finishedAt?.timeIntervalSince(runs[0].startedAt))
            #expect(silent >= 2 && silent < 30, "stopped after its 2 s stall timeout, not \(silent) s")
            #expect(try await store.task(id)?.result == "second try")
            let lines = try await store.events(task: id, after: 0, limit: 100).filter { $0.type == "stdout" }.compactMap { $0.data["line"]?.stringValue }
            #expect(lines.contains("working"))
        }
    }

    /// The pid written in file `name` of `directory`, once it is there.
    static func pid(in directory: URL, _ name: String) async -> Int32? {
        var found: Int32?
        _ = await eventually(timeout: .seconds(20)) {
            found = (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))
                .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return found != nil
        }
        return found
    }
}
