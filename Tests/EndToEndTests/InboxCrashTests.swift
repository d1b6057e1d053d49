import Foundation
import Logging
import Nightshift
import NightshiftPostgres
import NightshiftSQLite
import NightshiftTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// An input accepted while the daemon that would deliver it is SIGKILLed: delivered once, by the
/// next run, on both stores.
@Suite("Inbox crash safety", .serialized)
struct InboxCrashTests {
    /// The stores to run on: SQLite, and PostgreSQL when a test server is configured (always with CI=true).
    static let kinds: [String] = TestPostgres.enabled ? ["sqlite", "postgres"] : ["sqlite"]

    @Test("an input accepted before a SIGKILL is neither lost nor repeated: the restarted node's next run delivers it once", arguments: kinds)
    func killBetweenAcceptAndDelivery(kind: String) async throws {
        let home = try makeHome()
        var arguments = ["--listen", "127.0.0.1:\(try freePort())", "--workers", "2", "--poll-interval", "0.05", "--lease-duration", "60", "--log-level", "warning"]
        let store: any TaskStore
        var pool: Task<Void, Never>?
        if kind == "postgres" {
            let postgres = try await freshPostgresStore()
            (store, pool) = (postgres.store, postgres.pool)
            arguments += ["--store", postgres.url.description]
        } else {
            store = try SQLiteTaskStore(path: home.appendingPathComponent("nightshift.db").path)
        }
        defer { pool?.cancel() }
        // Attempt 1 hangs (an input sent now must wait for its run to end); later attempts write
        // what they read on stdin (the prompt, then the input lines) to a log and finish.
        let log = home.appendingPathComponent("stdin.log")
        try await store.saveAgent(Agent(
            name: "slow", runner: .command,
            config: ["command": ["/bin/sh", "-c", .string("""
                if [ "$NIGHTSHIFT_ATTEMPT" = 1 ]; then sleep 300; fi
                cat >> '\(log.path)'
                echo '{"type":"result","text":"read my inbox"}'
                """)]],
            retry: RetryPolicy(maxAttempts: 1)))
        let id = try await store.submit(NewTask(agent: "slow", prompt: "do the thing"), now: Date()).task.id
        let first = try DaemonProcess(home: home, arguments: arguments)
        #expect(try await eventually(timeout: .seconds(20)) {
            guard try await store.task(id)?.state == .running else { return false }
            return try await store.runs(task: id).last?.agentProcess != nil
        }, "\(first.output)")
        // Accepted (committed) while the run is in progress: it waits for the run to end.
        let accepted = try await store.addInput(
            NewInput(kind: .message, text: "also fix the typo", sender: "alice", idempotencyKey: "once"), to: id, now: Date(), workspace: nil)
        #expect(accepted.created && accepted.input.delivery == .pending)
        #expect(await first.stop(SIGKILL) != nil)
        #expect(try await store.inputs(of: id, workspace: nil).map(\.delivery) == [.pending], "nothing was handed over before the kill")

        // The restarted node (same data directory, same node id) takes its lost run back at once.
        let second = try DaemonProcess(home: home, arguments: arguments)
        let done = try await eventually(timeout: .seconds(30)) { try await store.task(id)?.state == .done }
        #expect(done, "\(second.output)")
        #expect(await second.stop(SIGTERM) == 0)

        let runs = try await store.runs(task: id)
        #expect(runs.map(\.outcome) == ["lost", "succeeded"])
        let inbox = try await store.inputs(of: id, workspace: nil)
        #expect(inbox.count == 1)
        #expect(inbox.first?.delivery == .deliveredResume)
        #expect(inbox.first?.runID == runs.last?.id, "delivered by the run after the restart")
        let stdin = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        let lines = stdin.split(separator: "\n").filter { $0.contains("\"type\":\"input\"") }
        #expect(lines.count == 1, "delivered exactly once: \(stdin)")
        #expect(lines.first?.contains("also fix the typo") == true)
        #expect(stdin.hasPrefix("do the thing\n"))
        let delivered = try await store.events(task: id, after: 0, limit: 1000).filter { $0.type == "input_delivered" }
        #expect(delivered.count == 1)
        let lost = try #require(runs.first)
        #expect(AgentProcesses.of(run: lost.id).isEmpty, "the lost run's agent is gone")
    }
}
