import AsyncHTTPClient
import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import NIOCore
import Testing

/// `/metrics`: read by the official Python client's parser (`prometheus_client`), its families'
/// names, types and values checked against a known workload; and its access modes.
@Suite struct MetricsTests {
    /// A GET of `path` without the harness's recorder (`/metrics` is not an OpenAPI route).
    static func get(_ api: APIHarness, _ path: String, token: String? = nil) async throws -> (status: Int, body: String, type: String?) {
        var request = HTTPClientRequest(url: api.base + path)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = String(buffer: try await response.body.collect(upTo: 16 << 20))
        return (Int(response.status.code), body, response.headers.first(name: "Content-Type"))
    }

    /// What the parser read: family name → type, help and samples.
    struct Family: Decodable {
        struct Sample: Decodable {
            var name: String
            var labels: [String: String]
            var value: Double?
        }
        var type: String
        var help: String
        var samples: [Sample]

        /// The value of the sample `name` whose labels include `labels`.
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
        }
    }

    struct ParseFailure: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ exposition: String) throws -> [String: Family] {
        let run = try PythonPeer.run(script: "prometheus_peer.py", stdin: Data(exposition.utf8))
        guard run.status == 0 else { throw ParseFailure(description: "prometheus_peer.py exited \(run.status): \(run.stderr)") }
        return try JSONDecoder().decode([String: Family].self, from: Data(run.stdout.utf8))
    }

    @Test(
        "the exposition parses with prometheus_client, and its families have the names, types and values of a known workload",
        .enabled(if: PythonPeer.enabled))
    func knownWorkload() async throws {
        let modelled = {
            var usage = RunUsage(tokensIn: 100, tokensOut: 40, cacheReadTokens: 7, costUSD: 0.25)
            usage.model = "opus"
            return usage
        }()
        try await APIHarness.with(
            handlers: ["ok": { _, _ in .succeeded("fine", usage: modelled) }, "bad": { _, _ in .failed("boom", retryable: false) }],
            metrics: .open
        ) { api in
            var ids: [String] = []
            for (agent, count) in [("ok", 3), ("bad", 2)] {
                for index in 0..<count {
                    let answer = try await api.request(.POST, "/v1/tasks", body: #"{"agent": "\#(agent)", "prompt": "task \#(index)"}"#)
                    ids.append(try #require(answer.json?["id"]?.stringValue))
                }
            }
            // One that waits in the queue, in a lane, until an hour from now.
            let later = try await api.request(
                .POST, "/v1/tasks", body: #"{"agent": "ok", "prompt": "later", "lane": "nightly", "delay": 3600}"#)
            #expect(later.status == 201, "\(later.body)")
            let ended = await eventually {
                let states = try? await api.store.states(of: ids.compactMap(TaskID.init))
                return states?.values.allSatisfy { $0.state.isTerminal } == true
            }
            #expect(ended)

            var families: [String: Family] = [:]
            // The census follows the hook stream: wait until it counts every move made so far.
            let counted = try await eventually {
                families = try Self.parse(try await Self.get(api, "/metrics").body)
                let tasks = families["nightshift_tasks"]
                return tasks?.value("nightshift_tasks", ["agent": "ok", "state": "done"]) == 3
                    && tasks?.value("nightshift_tasks", ["agent": "bad", "state": "error"]) == 2
                    && tasks?.value("nightshift_tasks", ["agent": "ok", "state": "queued"]) == 1
            }
            #expect(counted, "\(families["nightshift_tasks"].map { "\($0.samples)" } ?? "no nightshift_tasks")")

            let scrape = try await Self.get(api, "/metrics")
            #expect(scrape.status == 200)
            #expect(scrape.type?.hasPrefix("text/plain; version=0.0.4") == true)

            let runs = try #require(families["nightshift_runs"], "\(families.keys.sorted())")
            #expect(runs.type == "counter")
            #expect(runs.value("nightshift_runs_total", ["agent": "ok", "outcome": "succeeded"]) == 3)
            #expect(runs.value("nightshift_runs_total", ["agent": "bad", "outcome": "failed"]) == 2)

            let duration = try #require(families["nightshift_run_duration_seconds"])
            #expect(duration.type == "histogram")
            #expect(duration.value("nightshift_run_duration_seconds_count", ["agent": "ok"]) == 3)
            #expect(duration.value("nightshift_run_duration_seconds_bucket", ["agent": "ok", "le": "+Inf"]) == 3)

            let tokens = try #require(families["nightshift_tokens"])
            #expect(tokens.type == "counter")
            #expect(tokens.value("nightshift_tokens_total", ["agent": "ok", "model": "opus", "kind": "input"]) == 300)
            #expect(tokens.value("nightshift_tokens_total", ["agent": "ok", "model": "opus", "kind": "output"]) == 120)
            #expect(tokens.value("nightshift_tokens_total", ["agent": "ok", "model": "opus", "kind": "cache_read"]) == 21)
            let cost = try #require(families["nightshift_cost_usd"])
            #expect(cost.type == "counter")
            #expect(abs((cost.value("nightshift_cost_usd_total", ["agent": "ok", "model": "opus"]) ?? 0) - 0.75) < 1e-9)

            let claims = try #require(families["nightshift_claim_latency_seconds"])
            #expect(claims.type == "histogram")
            let claimed = ["ok", "bad"].compactMap { claims.value("nightshift_claim_latency_seconds_count", ["agent": $0]) }
            #expect(claimed.reduce(0, +) == 5)

            let transactions = try #require(families["nightshift_store_transaction_seconds"])
            #expect(transactions.type == "histogram")
            #expect(transactions.value("nightshift_store_transaction_seconds_count", ["operation": "settle"]) == 5)
            #expect(transactions.value("nightshift_store_transaction_seconds_count", ["operation": "submit"]) == 6)

            let depth = try #require(families["nightshift_queue_depth"])
            #expect(depth.type == "gauge")
            #expect(depth.value("nightshift_queue_depth", ["agent": "ok", "lane": "nightly"]) == 1)
            let oldest = try #require(families["nightshift_queue_oldest_age_seconds"]?.value(
                "nightshift_queue_oldest_age_seconds", ["agent": "ok", "lane": "nightly"]))
            // Available in an hour: not yet, so no age.
            #expect(oldest == 0)
        }
    }

    @Test("token access refuses a scrape without an admin token of the default workspace; off serves none")
    func access() async throws {
        try await APIHarness.with(handlers: [:], metrics: .token) { api in
            #expect(try await Self.get(api, "/metrics").status == 401)
            #expect(try await Self.get(api, "/metrics", token: "wrong").status == 401)
            let other = try await api.request(.POST, "/v1/workspaces", body: #"{"id": "team"}"#)
            #expect(other.status == 201, "\(other.body)")
            let token = try await api.request(.POST, "/v1/tokens", body: #"{"workspace": "team", "role": "admin"}"#)
            let teamToken = try #require(token.json?["token"]?.stringValue, "\(token.body)")
            #expect(try await Self.get(api, "/metrics", token: teamToken).status == 403)
            let scrape = try await Self.get(api, "/metrics", token: APIHarness.token)
            #expect(scrape.status == 200)
            #expect(scrape.body.contains("# TYPE nightshift_census_seq gauge"))
        }
        try await APIHarness.with(handlers: [:], metrics: .off) { api in
            let status = try await Self.get(api, "/metrics").status
            #expect(status == 404)
        }
    }
}
