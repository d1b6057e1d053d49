import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

@Suite("bench")
struct BenchTests {
    /// Runs the `nightshift` binary with `arguments` (through ``CLIProcess``, which waits without
    /// blocking a thread of the test process: the suite's other tests share two); returns its
    /// status, standard output and error.
    static func run(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        let result = try await CLIProcess(arguments: arguments, environment: ProcessLaunch.environment, directory: try makeHome())
            .finish(timeout: .seconds(300))
        return (result.status, result.stdout, result.stderr)
    }

    @Test(
        "bench --store postgres prints W1 and W2 with store postgres; --nodes 3 drains with three engines in child processes",
        .enabled(if: TestPostgres.enabled, Comment(rawValue: TestPostgres.skipNote)))
    func postgres() async throws {
        let result = try await Self.run([
            "bench", "--store", try TestPostgres.requireURL(), "--tasks", "300", "--latency-tasks", "20", "--nodes", "3",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
        try #require(lines.count == 2, "W1 and W2: \(result.stdout)")
        let w1 = lines[0]
        #expect(w1["workload"] == "W1" && w1["store"] == "postgres" && w1["tasks"] == 300 && w1["slots"] == 8)
        #expect(w1["nodes"] == 3)
        #expect(w1["nodes_seen"] == 3, "all three engines ran tasks: \(w1)")
        #expect((w1["submit_per_s"]?.doubleValue ?? 0) > 0 && (w1["drain_per_s"]?.doubleValue ?? 0) > 0, "\(w1)")
        #expect(w1["synchronous_commit"]?.stringValue?.isEmpty == false, "the figure names its durability: \(w1)")
        let w2 = lines[1]
        #expect(w2["workload"] == "W2" && w2["store"] == "postgres" && w2["tasks"] == 20)
        #expect((w2["p50_ms"]?.doubleValue ?? 0) > 0 && (w2["p99_ms"]?.doubleValue ?? 0) >= (w2["p50_ms"]?.doubleValue ?? 0), "\(w2)")
    }

    @Test("bench W8 runs a trivial agent plain, under bubblewrap, in warm and cold worktrees, and reports each variant's latency and overhead")
    func isolation() async throws {
        let result = try await Self.run(["bench", "--workloads", "W8", "--isolation-runs", "2", "--repo-files", "50"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
        try #require(lines.count == 1, "W8: \(result.stdout)")
        let w8 = lines[0]
        #expect(w8["workload"] == "W8" && w8["runs"] == 2 && w8["repo_files"] == 50)
        let sandboxed = w8["bubblewrap"] == .bool(true)
        if !sandboxed, ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI=true and bubblewrap cannot run: \(w8)") }
        var variants = ["plain", "worktree", "worktree_cold"]
        if sandboxed { variants += ["bubblewrap", "bubblewrap_worktree"] }
        for variant in variants {
            let p50 = w8["\(variant)_p50_ms"]?.doubleValue ?? 0
            #expect(p50 > 0 && (w8["\(variant)_p90_ms"]?.doubleValue ?? 0) >= p50, "\(variant): \(w8)")
            if variant != "plain" { #expect(w8["\(variant)_overhead_ms"]?.doubleValue != nil, "\(variant): \(w8)") }
        }
    }

    @Test("bench W5 answers every question, live and by resume, and reports both latencies")
    func questions() async throws {
        let result = try await Self.run(["bench", "--workloads", "W5", "--question-tasks", "40"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
        try #require(lines.count == 1, "W5: \(result.stdout)")
        let w5 = lines[0]
        #expect(w5["workload"] == "W5" && w5["store"] == "sqlite" && w5["tasks"] == 40)
        for way in ["live", "resume"] {
            let p50 = w5["\(way)_p50_ms"]?.doubleValue ?? 0
            let p99 = w5["\(way)_p99_ms"]?.doubleValue ?? 0
            #expect(p50 > 0 && p99 >= p50, "\(way): \(w5)")
        }
    }

    @Test("bench W6 fires every due schedule, measures idle polls with few and many schedules, and the lag of a schedule every second")
    func schedules() async throws {
        let result = try await Self.run([
            "bench", "--workloads", "W6", "--due-schedules", "200", "--idle-schedules", "2000", "--lag-seconds", "3",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
        try #require(lines.count == 1, "W6: \(result.stdout)")
        let w6 = lines[0]
        #expect(w6["workload"] == "W6" && w6["due_schedules"] == 200 && w6["idle_schedules"] == 2000)
        #expect((w6["fire_all_s"]?.doubleValue ?? 0) > 0 && (w6["fire_per_s"]?.doubleValue ?? 0) > 0, "\(w6)")
        #expect((w6["idle_poll_ms_few"]?.doubleValue ?? 0) > 0 && (w6["idle_poll_ms_many"]?.doubleValue ?? 0) > 0, "\(w6)")
        let fires = w6["lag_fires"]?.doubleValue ?? 0
        #expect(fires >= 2 && fires <= 4, "a schedule every second for 3 s: \(w6)")
        let (p50, p99) = (w6["lag_p50_ms"]?.doubleValue ?? -1, w6["lag_p99_ms"]?.doubleValue ?? -1)
        #expect(p50 >= 0 && p99 >= p50, "\(w6)")
        let refused = try await Self.run(["bench", "--workloads", "W6", "--due-schedules", "10", "--idle-schedules", "5"])
        #expect(refused.status == 2 && refused.stderr.contains("--idle-schedules"), "\(refused)")
    }

    @Test("bench W3 runs every workflow's steps, records them, and times the replay of a workflow of 1,000 recorded steps")
    func workflows() async throws {
        let result = try await Self.run(["bench", "--workloads", "W3", "--workflows", "30"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
        try #require(lines.count == 1, "W3: \(result.stdout)")
        let w3 = lines[0]
        #expect(w3["workload"] == "W3" && w3["workflows"] == 30 && w3["steps"] == 10 && w3["replay_steps"] == 1000)
        #expect((w3["steps_per_s"]?.doubleValue ?? 0) > 0, "\(w3)")
        let (read, replay) = (w3["replay_read_ms"]?.doubleValue ?? -1, w3["replay_ms"]?.doubleValue ?? -1)
        #expect(read > 0 && replay >= read, "\(w3)")
        let refused = try await Self.run(["bench", "--workloads", "W3", "--workflows", "0"])
        #expect(refused.status == 2 && refused.stderr.contains("--workflows"), "\(refused)")
    }

    @Test("bench D1 reads the dashboard's first page, a filtered page and a text search, and reports each page's own server time")
    func dashboard() async throws {
        let result = try await Self.run(["bench", "--workloads", "D1", "--tasks", "300"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
        try #require(lines.count == 1, "D1: \(result.stdout)")
        let d1 = lines[0]
        #expect(d1["workload"] == "D1" && d1["tasks"] == 300 && d1["requests"] == 200)
        for page in ["first_page", "filtered", "text"] {
            let (p50, p99) = (d1["\(page)_server_ms_p50"]?.doubleValue ?? -1, d1["\(page)_server_ms_p99"]?.doubleValue ?? -1)
            #expect(p50 > 0 && p99 >= p50 && (d1["\(page)_round_trip_ms_p50"]?.doubleValue ?? 0) >= p50, "\(page): \(d1)")
        }
    }

    @Test("bench W7 drains without and with a webhook in alternating rounds, the receiver gets every event, and the figures are of the medians")
    func webhooks() async throws {
        let result = try await Self.run(["bench", "--workloads", "W7", "--tasks", "200", "--rounds", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = try result.stdout.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
        try #require(lines.count == 1, "W7: \(result.stdout)")
        let w7 = lines[0]
        #expect(w7["workload"] == "W7" && w7["tasks"] == 200 && w7["rounds"] == 2)
        let plain = w7["plain_rounds"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        let hooked = w7["webhook_rounds"]?.arrayValue?.compactMap(\.doubleValue) ?? []
        #expect(plain.count == 2 && hooked.count == 2 && (plain + hooked).allSatisfy { $0 > 0 }, "\(w7)")
        let (plainRate, hookedRate) = (w7["drain_per_s_plain"]?.doubleValue ?? 1, w7["drain_per_s_webhook"]?.doubleValue ?? 0)
        // The rates are printed cut to whole tasks a second: their ratio is off by at most
        // that rounding (at 200 tasks, rates near 100/s make it about 1 %), the ratio by 0.005.
        let slack = (1 / plainRate + 1 / max(hookedRate, 1)) * (hookedRate / plainRate) + 0.005
        #expect(abs((w7["drain_ratio"]?.doubleValue ?? 0) - hookedRate / plainRate) <= slack, "the ratio is of the medians: \(w7)")
        #expect((w7["delivery_per_s"]?.doubleValue ?? 0) > 0, "\(w7)")
        let (p50, p99) = (w7["lag_p50_ms"]?.doubleValue ?? -1, w7["lag_p99_ms"]?.doubleValue ?? -1)
        #expect(p50 > 0 && p99 >= p50, "\(w7)")
        let refused = try await Self.run(["bench", "--workloads", "W7", "--rounds", "0"])
        #expect(refused.status == 2 && refused.stderr.contains("--rounds"), "\(refused)")
    }

    @Test("bench refuses --nodes without a shared store, and a malformed --store, naming the option")
    func badOptions() async throws {
        let nodes = try await Self.run(["bench", "--nodes", "3"])
        #expect(nodes.status == 2 && nodes.stderr.contains("--nodes"), "\(nodes)")
        let store = try await Self.run(["bench", "--store", "postgres://localhost/db"])
        #expect(store.status == 2 && store.stderr.contains("--store") && store.stderr.contains("the user is missing"), "\(store)")
    }
}
