import Foundation
import HTTPTypes
import Logging
import Nightshift
import NightshiftDaemon
import NightshiftSQLite
import NightshiftTestSupport
import NIOHTTP1
import Testing

extension JSONValue {
    /// The items of an array (`nil` for anything else).
    fileprivate var items: [JSONValue]? {
        guard case .array(let items) = self else { return nil }
        return items
    }

    /// An integer's value.
    fileprivate var integer: Int64? {
        guard case .int(let value) = self else { return nil }
        return value
    }
}

/// Workspaces and tokens over real loopback HTTP: isolation, roles, revocation.
@Suite("HTTP API: workspaces and tokens")
struct WorkspaceAPITests {
    /// Creates workspace `id` and a token of `role` in it with the bootstrap token; answers the token.
    static func token(_ api: APIHarness, workspace: String, role: String, createWorkspace: Bool = true) async throws -> String {
        if createWorkspace {
            let created = try await api.request(.POST, "/v1/workspaces", body: #"{"id":"\#(workspace)"}"#)
            #expect(created.status == 201, "\(created.body)")
        }
        let answer = try await api.request(.POST, "/v1/tokens", body: #"{"workspace":"\#(workspace)","role":"\#(role)","name":"t"}"#)
        #expect(answer.status == 201, "\(answer.body)")
        return try #require(answer.json?["token"]?.stringValue)
    }

    @Test("a token of workspace A cannot see or touch B's tasks, events, runs, agents, checkpoints and memories")
    func isolation() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let a = try await Self.token(api, workspace: "a", role: "member")
            let b = try await Self.token(api, workspace: "b", role: "member")
            for token in [a, b] {
                let agent = try await api.request(.POST, "/v1/agents", body: #"{"name":"echo","runner":"builtin"}"#, token: token)
                #expect(agent.status == 201, "\(agent.body)")
            }
            let submitted = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"b's"}"#, token: b)
            let id = try #require(submitted.json?["id"]?.stringValue)
            #expect(submitted.json?["workspace_id"] == "b")
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)", token: b).json?["state"] == "done" })
            let mine = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"a's"}"#, token: a)
            let mineID = try #require(mine.json?["id"]?.stringValue)

            // B's own token reads them all.
            for path in ["/v1/tasks/\(id)", "/v1/tasks/\(id)/events", "/v1/tasks/\(id)/runs"] {
                #expect(try await api.request(.GET, path, token: b).status == 200, "\(path)")
            }
            // A's gets 404 for each, and for every action on it.
            for path in ["/v1/tasks/\(id)", "/v1/tasks/\(id)/events", "/v1/tasks/\(id)/runs"] {
                let answer = try await api.request(.GET, path, token: a)
                #expect(answer.status == 404 && answer.json?["error"]?["code"] == "not_found", "\(path): \(answer.body)")
            }
            for action in ["cancel", "retry", "archive"] {
                #expect(try await api.request(.POST, "/v1/tasks/\(id)/\(action)", token: a).status == 404, "\(action)")
            }
            #expect(try await api.request(.PATCH, "/v1/tasks/\(id)", body: #"{"priority":1}"#, token: a).status == 404)
            #expect(try await api.request(.GET, "/v1/tasks/\(id)", token: b).json?["archived"] == false, "nothing changed")
            // An event stream of B's task is not found either.
            let stream = try await api.request(.GET, "/v1/tasks/\(id)/events", token: a, headers: [("Accept", "text/event-stream")])
            #expect(stream.status == 404)

            // Lists show only the token's workspace.
            let listed = try await api.request(.GET, "/v1/tasks", token: a).json?["tasks"]
            #expect(listed.map { tasks in (tasks.items ?? []).compactMap { $0["id"]?.stringValue } } == [mineID])
            let status = try await api.request(.GET, "/v1/status", token: a).json
            let counted = (status?["counts"]?.objectValue ?? [:]).values.compactMap(\.integer).reduce(0, +)
            #expect(counted == 1, "only A's own task is counted in A's status")
            let recent = status?["recent_runs"]?.items ?? []
            #expect(!recent.contains { $0["task_id"]?.stringValue == id })
            // The global feed carries only the token's workspace's lifecycle changes: A sees its
            // own task's, never B's, though B's came first in the one stream of the store.
            let feedOf = { (token: String) async throws -> Set<String> in
                let page = try await api.request(.GET, "/v1/events?limit=1000", token: token).json?["events"]?.items ?? []
                return Set(page.compactMap { $0["task_id"]?.stringValue })
            }
            #expect(try await feedOf(a) == [mineID])
            #expect(try await feedOf(b) == [id])
            // The bootstrap admin of default sees neither: default is a workspace of its own.
            #expect(try await api.request(.GET, "/v1/tasks/\(id)").status == 404)

            // Checkpoints and memories.
            let checkpoint = try await api.request(.POST, "/v1/checkpoints", body: #"{"schema_version":1,"agent":"echo","phase":"p"}"#, token: b)
            let checkpointID = try #require(checkpoint.json?["id"]?.stringValue)
            #expect(try await api.request(.GET, "/v1/checkpoints/\(checkpointID)", token: a).status == 404)
            #expect(try await api.request(.POST, "/v1/checkpoints/\(checkpointID)/resolve", token: a).status == 404)
            #expect(try await api.request(.GET, "/v1/checkpoints", token: a).json?["checkpoints"] == .array([]))
            #expect(try await api.request(.GET, "/v1/checkpoints/\(checkpointID)", token: b).status == 200)
            #expect(try await api.request(.PUT, "/v1/agents/echo/memories/k", body: #"{"summary":"b's"}"#, token: b).status == 200)
            #expect(try await api.request(.GET, "/v1/agents/echo/memories/k", token: a).status == 404)
            #expect(try await api.request(.DELETE, "/v1/agents/echo/memories/k", token: a).status == 404)
            #expect(try await api.request(.GET, "/v1/agents/echo/memories", token: a).json?["memories"] == .array([]))
            #expect(try await api.request(.GET, "/v1/agents/echo/memories/k", token: b).json?["workspace_id"] == "b")

            // Agents: deleting A's echo leaves B's.
            #expect(try await api.request(.DELETE, "/v1/agents/echo", token: a).status == 204)
            #expect(try await api.request(.GET, "/v1/agents/echo", token: b).status == 200)
            #expect(try await api.request(.GET, "/v1/agents", token: a).json?["agents"] == .array([]))
            // A submit naming another workspace is refused.
            let other = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"x","workspace_id":"a"}"#, token: b)
            #expect(other.status == 422 && other.json?["error"]?["field"] == "workspace_id")
        }
    }

    @Test("two workspaces each have an agent named claude with different settings; a task runs with its own")
    func agentPerWorkspace() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let a = try await Self.token(api, workspace: "a", role: "member")
            let b = try await Self.token(api, workspace: "b", role: "member")
            _ = try await api.request(.PUT, "/v1/agents/claude", body: #"{"runner":"builtin","config":{"handler":"echo"}}"#, token: a)
            _ = try await api.request(.PUT, "/v1/agents/claude", body: #"{"runner":"builtin","config":{"handler":"fail"}}"#, token: b)
            #expect(try await api.request(.GET, "/v1/agents/claude", token: a).json?["config"]?["handler"] == "echo")
            #expect(try await api.request(.GET, "/v1/agents/claude", token: b).json?["config"]?["handler"] == "fail")
            var ids: [String: String] = [:]
            for (name, token) in [("a", a), ("b", b)] {
                let submitted = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"claude","prompt":"hi","max_attempts":1}"#, token: token)
                ids[name] = try #require(submitted.json?["id"]?.stringValue)
            }
            var finished: [String: JSONValue] = [:]
            #expect(try await eventually {
                for (name, token) in [("a", a), ("b", b)] {
                    finished[name] = try await api.request(.GET, "/v1/tasks/\(ids[name]!)", token: token).json
                }
                return finished.values.allSatisfy { ["done", "error"].contains($0["state"]?.stringValue) }
            })
            #expect(finished["a"]?["state"] == "done" && finished["a"]?["result"] == "echo: hi")
            #expect(finished["b"]?["state"] == "error" && finished["b"]?["error"] == "broken on purpose")
        }
    }

    @Test("read-only is refused (403 forbidden) on every write route and every token route; a member on the token routes")
    func roles() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let reader = try await Self.token(api, workspace: Workspace.defaultID, role: "read_only", createWorkspace: false)
            let member = try await Self.token(api, workspace: Workspace.defaultID, role: "member", createWorkspace: false)
            // Delayed, so it is still queued when the member cancels it below.
            let task = try #require(
                try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"x","delay":3600}"#).json?["id"]?.stringValue)
            var writes = 0
            for route in APIServer.routes where route.path.hasPrefix("/v1/") {
                let (method, path) = (route.method, route.path)
                let url = path.replacingOccurrences(of: "{id}", with: task).replacingOccurrences(of: "{name}", with: "echo")
                    .replacingOccurrences(of: "{key}", with: "k")
                let admin = path.hasPrefix("/v1/tokens") || path.hasPrefix("/v1/workspaces")
                let answer = try await api.request(HTTPMethod(rawValue: method.rawValue), url, body: method == .get ? nil : "{}", token: reader)
                if method == .get && !admin {
                    #expect(answer.status != 403, "\(method) \(path) is a read: \(answer.body)")
                } else {
                    writes += 1
                    #expect(answer.status == 403 && answer.json?["error"]?["code"] == "forbidden", "\(method) \(path): \(answer.body)")
                }
                if admin {
                    let refused = try await api.request(HTTPMethod(rawValue: method.rawValue), url, body: method == .get ? nil : "{}", token: member)
                    #expect(refused.status == 403 && refused.json?["error"]?["code"] == "forbidden", "member \(method) \(path)")
                }
            }
            #expect(writes == APIServer.routes.filter { $0.path.hasPrefix("/v1/") && ($0.method != .get || $0.path.contains("/v1/tokens") || $0.path.contains("/v1/workspaces")) }.count)
            #expect(try await api.request(.GET, "/v1/tasks/\(task)", token: reader).status == 200)
            #expect(try await api.request(.POST, "/v1/tasks/\(task)/cancel", token: member).status == 200, "a member acts on tasks")
            #expect(try await api.request(.GET, "/v1/tasks/\(task)", token: reader).json?["state"] == "cancelled")
        }
    }

    @Test("an admin of another workspace manages its own tokens only; bad roles and workspaces are 422 naming the field")
    func tokenAdministration() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let admin = try await Self.token(api, workspace: "a", role: "admin")
            let forB = try await api.request(.POST, "/v1/workspaces", body: #"{"id":"b"}"#, token: admin)
            #expect(forB.status == 403 && forB.json?["error"]?["code"] == "forbidden", "only an admin of default creates workspaces")
            #expect(try await api.request(.POST, "/v1/workspaces", body: #"{"id":"b"}"#).status == 201)
            #expect(try await api.request(.POST, "/v1/workspaces", body: #"{"id":"b"}"#).status == 409)
            let otherWorkspace = try await api.request(.POST, "/v1/tokens", body: #"{"workspace":"b","role":"member"}"#, token: admin)
            #expect(otherWorkspace.status == 403 && otherWorkspace.json?["error"]?["code"] == "forbidden")
            let own = try await api.request(.POST, "/v1/tokens", body: #"{"role":"read_only","name":"dash"}"#, token: admin)
            #expect(own.status == 201 && own.json?["workspace"] == "a" && own.json?["role"] == "read_only")
            let ownID = try #require(own.json?["id"]?.stringValue)

            let badRole = try await api.request(.POST, "/v1/tokens", body: #"{"role":"owner"}"#)
            #expect(badRole.status == 422 && badRole.json?["error"]?["field"] == "role")
            let noWorkspace = try await api.request(.POST, "/v1/tokens", body: #"{"role":"member","workspace":"nope"}"#)
            #expect(noWorkspace.status == 422 && noWorkspace.json?["error"]?["field"] == "workspace")

            // A's admin lists A's tokens only, without their text; the admin of default lists all.
            let listed = try await api.request(.GET, "/v1/tokens", token: admin).json?["tokens"]?.items ?? []
            #expect(Set(listed.compactMap { $0["workspace"]?.stringValue }) == ["a"] && listed.count == 2)
            #expect(listed.allSatisfy { $0["token"] == nil })
            let everything = try await api.request(.GET, "/v1/tokens").json?["tokens"]?.items ?? []
            #expect(everything.count == 2)
            let bToken = try await Self.token(api, workspace: "b", role: "member", createWorkspace: false)
            let bID = try #require(try await api.request(.GET, "/v1/tokens").json?["tokens"]?.items?.last?["id"]?.stringValue)
            #expect(try await api.request(.DELETE, "/v1/tokens/\(bID)", token: admin).status == 404, "not A's token")
            #expect(try await api.request(.GET, "/v1/agents", token: bToken).status == 200)
            #expect(try await api.request(.DELETE, "/v1/tokens/\(ownID)", token: admin).status == 204)
            #expect(try await api.request(.GET, "/v1/workspaces", token: admin).status == 403)
        }
    }

    @Test("a revoked token gets 401 at once, also from a second daemon on the same database, with the answer of an unknown token")
    func revocation() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let token = try await Self.token(api, workspace: "a", role: "member")
            let id = try #require(try await api.request(.GET, "/v1/tokens").json?["tokens"]?.items?.first?["id"]?.stringValue)
            // A second node: its own store and engine on the same SQLite file, its own API.
            let store = try SQLiteTaskStore(path: api.databasePath)
            let engine = Engine(store: store, runners: RunnerRegistry([BuiltinRunner(handlers: [:])]))
            try await APIServer(engine: engine, authority: TokenAuthority(token: "another-bootstrap"))
                .serving(logger: Logger(label: "second-node")) { port in
                    let second = APIHarness(port: port, store: store, engine: engine, databasePath: api.databasePath, recorder: ExchangeRecorder())
                    #expect(try await second.request(.GET, "/v1/agents", token: token).status == 200)
                    #expect(try await api.request(.DELETE, "/v1/tokens/\(id)").status == 204)
                    let unknown = try await second.request(.GET, "/v1/agents", token: "ns_never_issued")
                    for node in [api, second] {
                        let revoked = try await node.request(.GET, "/v1/agents", token: token)
                        #expect(revoked.status == 401)
                        #expect(revoked.body == unknown.body, "no hint whether the token ever existed")
                    }
                }
        }
    }
}
