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

/// A webhook declared in the config file, delivering to a real receiver that refuses each event
/// twice, while the daemon is SIGKILLed mid-delivery and started again: every event arrives, in
/// order, none lost, on both stores.
@Suite("Webhook crash safety", .serialized)
struct WebhookCrashTests {
    static let kinds: [String] = TestPostgres.enabled ? ["sqlite", "postgres"] : ["sqlite"]
    static let secret = "crash-test-secret"

    @Test("a daemon SIGKILLed mid-delivery loses no event: the restarted node delivers the rest in seq order (a repeat at most of the one in flight)", arguments: kinds)
    func killMidDelivery(kind: String) async throws {
        // Each try takes 20 ms; the first two of each event are refused.
        let receiver = WebhookReceiver(secret: Self.secret) { _, attempt in
            try? await Task.sleep(for: .milliseconds(20))
            return (attempt <= 2 ? 500 : 200, [:])
        }
        try await receiver.serving { url in
            let home = try makeHome()
            try """
                [webhooks.audit]
                url = "\(url)"
                secret = "\(Self.secret)"
                initial_backoff = "0.01"
                max_backoff = "0.05"
                max_attempts = 20
                """.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
            var arguments = ["--listen", "127.0.0.1:\(try freePort())", "--workers", "4", "--poll-interval", "0.05", "--log-level", "error"]
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
            let first = try DaemonProcess(home: home, arguments: arguments)
            #expect(try await eventually(timeout: .seconds(30)) { try await store.webhook("audit", workspace: Workspace.defaultID) != nil }, "\(first.output)")
            try await store.saveAgent(Agent(name: "quick", runner: .command, config: ["command": ["/bin/true"]]))
            for index in 0..<20 { _ = try await store.submit(NewTask(agent: "quick", prompt: "\(index)"), now: Date()) }
            // Killed while deliveries are under way: some delivered, most not.
            #expect(try await eventually(timeout: .seconds(30)) { receiver.accepted.count >= 5 }, "\(first.output)")
            #expect(await first.stop(SIGKILL) != nil)
            let atKill = Set(receiver.accepted.map(\.seq)).count
            let second = try DaemonProcess(home: home, arguments: arguments)
            #expect(try await eventually(timeout: .seconds(30)) { try await store.countsByState()[.done, default: 0] == 20 }, "\(second.output)")
            let events = try await store.hookEvents(after: 0, limit: 1000, workspace: Workspace.defaultID)
            #expect(events.count == 60, "queued, started, done for each task")
            let delivered = try await eventually(timeout: .seconds(60)) { Set(receiver.accepted.map(\.seq)).count == events.count }
            #expect(delivered, "\(Set(receiver.accepted.map(\.seq)).count) of \(events.count); \(second.output)")
            #expect(await second.stop(SIGTERM) == 0)
            // In seq order from each node run: the restarted node starts again from the last position
            // the killed one wrote (deliveries are recorded in batches), so the arrivals are two
            // increasing runs, and what the second repeats is at most one batch.
            let seqs = receiver.accepted.map(\.seq)
            let descents = zip(seqs, seqs.dropFirst()).filter { $0 >= $1 }.count
            #expect(descents <= 1, "one increasing run per node run: \(seqs)")
            var firsts: [Int64] = []
            for seq in seqs where !firsts.contains(seq) { firsts.append(seq) }
            #expect(firsts == events.map(\.seq), "every event, first arriving in order")
            #expect(seqs.count - events.count <= Engine.webhookBatch, "at most one batch is sent again")
            #expect(receiver.received.allSatisfy { $0.signed })
            #expect(atKill < events.count, "the kill came mid-stream (\(atKill) delivered before it)")
        }
    }

    @Test("two daemons on one PostgreSQL: one holds the webhook's lease, and every event is delivered once, in order", .enabled(if: TestPostgres.enabled))
    func twoNodes() async throws {
        let receiver = WebhookReceiver(secret: Self.secret)
        try await receiver.serving { url in
            let (store, postgresURL, pool) = try await freshPostgresStore()
            defer { pool.cancel() }
            var daemons: [DaemonProcess] = []
            for _ in 0..<2 {
                let home = try makeHome()
                try "[webhooks.audit]\nurl = \"\(url)\"\nsecret = \"\(Self.secret)\"\n"
                    .write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
                daemons.append(try DaemonProcess(home: home, arguments: [
                    "--listen", "127.0.0.1:\(try freePort())", "--store", postgresURL.description, "--poll-interval", "0.05", "--log-level", "error",
                ]))
            }
            #expect(try await eventually(timeout: .seconds(30)) { try await store.webhook("audit", workspace: Workspace.defaultID) != nil })
            try await store.saveAgent(Agent(name: "quick", runner: .command, config: ["command": ["/bin/true"]]))
            for index in 0..<20 { _ = try await store.submit(NewTask(agent: "quick", prompt: "\(index)"), now: Date()) }
            #expect(try await eventually(timeout: .seconds(30)) { try await store.countsByState()[.done, default: 0] == 20 })
            let events = try await store.hookEvents(after: 0, limit: 1000, workspace: Workspace.defaultID)
            #expect(try await eventually(timeout: .seconds(30)) { receiver.accepted.count >= events.count })
            for daemon in daemons { #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)") }
            #expect(receiver.accepted.map(\.seq) == events.map(\.seq), "each once, in order")
        }
    }
}
