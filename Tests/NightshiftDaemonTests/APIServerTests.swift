import AsyncHTTPClient
import Foundation
import Nightshift
import NightshiftDaemon
import NIOCore
import NIOHTTP1
import NightshiftTestSupport
import Synchronization
import Testing

@Suite("HTTP API over loopback")
struct APIServerTests {
    static let handlers: [String: BuiltinRunner.Handler] = [
        "echo": { request, context in
            context.emit("log", ["message": .string("working on \(request.task.prompt)")])
            return .succeeded("echo: \(request.task.prompt)")
        },
        "fail": { _, _ in .failed("broken on purpose", retryable: false) },
        "slow": { request, context in
            for index in 0..<6 {
                context.emit("log", ["message": .string("step \(index)")])
                try await Task.sleep(for: .milliseconds(60))
            }
            return .succeeded("slow done")
        },
    ]

    @Test("auth: /v1 needs the bearer token; health, readiness and the OpenAPI document are open")
    func auth() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            #expect(try await api.request(.GET, "/v1/tasks", token: nil).status == 401)
            let wrong = try await api.request(.GET, "/v1/status", token: "nope")
            #expect(wrong.status == 401)
            #expect(wrong.json?["error"]?["code"] == "unauthorized")
            #expect(try await api.request(.GET, "/healthz", token: nil).status == 200)
            #expect(try await api.request(.GET, "/readyz", token: nil).status == 200)
            #expect(try await api.request(.GET, "/openapi.json", token: nil).json?["openapi"] == "3.1.0")
            #expect(try await api.request(.GET, "/v1/tasks").status == 200)
        }
    }

    @Test("submit, idempotent repeat, get, events, runs and status")
    func submitAndRead() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let created = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"hi","labels":["a"]}"#,
                                                headers: [("Idempotency-Key", "k1")])
            #expect(created.status == 201)
            let id = try #require(created.json?["id"]?.stringValue)
            let repeated = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"other"}"#,
                                                 headers: [("Idempotency-Key", "k1")])
            #expect(repeated.status == 200)
            #expect(repeated.json?["id"]?.stringValue == id)
            let bodyKey = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"x","idempotency_key":"k1"}"#)
            #expect(bodyKey.status == 200)
            #expect(bodyKey.json?["id"]?.stringValue == id)
            let live = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"slow","prompt":"d","dedup_key":"d1","delay":60}"#)
            #expect(live.status == 201)
            let deduped = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"slow","prompt":"d2","dedup_key":"d1"}"#)
            #expect(deduped.status == 200)
            #expect(deduped.json?["id"] == live.json?["id"])
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            let task = try await api.request(.GET, "/v1/tasks/\(id)").json
            for key in ["id", "state", "agent", "prompt", "priority", "attempt", "result", "error", "created_at", "updated_at"] {
                #expect(task?[key] != nil, "task JSON lacks \(key)")
            }
            #expect(task?["result"] == "echo: hi")
            let events = try #require(try await api.request(.GET, "/v1/tasks/\(id)/events?after=0&limit=100").json?["events"])
            guard case .array(let list) = events else { Issue.record("events is not an array"); return }
            #expect(list.compactMap { $0["type"]?.stringValue } == ["state", "state", "log", "state"])
            #expect(list.first?["data"]?["to"] == "queued")
            #expect(list.last?["data"]?["from"] == "running")
            let after = try await api.request(.GET, "/v1/tasks/\(id)/events?after=2").json?["events"]
            if case .array(let tail) = after { #expect(tail.count == 2) }
            let runs = try await api.request(.GET, "/v1/tasks/\(id)/runs").json?["runs"]
            if case .array(let runList) = runs { #expect(runList.first?["outcome"] == "succeeded") } else { Issue.record("no runs") }
            let status = try #require(try await api.request(.GET, "/v1/status").json)
            #expect(status["counts"]?["done"] == .int(1))
            #expect(status["totals"]?["succeeded"] == .int(1))
            #expect(status["queue_depth"] == .int(1))
        }
    }

    @Test("list filters by state, agent and label and pages with a cursor without repeats")
    func listing() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            var ids: [String] = []
            for index in 0..<5 {
                let agent = index < 3 ? "echo" : "fail"
                let created = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"\#(agent)","prompt":"p\#(index)","labels":["n\#(index % 2)"]}"#)
                ids.append(try #require(created.json?["id"]?.stringValue))
            }
            #expect(try await eventually {
                let counts = try await api.store.countsByState()
                return counts[.done] == 3 && counts[.error] == 2
            })
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await api.request(.GET, "/v1/tasks?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")).json
                if case .array(let tasks)? = page?["tasks"] { seen += tasks.compactMap { $0["id"]?.stringValue } }
                cursor = page?["next_cursor"]?.stringValue
            } while cursor != nil
            #expect(seen == ids.reversed())
            let errors = try await api.request(.GET, "/v1/tasks?state=error").json?["tasks"]
            if case .array(let list)? = errors { #expect(Set(list.compactMap { $0["id"]?.stringValue }) == Set(ids[3...])) }
            let echo = try await api.request(.GET, "/v1/tasks?agent=echo&label=n0").json?["tasks"]
            if case .array(let list)? = echo { #expect(Set(list.compactMap { $0["id"]?.stringValue }) == [ids[0], ids[2]]) }
            let future = try await api.request(.GET, "/v1/tasks?created_after=2100-01-01T00:00:00Z").json?["tasks"]
            #expect(future == .array([]))
            let past = try await api.request(.GET, "/v1/tasks?created_before=2100-01-01T00:00:00Z&limit=500").json?["tasks"]
            if case .array(let list)? = past { #expect(list.count == 5) } else { Issue.record("no tasks before 2100") }
            // A time as the API writes it (milliseconds) filters too; seconds past the year 9999 are refused.
            let oldest = try #require(try await api.request(.GET, "/v1/tasks/\(ids[0])").json?["created_at"]?.stringValue)
            let since = try await api.request(.GET, "/v1/tasks?created_after=\(oldest)")
            if case .array(let list)? = since.json?["tasks"] { #expect(list.count == 5, "\(since.body)") } else { Issue.record("\(since.body)") }
            let far = try await api.request(.GET, "/v1/tasks?created_after=1e300")
            #expect(far.status == 422 && far.json?["error"]?["field"] == "created_after", "\(far.body)")
            let laned = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"in a lane","lane":"l1"}"#)
            let lane = try await api.request(.GET, "/v1/tasks?lane=l1").json?["tasks"]
            if case .array(let list)? = lane { #expect(list.compactMap { $0["id"]?.stringValue } == [laned.json?["id"]?.stringValue]) }
        }
    }

    @Test("status: each agent's stats sum its tasks' totals; its latest quota status is shown; the task carries its totals")
    func agentStatsAndQuota() async throws {
        let handlers: [String: BuiltinRunner.Handler] = [
            "metered": { request, context in
                context.quotaObserved(["status": "allowed", "rateLimitType": "five_hour", "resetsAt": 1783159800])
                var outcome = RunOutcome.succeeded(
                    "ok", usage: RunUsage(tokensIn: 5, tokensOut: 7, cacheReadTokens: 11, cacheWriteTokens: 13, costUSD: 0.125, turns: 3))
                outcome.warnings = ["permission denied: Bash git push"]
                return outcome
            },
            "idle": { _, _ in .succeeded("") },
        ]
        try await APIHarness.with(handlers: handlers) { api in
            var ids: [String] = []
            for prompt in ["a", "b"] {
                let created = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"metered","prompt":"\#(prompt)"}"#)
                ids.append(try #require(created.json?["id"]?.stringValue))
            }
            for id in ids {
                #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            }
            let task = try #require(try await api.request(.GET, "/v1/tasks/\(ids[0])").json)
            #expect(task["tokens_in"] == 5 && task["tokens_out"] == 7 && task["cache_read_tokens"] == 11)
            #expect(task["cache_write_tokens"] == 13 && task["tokens_used"] == 36 && task["turns"] == 3)
            #expect((task["run_seconds"]?.doubleValue ?? 0) > 0)
            let runs = try await api.request(.GET, "/v1/tasks/\(ids[0])/runs").json?["runs"]
            guard case .array(let runList)? = runs else { Issue.record("no runs"); return }
            #expect(runList.first?["warnings"] == ["permission denied: Bash git push"])
            #expect(runList.first?["turns"] == 3)

            let status = try #require(try await api.request(.GET, "/v1/status").json)
            guard case .array(let agents)? = status["agents"] else { Issue.record("no agents in status"); return }
            let metered = try #require(agents.first { $0["agent"] == "metered" })
            #expect(metered["stats"]?["tasks"] == 2)
            #expect(metered["stats"]?["tokens_used"] == 72)
            #expect(metered["stats"]?["turns"] == 6)
            #expect(metered["stats"]?["cost_usd"]?.doubleValue == 0.25)
            #expect(metered["quota"]?["status"]?["status"] == "allowed")
            #expect(metered["quota"]?["status"]?["resetsAt"] == 1783159800)
            #expect(metered["quota"]?["observed_at"]?.stringValue != nil)
            // An agent that ran nothing has zero stats and no quota.
            let idle = try #require(agents.first { $0["agent"] == "idle" })
            #expect(idle["stats"]?["tasks"] == 0)
            #expect(idle["quota"] == .null)
        }
    }

    @Test("bad input gets the right status and error, and writes nothing")
    func badInput() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let malformed = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","#)
            #expect(malformed.status == 400)
            #expect(malformed.json?["error"]?["message"]?.stringValue?.contains("byte") == true)
            let wrongType = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":5}"#)
            #expect(wrongType.status == 422)
            #expect(wrongType.json?["error"]?["field"] == "prompt")
            let missing = try await api.request(.POST, "/v1/tasks", body: #"{"prompt":"x"}"#)
            #expect(missing.status == 422)
            #expect(missing.json?["error"]?["field"] == "agent")
            let unknown = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"x","priorty":3}"#)
            #expect(unknown.status == 422)
            #expect(unknown.json?["error"]?["field"] == "priorty")
            let tooBig = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":""# + String(repeating: "x", count: 3 * 1024 * 1024) + #""}"#)
            #expect(tooBig.status == 413)
            #expect(tooBig.json?["error"]?["code"] == "payload_too_large")
            let route = try await api.request(.GET, "/v1/nothing-here")
            #expect(route.status == 404)
            #expect(route.json?["error"]?["code"] == "not_found")
            #expect(try await api.request(.GET, "/v1/tasks?cursor=garbage").status == 400)
            #expect(try await api.request(.GET, "/v1/tasks/01a1fd4e-f656-70f5-9507-84af15236666").status == 404)
            #expect(try await api.store.countsByState().values.reduce(0, +) == 0)

            let done = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"x"}"#).json?["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(done)").json?["state"] == "done" })
            let pause = try await api.request(.POST, "/v1/tasks/\(done)/pause")
            #expect(pause.status == 409)
            #expect(pause.json?["error"]?["message"]?.stringValue?.contains("done") == true)
            #expect(try await api.request(.POST, "/v1/tasks/\(done)/archive").json?["archived"] == .bool(true))
            let listed = try await api.request(.GET, "/v1/tasks").json?["tasks"]
            #expect(listed == .array([]))
        }
    }

    @Test("cancel, retry and priority through the API")
    func actions() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let failed = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"fail","prompt":"x"}"#).json?["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(failed)").json?["state"] == "error" })
            #expect(try await api.request(.POST, "/v1/tasks/\(failed)/retry").status == 200)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(failed)").json?["attempt"] == .int(2) })
            let slow = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"slow","prompt":"x","delay":60}"#).json?["id"]?.stringValue)
            let patched = try await api.request(.PATCH, "/v1/tasks/\(slow)", body: #"{"priority":1}"#)
            #expect(patched.json?["priority"] == .int(1))
            let cancelled = try await api.request(.POST, "/v1/tasks/\(slow)/cancel")
            #expect(cancelled.json?["state"] == "cancelled")
        }
    }

    @Test("agents can be created, read, replaced and deleted")
    func agents() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let body = #"{"name":"lint","runner":"command","config":{"command":["/bin/true"]},"concurrency":2}"#
            #expect(try await api.request(.POST, "/v1/agents", body: body).status == 201)
            #expect(try await api.request(.POST, "/v1/agents", body: body).status == 409)
            #expect(try await api.request(.GET, "/v1/agents/lint").json?["concurrency"] == .int(2))
            let replaced = try await api.request(.PUT, "/v1/agents/lint", body: #"{"runner":"command","config":{"command":["/bin/false"]}}"#)
            #expect(replaced.json?["concurrency"] == .null)
            #expect(try await api.request(.DELETE, "/v1/agents/lint").status == 204)
            #expect(try await api.request(.GET, "/v1/agents/lint").status == 404)
            let bad = try await api.request(.POST, "/v1/agents", body: #"{"name":"x y","runner":"command"}"#)
            #expect(bad.status == 422)
            #expect(bad.json?["error"]?["field"] == "name")
            // The runner checks its own config: an unknown key or a wrong type is named.
            for (config, key) in [(#"{"max_turnz":3}"#, "max_turnz"), (#"{"max_turns":"many"}"#, "max_turns")] {
                let refused = try await api.request(.POST, "/v1/agents", body: #"{"name":"c","runner":"claude_code","config":\#(config)}"#)
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == .string(key), "\(refused.body)")
            }
            for (config, key) in [(#"{"command":[]}"#, "command"), (#"{"command":["x"],"enviroment":["PATH"]}"#, "enviroment")] {
                let refused = try await api.request(.POST, "/v1/agents", body: #"{"name":"c","runner":"command","config":\#(config)}"#)
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == .string(key), "\(refused.body)")
            }
            let unknownRunner = try await api.request(.POST, "/v1/agents", body: #"{"name":"c","runner":"aider"}"#)
            #expect(unknownRunner.status == 422 && unknownRunner.json?["error"]?["field"] == "runner")
        }
    }

    @Test("an agent's rate, quota group and pacing: written and answered; a bad rate is 422 naming rate; unpark of a group not parked answers the agent")
    func agentPacing() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let saved = try await api.request(.PUT, "/v1/agents/paced", body: #"{"runner":"builtin","rate":"30/1h","quota_group":"anthropic"}"#)
            #expect(saved.status == 200, "\(saved.body)")
            #expect(saved.json?["rate"] == "30/1h")
            #expect(saved.json?["quota_group"] == "anthropic")
            #expect(saved.json?["park_on_limit"] == true)
            let pacing = try await api.request(.GET, "/v1/agents/paced").json?["pacing"]
            #expect(pacing?["tokens"] == .int(30))
            #expect(pacing?["next_refill"] == .null)
            #expect(pacing?["parked_until"] == .null)
            #expect(pacing?["quota_group"] == "anthropic")
            for rate in ["5/0s", "0/1h", "x"] {
                let refused = try await api.request(.PUT, "/v1/agents/paced", body: #"{"runner":"builtin","rate":"\#(rate)"}"#)
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == "rate", "\(rate): \(refused.body)")
            }
            let unparked = try await api.request(.POST, "/v1/agents/paced/unpark")
            #expect(unparked.status == 200 && unparked.json?["name"] == "paced")
            #expect(try await api.request(.POST, "/v1/agents/nobody/unpark").status == 404)
            let status = try await api.request(.GET, "/v1/status").json
            guard case .array(let agents)? = status?["agents"] else { Issue.record("no agents in status"); return }
            #expect(agents.first { $0["agent"] == "paced" }?["pacing"]?["rate"] == "30/1h")
        }
    }

    @Test("an agent's budget: costs add up in spent_usd; once spent, submits are refused with 402 budget_exceeded")
    func agentBudget() async throws {
        let handlers: [String: BuiltinRunner.Handler] = ["pricey": { _, _ in .succeeded("ok", usage: RunUsage(costUSD: 0.75)) }]
        try await APIHarness.with(handlers: handlers) { api in
            let saved = try await api.request(.PUT, "/v1/agents/pricey", body: #"{"runner":"builtin","budget_usd":1.0,"inject_memories":true}"#)
            #expect(saved.json?["budget_usd"]?.doubleValue == 1 && saved.json?["inject_memories"] == true, "\(saved.body)")
            for _ in 0..<2 {
                let id = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"pricey","prompt":"x"}"#).json?["id"]?.stringValue)
                #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            }
            #expect(try await api.request(.GET, "/v1/agents/pricey").json?["spent_usd"]?.doubleValue == 1.5)
            // Replacing the agent keeps its spend, and the answer says so.
            let replaced = try await api.request(.PUT, "/v1/agents/pricey", body: #"{"runner":"builtin","budget_usd":1.0}"#)
            #expect(replaced.status == 200 && replaced.json?["spent_usd"]?.doubleValue == 1.5, "\(replaced.body)")
            #expect(replaced.json?["inject_memories"] == false, "the rest is replaced")
            let refused = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"pricey","prompt":"x"}"#)
            #expect(refused.status == 402, "\(refused.body)")
            #expect(refused.json?["error"]?["code"] == "budget_exceeded")
            #expect(refused.json?["error"]?["message"]?.stringValue?.hasPrefix("budget exceeded") == true)
        }
    }

    @Test("an SSE client that drops mid-stream and resumes with Last-Event-ID gets every event exactly once")
    func sseResume() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let id = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"slow","prompt":"x"}"#).json?["id"]?.stringValue)
            var seqs: [Int64] = []
            // First connection: read three events, then drop it.
            var first = HTTPClientRequest(url: api.base + "/v1/tasks/\(id)/events")
            first.headers.add(name: "Authorization", value: "Bearer \(APIHarness.token)")
            first.headers.add(name: "Accept", value: "text/event-stream")
            let response = try await HTTPClient.shared.execute(first, timeout: .seconds(10))
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var parser = SSEParser()
            reading: for try await chunk in response.body {
                for event in parser.feed(String(buffer: chunk)) {
                    seqs.append(event)
                    if seqs.count == 3 { break reading }
                }
            }
            // Second connection resumes after the last seq seen and runs to the end of the task.
            var second = HTTPClientRequest(url: api.base + "/v1/tasks/\(id)/events")
            second.headers.add(name: "Authorization", value: "Bearer \(APIHarness.token)")
            second.headers.add(name: "Accept", value: "text/event-stream")
            second.headers.add(name: "Last-Event-ID", value: String(seqs.last!))
            let resumed = try await HTTPClient.shared.execute(second, timeout: .seconds(10))
            parser = SSEParser()
            for try await chunk in resumed.body { seqs += parser.feed(String(buffer: chunk)) }
            let stored = try await api.store.events(task: TaskID(id)!, after: 0, limit: 100).map(\.seq)
            #expect(stored.count == 9)
            #expect(seqs == stored)
            #expect(try await api.store.task(TaskID(id)!)?.state == .done)
        }
    }

    @Test("a live stream gets events as the engine writes them, not at the next poll")
    func ssePush() async throws {
        let gate = Mutex(false)
        let handlers: [String: BuiltinRunner.Handler] = [
            "gated": { _, context in
                while !gate.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
                for index in 0..<3 {
                    context.emit("log", ["message": .string("step \(index)")])
                    try await Task.sleep(for: .milliseconds(30))
                }
                return .succeeded("ok")
            }
        ]
        // With a one-minute poll, only the engine's rings can bring the events within the
        // client's thirty-second timeout (ten was too few for a loaded full run on two cores).
        try await APIHarness.with(handlers: handlers, streamPoll: .seconds(60)) { api in
            let id = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"gated","prompt":"x"}"#).json?["id"]?.stringValue)
            var request = HTTPClientRequest(url: api.base + "/v1/tasks/\(id)/events")
            request.headers.add(name: "Authorization", value: "Bearer \(APIHarness.token)")
            request.headers.add(name: "Accept", value: "text/event-stream")
            let start = ContinuousClock.now
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            var parser = SSEParser()
            var seqs: [Int64] = []
            for try await chunk in response.body {
                seqs += parser.feed(String(buffer: chunk))
                // The stream has read the log once and waits: the run's events come after.
                gate.withLock { $0 = true }
            }
            let stored = try await api.store.events(task: TaskID(id)!, after: 0, limit: 100)
            #expect(stored.filter { $0.type == "log" }.count == 3)
            #expect(seqs == stored.map(\.seq))
            #expect(try await api.store.task(TaskID(id)!)?.state == .done)
            #expect(ContinuousClock.now - start < .seconds(30))
        }
    }

    @Test("the API's priority change goes through the engine: a live stream sees the priority event at once")
    func writesThroughTheEngine() async throws {
        try await APIHarness.with(handlers: ["ok": { _, _ in .succeeded(nil) }], streamPoll: .seconds(60)) { api in
            let id = try #require(
                try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"x","delay":3600}"#).json?["id"]?.stringValue)
            var request = HTTPClientRequest(url: api.base + "/v1/tasks/\(id)/events")
            request.headers.add(name: "Authorization", value: "Bearer \(APIHarness.token)")
            request.headers.add(name: "Accept", value: "text/event-stream")
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            var parser = SSEParser()
            var seqs: [Int64] = []
            var changed = false
            for try await chunk in response.body {
                seqs += parser.feed(String(buffer: chunk))
                if !changed {
                    changed = true
                    // With a one-minute poll, only the engine's ring brings these within the timeout.
                    #expect(try await api.request(.PATCH, "/v1/tasks/\(id)", body: #"{"priority":3}"#).status == 200)
                } else if seqs.count == 2 {
                    #expect(try await api.request(.POST, "/v1/tasks/\(id)/cancel").status == 200)
                }
            }
            let stored = try await api.store.events(task: TaskID(id)!, after: 0, limit: 100)
            #expect(stored.map(\.type) == ["state", "priority", "state"])
            #expect(seqs == stored.map(\.seq))
        }
    }

    @Test("the OpenAPI document describes exactly the routes the server has")
    func openAPIMatchesRoutes() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let document = try #require(try await api.request(.GET, "/openapi.json", token: nil).json)
            guard case .object(let paths)? = document["paths"] else { Issue.record("no paths"); return }
            var documented: Set<String> = []
            for (path, operations) in paths {
                guard case .object(let methods) = operations else { continue }
                for method in methods.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            let served = Set(APIServer.routes.map { "\($0.method.rawValue) \($0.path)" })
            #expect(documented == served, "undocumented: \(served.subtracting(documented)); not served: \(documented.subtracting(served))")
            // Every documented route answers with something other than "no such route".
            for route in APIServer.routes {
                let path = route.path.replacingOccurrences(of: "{id}", with: "01a1fd4e-f656-70f5-9507-84af15236666")
                    .replacingOccurrences(of: "{name}", with: "nobody")
                let answer = try await api.request(HTTPMethod(rawValue: route.method.rawValue), path, body: route.method == .get || route.method == .delete ? nil : "{}")
                #expect(answer.json?["error"]?["message"] != "no such route", "\(route.method) \(route.path) is not routed")
            }
        }
    }
}

/// Splits an SSE byte stream into events; returns the `id:` of each complete event.
struct SSEParser {
    private var buffer = ""
    private var id: Int64?

    mutating func feed(_ text: String) -> [Int64] {
        buffer += text
        var ids: [Int64] = []
        while let end = buffer.range(of: "\n\n") {
            let block = buffer[..<end.lowerBound]
            buffer = String(buffer[end.upperBound...])
            for line in block.split(separator: "\n") where line.hasPrefix("id: ") {
                if let value = Int64(line.dropFirst(4)) { ids.append(value) }
            }
        }
        return ids
    }
}
