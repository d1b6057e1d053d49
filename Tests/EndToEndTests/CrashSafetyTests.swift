import Foundation
import Nightshift
import NightshiftSQLite
import NightshiftTestSupport
import Testing

@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    @Test("SIGKILL mid-run loses nothing; every task ends exactly once; dead runs retry as new attempts")
    func killAndRestart() async throws {
        let home = try makeHome()
        // The test process writes to the daemon's file directly: SQLite in WAL mode serves several processes.
        let store = try SQLiteTaskStore(path: home.appendingPathComponent("nightshift.db").path)
        try await store.saveAgent(Agent(
            name: "slow", runner: .command,
            config: ["command": ["/bin/sh", "-c", "sleep 0.4; echo \"finished $NIGHTSHIFT_TASK_ID\""]],
            retry: RetryPolicy(maxAttempts: 3, initialBackoff: 0.05, maxBackoff: 0.05)))
        let daemonArguments = ["--workers", "4", "--poll-interval", "0.05", "--lease-duration", "60", "--log-level", "warning"]
        var acknowledged: [TaskID] = []
        for index in 0..<12 {
            acknowledged.append(try await store.submit(NewTask(agent: "slow", prompt: "task \(index)"), now: Date()).task.id)
        }
        let first = try DaemonProcess(home: home, arguments: daemonArguments)
        #expect(try await eventually(timeout: .seconds(20)) { try await store.countsByState()[.done, default: 0] >= 2 })
        #expect(try await eventually(timeout: .seconds(20)) { try await store.countsByState()[.running, default: 0] >= 2 }, "runs in flight at the kill")
        #expect(await first.stop(SIGKILL) != nil)

        // While the node is down, submits are still acknowledged and kept.
        for index in 12..<16 {
            acknowledged.append(try await store.submit(NewTask(agent: "slow", prompt: "task \(index)"), now: Date()).task.id)
        }
        let orphaned = try await store.countsByState()[.running, default: 0]
        #expect(orphaned >= 1, "the dead node still holds leases")

        // The restarted node (same data directory, so the same node id) reclaims its runs at once:
        // the 60 s leases would not have expired within this test's deadline.
        let second = try DaemonProcess(home: home, arguments: daemonArguments)
        let finished = try await eventually(timeout: .seconds(30)) {
            try await store.countsByState()[.done, default: 0] == acknowledged.count
        }
        #expect(finished, "all tasks done; daemon log:\n\(second.output)")
        #expect(await second.stop(SIGTERM) == 0, "graceful exit on SIGTERM")

        var retriedAfterDeath = 0
        for id in acknowledged {
            let task = try #require(try await store.task(id), "acknowledged task \(id) lost")
            #expect(task.state == .done)
            #expect(task.result == "finished \(id)")
            let transitions = try await store.events(task: id, after: 0, limit: 1000).filter { $0.type == "state" }
            let terminal = transitions.filter { TaskState(rawValue: $0.data["to"]?.stringValue ?? "")?.isTerminal == true }
            #expect(terminal.count == 1, "task \(id) settled \(terminal.count) times")
            #expect(transitions.last?.data["to"] == "done")
            let runs = try await store.runs(task: id)
            #expect(runs.filter { $0.outcome == "succeeded" }.count == 1)
            #expect(runs.map(\.attempt) == Array(1...runs.count))
            if let lost = runs.firstIndex(where: { $0.outcome == "lost" }) {
                #expect(runs[lost].error?.contains("restarted") == true)
                #expect(runs.count > lost + 1, "a lost run is retried as a new attempt")
                retriedAfterDeath += 1
            }
        }
        #expect(retriedAfterDeath == orphaned, "every run of the killed node was retried as a new attempt")
    }

    @Test("SIGTERM shuts down gracefully: a running task is released and finished by the next start")
    func gracefulRelease() async throws {
        let home = try makeHome()
        let store = try SQLiteTaskStore(path: home.appendingPathComponent("nightshift.db").path)
        try await store.saveAgent(Agent(name: "long", runner: .command, config: ["command": ["/bin/sh", "-c", "sleep 30"]]))
        let id = try await store.submit(NewTask(agent: "long", prompt: "x"), now: Date()).task.id
        let daemon = try DaemonProcess(home: home, arguments: ["--poll-interval", "0.05", "--shutdown-grace", "0.2"])
        #expect(try await eventually(timeout: .seconds(20)) { try await store.task(id)?.state == .running })
        #expect(await daemon.stop(SIGTERM, timeout: .seconds(10)) == 0)
        let task = try #require(try await store.task(id))
        #expect(task.state == .queued, "released, not left running")
        #expect(try await store.runs(task: id).map(\.outcome) == ["released"])
    }
}
