import AsyncHTTPClient
import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import NIOCore
import Testing

/// `/metrics`: read by the official Python client's parser (`prometheus_client`), its families'
/// names, types and values checked against known workloads (one with webhooks, a schedule and a
/// parked agent on a clock moved by hand); and its access modes.
@Suite struct MetricsTests {
    /// A GET of `path` without the harness's recorder (`/metrics` is not an OpenAPI route).
    static func get(_ api: APIHarness, _ path: String, token: String? = nil) async throws -> (status: Int, body: String, type: String?) {
        var request = HTTPClientRequest(url: api.base + path)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let body = String(buffer: try await response.body.collect(upTo: 16 << 20))
        return (Int(response.status.code), body, response.headers.first(name: "Content-Type"))
    }

    typealias Family = PrometheusPeer.Family

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
                families = try PrometheusPeer.parse(try await Self.get(api, "/metrics").body)
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
            // Claims are batches (one may take several tasks, a wake-up may take none): at least one,
            // and every one of them within the histogram's last bucket.
            let claimTransactions = try #require(transactions.value("nightshift_store_transaction_seconds_count", ["operation": "claim"]))
            #expect(claimTransactions >= 1)
            #expect(transactions.value("nightshift_store_transaction_seconds_bucket", ["operation": "claim", "le": "+Inf"]) == claimTransactions)

            let depth = try #require(families["nightshift_queue_depth"])
            #expect(depth.type == "gauge")
            #expect(depth.value("nightshift_queue_depth", ["agent": "ok", "lane": "nightly"]) == 1)
            let oldest = try #require(families["nightshift_queue_oldest_age_seconds"]?.value(
                "nightshift_queue_oldest_age_seconds", ["agent": "ok", "lane": "nightly"]))
            // Available in an hour: not yet, so no age.
            #expect(oldest == 0)
        }
    }

    @Test(
        "webhook deliveries, a schedule's fire, a parked agent and a task kept waiting show in the parsed exposition with their values",
        .enabled(if: PythonPeer.enabled))
    func deliveriesSchedulesParking() async throws {
        // The engine's clock moves only by hand: the schedule fires, and the queued task ages, when
        // the test says; the refused delivery's retry (an hour on, as its Retry-After asks) never comes.
        let clock = ManualClock()
        let reset = clock.now.addingTimeInterval(3_600)
        let receiving = WebhookReceiver(secret: "s")
        let refusing = WebhookReceiver(secret: "s") { _, _ in (503, ["Retry-After": "3600"]) }
        let handlers: [String: BuiltinRunner.Handler] = [
            "ok": { _, _ in .succeeded("fine") },
            "limited": { request, _ in
                request.task.prompt == "first" ? .usageLimit("You've hit your limit · resets 3pm", resetsAt: reset) : .succeeded("ran")
            },
        ]
        try await receiving.serving { receivingURL in
            try await refusing.serving { refusingURL in
                // Webhook leases of a day: the clock's moves do not expire them under the workers.
                try await APIHarness.with(handlers: handlers, clock: clock, webhookLeaseDuration: 86_400, metrics: .open) { api in
                    for (name, url) in [("receiving", receivingURL), ("refusing", refusingURL)] {
                        let created = try await api.request(.POST, "/v1/webhooks", body: #"{"name": "\#(name)", "url": "\#(url)", "secret": "s"}"#)
                        #expect(created.status == 201, "\(created.body)")
                    }
                    func submit(_ agent: String, _ prompt: String) async throws -> TaskID {
                        let answer = try await api.request(.POST, "/v1/tasks", body: #"{"agent": "\#(agent)", "prompt": "\#(prompt)"}"#)
                        return try #require(answer.json?["id"]?.stringValue.flatMap(TaskID.init), "\(answer.body)")
                    }
                    let done = try await submit("ok", "one")
                    #expect(try await eventually { try await api.store.task(done)?.state == .done })
                    // A usage limit parks `limited`'s quota group; a task submitted then waits.
                    let first = try await submit("limited", "first")
                    #expect(try await eventually { try await api.store.runs(task: first).first?.outcome == "parked" })
                    let second = try await submit("limited", "second")

                    // A schedule fires when the clock reaches its time (no later: no lag); then it pauses.
                    let schedule = try await api.request(
                        .POST, "/v1/schedules", body: #"{"name": "tick", "cron": "@every 1m", "task": {"agent": "ok", "prompt": "tick"}}"#)
                    let scheduleID = try #require(schedule.json?["id"]?.stringValue, "\(schedule.body)")
                    let fireTime = try JSONTime.date(try #require(schedule.json?["next_run_at"]), field: "next_run_at")
                    let waited = fireTime.timeIntervalSince(clock.now)
                    #expect(waited > 0)
                    clock.advance(by: waited)
                    #expect(try await eventually {
                        let fired = try await api.request(.GET, "/v1/tasks?schedule_id=\(scheduleID)").json?["tasks"]?.arrayValue ?? []
                        return fired.count == 1 && fired.first?["state"] == "done"
                    })
                    #expect(try await api.request(.POST, "/v1/schedules/tick/pause").status == 200)
                    #expect(try await api.store.task(second)?.state == .queued)

                    var families: [String: Family] = [:]
                    #expect(try await eventually {
                        families = try PrometheusPeer.parse(try await Self.get(api, "/metrics").body)
                        return families["nightshift_schedule_fire_lag_seconds"] != nil
                    })
                    let fireLag = try #require(families["nightshift_schedule_fire_lag_seconds"])
                    #expect(fireLag.type == "histogram")
                    #expect(fireLag.value("nightshift_schedule_fire_lag_seconds_count") == 1)
                    #expect((fireLag.value("nightshift_schedule_fire_lag_seconds_sum") ?? 1) < 0.001, "fired at its time")
                    let parked = try #require(families["nightshift_parked_agents"], "\(families.keys.sorted())")
                    #expect(parked.type == "gauge")
                    #expect(parked.value("nightshift_parked_agents", ["agent": "limited", "quota_group": "limited"]) == 1)
                    #expect(parked.value("nightshift_parked_agents", ["agent": "ok"]) == nil, "not parked")
                    // `second` has been available since it was submitted, as long as the clock moved
                    // since; `first` waits for its reset, so it is not the oldest.
                    let depth = try #require(families["nightshift_queue_depth"])
                    #expect(depth.value("nightshift_queue_depth", ["agent": "limited", "lane": ""]) == 2)
                    let oldest = try #require(families["nightshift_queue_oldest_age_seconds"]?.value(
                        "nightshift_queue_oldest_age_seconds", ["agent": "limited", "lane": ""]))
                    #expect(abs(oldest - waited) < 0.01, "\(oldest) s, waited \(waited) s")

                    // Unparked, `second` runs at once, and the gauge is gone.
                    #expect(try await api.request(.POST, "/v1/agents/limited/unpark").status == 200)
                    #expect(try await eventually { try await api.store.task(second)?.state == .done })
                    let unparked = try PrometheusPeer.parse(try await Self.get(api, "/metrics").body)
                    #expect(unparked["nightshift_parked_agents"]?.value("nightshift_parked_agents", ["agent": "limited"]) == nil)

                    // Every event reached the receiving webhook, each counted delivered once with its
                    // lag; the refusing one counts its one failed attempt.
                    var deliveries: Family?
                    let counted = try await eventually {
                        let events = try await api.store.hookEvents(after: 0, limit: 1000).count
                        families = try PrometheusPeer.parse(try await Self.get(api, "/metrics").body)
                        deliveries = families["nightshift_webhook_deliveries"]
                        return receiving.accepted.count == events
                            && deliveries?.value("nightshift_webhook_deliveries_total", ["webhook": "receiving", "result": "delivered"])
                            == Double(events)
                    }
                    #expect(counted, "\(receiving.accepted.count) received; \(deliveries.map { "\($0.samples)" } ?? "no deliveries")")
                    let received = Double(receiving.accepted.count)
                    #expect(received >= 10, "four tasks' moves")
                    #expect(deliveries?.type == "counter")
                    #expect(deliveries?.value("nightshift_webhook_deliveries_total", ["webhook": "receiving", "result": "failed"]) == nil)
                    #expect(refusing.received.count == 1)
                    #expect(deliveries?.value("nightshift_webhook_deliveries_total", ["webhook": "refusing", "result": "failed"]) == 1)
                    #expect(deliveries?.value("nightshift_webhook_deliveries_total", ["webhook": "refusing", "result": "delivered"]) == nil)
                    let lag = try #require(families["nightshift_webhook_lag_seconds"])
                    #expect(lag.type == "histogram")
                    #expect(lag.value("nightshift_webhook_lag_seconds_count", ["webhook": "receiving"]) == received)
                    #expect(lag.value("nightshift_webhook_lag_seconds_count", ["webhook": "refusing"]) == nil, "a failure has no lag")
                }
            }
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
