import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Synchronization
import Testing

/// `/v1/lanes` and an agent's `stall_timeout` over real loopback HTTP.
@Suite("HTTP API: lanes and stall timeouts")
struct LanesAPITests {
    @Test("a lane's limit is set, listed, replaced, removed with null and deleted")
    func lifecycle() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            #expect(try await api.request(.GET, "/v1/lanes").json == ["lanes": []])
            let set = try await api.request(.PUT, "/v1/lanes/deploys", body: #"{"concurrency":2}"#)
            #expect(set.status == 200, "\(set.body)")
            #expect(set.json == ["name": "deploys", "concurrency": 2, "running": 0])
            _ = try await api.request(.PUT, "/v1/lanes/gpu%20a", body: #"{"concurrency":1}"#)
            #expect(try await api.request(.PUT, "/v1/lanes/deploys", body: #"{"concurrency":3}"#).json?["concurrency"] == 3)
            #expect(try await api.request(.GET, "/v1/lanes").json == ["lanes": [
                ["name": "deploys", "concurrency": 3, "running": 0], ["name": "gpu a", "concurrency": 1, "running": 0],
            ]])
            let removed = try await api.request(.PUT, "/v1/lanes/deploys", body: #"{"concurrency":null}"#)
            #expect(removed.status == 200 && removed.json == ["name": "deploys", "concurrency": nil, "running": 0])
            #expect(try await api.request(.DELETE, "/v1/lanes/deploys").status == 404, "no limit left to delete")
            #expect(try await api.request(.DELETE, "/v1/lanes/gpu%20a").status == 204)
            #expect(try await api.request(.GET, "/v1/lanes").json == ["lanes": []])
        }
    }

    @Test("a limit below 1 or not an integer is refused with 422 naming concurrency; a bad lane name with 422 naming name")
    func refusals() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            for body in [#"{"concurrency":0}"#, #"{"concurrency":-3}"#, #"{"concurrency":1.5}"#, #"{"concurrency":"2"}"#, "{}", #"{"concurrency":true}"#] {
                let refused = try await api.request(.PUT, "/v1/lanes/deploys", body: body)
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == "concurrency", "\(body): \(refused.body)")
            }
            let unknown = try await api.request(.PUT, "/v1/lanes/deploys", body: #"{"concurrency":1,"limit":2}"#)
            #expect(unknown.status == 422 && unknown.json?["error"]?["field"] == "limit")
            for name in ["a%07b", String(repeating: "x", count: 129)] {
                let refused = try await api.request(.PUT, "/v1/lanes/\(name)", body: #"{"concurrency":1}"#)
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == "name", "\(name): \(refused.body)")
                let deleted = try await api.request(.DELETE, "/v1/lanes/\(name)")
                #expect(deleted.status == 422 && deleted.json?["error"]?["field"] == "name", "\(name): \(deleted.body)")
            }
            #expect(try await api.request(.GET, "/v1/lanes").json == ["lanes": []], "nothing was stored")
        }
    }

    @Test("lanes are the token's workspace's; a read-only token may list them but not set them")
    func scoping() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let a = try await WorkspaceAPITests.token(api, workspace: "a", role: "member")
            let b = try await WorkspaceAPITests.token(api, workspace: "b", role: "member")
            #expect(try await api.request(.PUT, "/v1/lanes/deploys", body: #"{"concurrency":1}"#, token: a).status == 200)
            #expect(try await api.request(.GET, "/v1/lanes", token: b).json == ["lanes": []])
            #expect(try await api.request(.DELETE, "/v1/lanes/deploys", token: b).status == 404)
            #expect(try await api.request(.GET, "/v1/lanes", token: a).json?["lanes"]?.arrayValue?.first?["name"] == "deploys")
            #expect(try await api.request(.GET, "/v1/lanes").json == ["lanes": []], "not the default workspace's either")
            let reader = try await WorkspaceAPITests.token(api, workspace: "a", role: "read_only", createWorkspace: false)
            #expect(try await api.request(.GET, "/v1/lanes", token: reader).status == 200)
            #expect(try await api.request(.PUT, "/v1/lanes/deploys", body: #"{"concurrency":5}"#, token: reader).status == 403)
            #expect(try await api.request(.DELETE, "/v1/lanes/deploys", token: reader).status == 403)
        }
    }

    @Test("a lane limit set through the API holds: two tasks in a lane of concurrency 1 never run at once")
    func limitHolds() async throws {
        let running = PeakCounter()
        let gate = Mutex(false)
        let handler: BuiltinRunner.Handler = { _, _ in
            running.enter()
            defer { running.leave() }
            _ = await eventually(timeout: .seconds(60)) { gate.withLock { $0 } }
            return .succeeded("ok")
        }
        try await APIHarness.with(handlers: ["first": handler, "second": handler]) { api in
            #expect(try await api.request(.PUT, "/v1/lanes/solo", body: #"{"concurrency":1}"#).status == 200)
            var ids: [String] = []
            for agent in ["first", "second"] {
                let submitted = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"\#(agent)","prompt":"x","lane":"solo"}"#)
                ids.append(try #require(submitted.json?["id"]?.stringValue, "\(submitted.body)"))
            }
            #expect(try await eventually { try await api.request(.GET, "/v1/lanes").json?["lanes"]?.arrayValue?.first?["running"] == 1 })
            #expect(await eventually { running.total == 1 })
            let states = try await [api.request(.GET, "/v1/tasks/\(ids[0])"), api.request(.GET, "/v1/tasks/\(ids[1])")]
            #expect(Set(states.compactMap { $0.json?["state"]?.stringValue }) == ["running", "queued"], "four slots, but one lane place")
            gate.withLock { $0 = true }
            for id in ids {
                #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            }
            #expect(running.total == 2 && running.peak == 1, "one at a time in lane solo")
        }
    }

    @Test("an agent's stall_timeout is stored and answered; one that is not a number > 0 is refused naming it")
    func stallTimeout() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let saved = try await api.request(.PUT, "/v1/agents/watched", body: #"{"runner":"builtin","stall_timeout":600}"#)
            #expect(saved.status == 200 && saved.json?["stall_timeout"] == 600, "\(saved.body)")
            #expect(try await api.request(.GET, "/v1/agents/watched").json?["stall_timeout"] == 600)
            #expect(try await api.request(.GET, "/v1/agents/echo").json?["stall_timeout"] == .null)
            for value in ["0", "-1", #""10m""#] {
                let refused = try await api.request(.PUT, "/v1/agents/watched", body: #"{"runner":"builtin","stall_timeout":\#(value)}"#)
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == "stall_timeout", "\(value): \(refused.body)")
            }
        }
    }
}

/// How many handlers run now, at most at once and in all.
private final class PeakCounter: Sendable {
    private let state = Mutex((current: 0, peak: 0, total: 0))
    func enter() { state.withLock { $0.current += 1; $0.total += 1; $0.peak = max($0.peak, $0.current) } }
    func leave() { state.withLock { $0.current -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
    var total: Int { state.withLock { $0.total } }
}
