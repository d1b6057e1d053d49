import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import NIOHTTP1
import Testing

/// Subtasks, the ask policy and blocked tasks over real loopback HTTP: submit with `parent_id`,
/// `GET /v1/tasks/{id}/children`, the store's depth and fan-out limits, an agent that asks before
/// each task runs, and `blocked_stale` in the status.
@Suite("HTTP API: subtasks, ask, blocked_stale")
struct SubtasksAPITests {
    /// A task that waits an hour before it may run: a parent that stays live.
    static let later = #"{"agent":"echo","prompt":"later","delay":3600}"#

    /// Submits `body`; answers the task, requiring 201.
    static func submit(_ api: APIHarness, _ body: String, token: String = APIHarness.token) async throws -> JSONValue {
        let answer = try await api.request(.POST, "/v1/tasks", body: body, token: token)
        try #require(answer.status == 201, "\(body): \(answer.body)")
        return try #require(answer.json)
    }

    /// The ids of the tasks `GET /v1/tasks/{id}/children` answers.
    static func children(_ api: APIHarness, of id: String) async throws -> [String] {
        let answer = try await api.request(.GET, "/v1/tasks/\(id)/children")
        try #require(answer.status == 200, "\(answer.body)")
        return InboxAPITests.items(answer.json?["tasks"]).compactMap { $0["id"]?.stringValue }
    }

    @Test("a subtask without an agent runs on its parent's; the children route lists a task's own subtasks, oldest first")
    func submitAndList() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let parent = try await Self.submit(api, Self.later)
            let parentID = try #require(parent["id"]?.stringValue)
            #expect(parent["parent_id"] == .null && parent["subtask_depth"] == 0, "\(parent)")

            let first = try await Self.submit(api, #"{"parent_id":"\#(parentID)","prompt":"first half"}"#)
            #expect(first["agent"] == "echo" && first["parent_id"] == .string(parentID) && first["subtask_depth"] == 1, "\(first)")
            let firstID = try #require(first["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(firstID)").json?["state"] == "done" })
            #expect(try await api.request(.GET, "/v1/tasks/\(firstID)").json?["result"] == "echo: first half", "ran on the parent's agent")

            let second = try await Self.submit(api, #"{"parent_id":"\#(parentID)","prompt":"second half","agent":"slow","delay":3600}"#)
            let secondID = try #require(second["id"]?.stringValue)
            #expect(second["agent"] == "slow", "an agent given is the subtask's own: \(second)")
            let grandchild = try await Self.submit(api, #"{"parent_id":"\#(secondID)","prompt":"a quarter","delay":3600}"#)
            let grandchildID = try #require(grandchild["id"]?.stringValue)
            #expect(grandchild["agent"] == "slow" && grandchild["subtask_depth"] == 2, "\(grandchild)")

            #expect(try await Self.children(api, of: parentID) == [firstID, secondID], "children only, oldest first")
            #expect(try await Self.children(api, of: secondID) == [grandchildID])
            #expect(try await Self.children(api, of: grandchildID) == [])
            let listed = try await api.request(.GET, "/v1/tasks/\(parentID)/children")
            #expect(InboxAPITests.items(listed.json?["tasks"]).last?["parent_id"] == .string(parentID), "\(listed.body)")

            // A cancel reaches the whole tree.
            #expect(try await api.request(.POST, "/v1/tasks/\(parentID)/cancel").status == 200)
            #expect(try await api.request(.GET, "/v1/tasks/\(grandchildID)").json?["state"] == "cancelled")
            let states = InboxAPITests.items(try await api.request(.GET, "/v1/tasks/\(parentID)/children").json?["tasks"]).map { $0["state"] }
            #expect(states == ["done", "cancelled"])
        }
    }

    @Test("submit refuses a missing agent without parent_id, a parent_id that is no task id, an unknown, foreign or ended parent, each naming the field")
    func submitRefusals() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let parentID = try #require(try await Self.submit(api, Self.later)["id"]?.stringValue)
            let done = try #require(try await Self.submit(api, #"{"agent":"echo","prompt":"quick"}"#)["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(done)").json?["state"] == "done" })
            let other = try await WorkspaceAPITests.token(api, workspace: "b", role: "member")
            let cases: [(body: String, token: String, field: String, message: String)] = [
                (#"{"prompt":"p"}"#, APIHarness.token, "agent", "is required (a string) unless parent_id is given"),
                (#"{"agent":null,"prompt":"p"}"#, APIHarness.token, "agent", "unless parent_id is given"),
                (#"{"agent":"","prompt":"p","parent_id":"\#(parentID)"}"#, APIHarness.token, "agent", "expected a non-empty string"),
                (#"{"prompt":"p","parent_id":"nope"}"#, APIHarness.token, "parent_id", "expected a task id (a UUID), got 'nope'"),
                (#"{"prompt":"p","parent_id":7}"#, APIHarness.token, "parent_id", "expected a string"),
                (#"{"prompt":"p","parent_id":"01a1fd4e-f656-70f5-9507-84af15236666"}"#, APIHarness.token, "parent_id", "expected the id of a task"),
                (#"{"prompt":"p","parent_id":"\#(done)"}"#, APIHarness.token, "parent_id", "is done: an ended task takes no subtasks"),
                (#"{"prompt":"p","parent_id":"\#(parentID)"}"#, other, "parent_id", "expected the id of a task in workspace 'b'"),
            ]
            for (body, token, field, message) in cases {
                let answer = try await api.request(.POST, "/v1/tasks", body: body, token: token)
                #expect(answer.status == 422 && answer.json?["error"]?["field"] == .string(field), "\(body): \(answer.body)")
                #expect(answer.json?["error"]?["message"]?.stringValue?.contains(message) == true, "\(body): \(answer.body)")
            }
            #expect(try await Self.children(api, of: parentID) == [], "nothing was added")

            let missing = "01a1fd4e-f656-70f5-9507-84af15236666"
            for (path, token) in [(missing, APIHarness.token), (parentID, other), ("not-an-id", APIHarness.token)] {
                let answer = try await api.request(.GET, "/v1/tasks/\(path)/children", token: token)
                #expect(answer.status == 404 && answer.json?["error"]?["code"] == "not_found", "\(path): \(answer.body)")
            }
            let reader = try await WorkspaceAPITests.token(api, workspace: Workspace.defaultID, role: "read_only", createWorkspace: false)
            #expect(try await api.request(.GET, "/v1/tasks/\(parentID)/children", token: reader).status == 200)
            #expect(try await api.request(.POST, "/v1/tasks/\(parentID)/children", token: reader).status == 405)
        }
    }

    @Test("the store's limits: a subtask deeper than max_depth, or one too many children, is refused with 422 naming parent_id and the limit")
    func limits() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers, subtasks: SubtaskLimits(maxDepth: 2, maxChildren: 2)) { api in
            var chain = [try #require(try await Self.submit(api, Self.later)["id"]?.stringValue)]
            for _ in 1...2 {
                let child = try await Self.submit(api, #"{"parent_id":"\#(chain.last!)","prompt":"deeper","delay":3600}"#)
                chain.append(try #require(child["id"]?.stringValue))
            }
            let tooDeep = try await api.request(.POST, "/v1/tasks", body: #"{"parent_id":"\#(chain.last!)","prompt":"deeper"}"#)
            #expect(tooDeep.status == 422 && tooDeep.json?["error"]?["field"] == "parent_id", "\(tooDeep.body)")
            #expect(tooDeep.json?["error"]?["message"]?.stringValue?.contains("at most 2 deep") == true, "\(tooDeep.body)")

            let root = chain[0]
            _ = try await Self.submit(api, #"{"parent_id":"\#(root)","prompt":"second child","delay":3600}"#)
            let third = try await api.request(.POST, "/v1/tasks", body: #"{"parent_id":"\#(root)","prompt":"third child"}"#)
            #expect(third.status == 422 && third.json?["error"]?["field"] == "parent_id", "\(third.body)")
            #expect(third.json?["error"]?["message"]?.stringValue?.contains("has 2 subtasks: the limit is 2") == true, "\(third.body)")
            #expect(try await Self.children(api, of: root).count == 2)
        }
    }

    /// A command agent that answers `ran`, created over the API with `ask`.
    static func askingAgent(_ api: APIHarness, name: String, ask: String) async throws -> JSONValue {
        let body: JSONValue = [
            "name": .string(name), "runner": "command", "ask": .string(ask),
            "config": ["command": ["/bin/sh", "-c", #"cat >/dev/null; echo '{"type":"result","text":"ran"}'"#]],
        ]
        let created = try await api.request(.POST, "/v1/agents", body: body.jsonText)
        try #require(created.status == 201, "\(created.body)")
        return try #require(created.json)
    }

    @Test("ask: an agent created with ask always holds each task for an approve before its first run; a task's own ask overrides it")
    func askAlways() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            let agent = try await Self.askingAgent(api, name: "careful", ask: "always")
            #expect(agent["ask"] == "always", "\(agent)")
            #expect(try await api.request(.GET, "/v1/agents/careful").json?["ask"] == "always")
            #expect(try await api.request(.GET, "/v1/agents/echo").json?["ask"] == "off")

            let held = try await Self.submit(api, #"{"agent":"careful","prompt":"deploy"}"#)
            let heldID = try #require(held["id"]?.stringValue)
            #expect(held["state"] == "waiting" && held["attempt"] == 0, "\(held)")
            #expect(held["waiting_for"]?["kind"] == "approval", "\(held)")
            #expect(held["waiting_for"]?["question"] == "Approve this task before its first run", "\(held)")
            let approved = try await api.request(.POST, "/v1/tasks/\(heldID)/inputs", body: #"{"kind":"approve"}"#)
            #expect(approved.status == 201, "\(approved.body)")
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(heldID)").json?["state"] == "done" })
            let done = try #require(try await api.request(.GET, "/v1/tasks/\(heldID)").json)
            #expect(done["result"] == "ran" && done["attempt"] == 1, "\(done)")

            let rejectedID = try #require(try await Self.submit(api, #"{"agent":"careful","prompt":"deploy on Friday"}"#)["id"]?.stringValue)
            let no = try await api.request(.POST, "/v1/tasks/\(rejectedID)/inputs", body: #"{"kind":"reject","text":"not on a Friday"}"#)
            #expect(no.status == 201, "\(no.body)")
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(rejectedID)").json?["state"] == "dropped" })
            let dropped = try #require(try await api.request(.GET, "/v1/tasks/\(rejectedID)").json)
            #expect(dropped["attempt"] == 0 && dropped["error"]?.stringValue?.contains("not on a Friday") == true, "\(dropped)")

            // The task's own policy wins over its agent's, both ways.
            let off = try await Self.submit(api, #"{"agent":"careful","prompt":"harmless","ask":"off"}"#)
            let offID = try #require(off["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(offID)").json?["state"] == "done" })
            #expect(try await api.request(.GET, "/v1/tasks/\(offID)").json?["waiting_for"] == .null)
            let always = try await Self.submit(api, #"{"agent":"echo","prompt":"check with me","ask":"always"}"#)
            #expect(always["state"] == "waiting" && always["waiting_for"]?["kind"] == "approval", "\(always)")

            // A PUT replaces the agent whole: without ask, it asks no more.
            let replaced = try await api.request(.PUT, "/v1/agents/careful", body: #"{"runner":"command","config":{"command":["true"]}}"#)
            #expect(replaced.status == 200 && replaced.json?["ask"] == "off", "\(replaced.body)")
        }
    }

    @Test("ask: on-miss and unknown policies are refused with 422 naming ask, on submit and on agents")
    func askRefusals() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            for policy in ["on-miss", "sometimes", "ALWAYS"] {
                let submit = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"p","ask":"\#(policy)"}"#)
                #expect(submit.status == 422 && submit.json?["error"]?["field"] == "ask", "\(policy): \(submit.body)")
                let agent = try await api.request(.POST, "/v1/agents", body: #"{"name":"a","runner":"builtin","ask":"\#(policy)"}"#)
                #expect(agent.status == 422 && agent.json?["error"]?["field"] == "ask", "\(policy): \(agent.body)")
                let put = try await api.request(.PUT, "/v1/agents/echo", body: #"{"runner":"builtin","ask":"\#(policy)"}"#)
                #expect(put.status == 422 && put.json?["error"]?["field"] == "ask", "\(policy): \(put.body)")
            }
            let onMiss = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"p","ask":"on-miss"}"#)
            #expect(onMiss.json?["error"]?["message"]?.stringValue?.contains("tool-approval hook") == true, "\(onMiss.body)")
            let typo = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"p","ask":"sometimes"}"#)
            #expect(typo.json?["error"]?["message"]?.stringValue?.contains(#"expected one of "off", "always", "on-miss""#) == true, "\(typo.body)")
            #expect(try await api.request(.GET, "/v1/tasks").json?["tasks"] == .array([]), "nothing was submitted")
            #expect(try await api.request(.GET, "/v1/agents/a").status == 404)
            #expect(try await api.request(.GET, "/v1/agents/echo").json?["ask"] == "off")
        }
    }

    @Test("status: blocked_stale lists the tasks waiting longer than blockedStaleAfter, with what they wait for and since when")
    func blockedStale() async throws {
        let clock = ManualClock()
        try await APIHarness.with(handlers: APIServerTests.handlers, clock: clock, blockedStaleAfter: 3600) { api in
            let first = try await Self.submit(api, #"{"agent":"echo","prompt":"first","ask":"always"}"#)
            let firstID = try #require(first["id"]?.stringValue)
            #expect(first["state"] == "waiting", "\(first)")
            #expect(try await api.request(.GET, "/v1/status").json?["blocked_stale"] == .array([]), "waiting for no time yet")

            clock.advance(by: 1800)
            let secondID = try #require(try await Self.submit(api, #"{"agent":"echo","prompt":"second","ask":"always"}"#)["id"]?.stringValue)
            clock.advance(by: 1801)
            let status = try #require(try await api.request(.GET, "/v1/status").json)
            let blocked = InboxAPITests.items(status["blocked_stale"])
            #expect(blocked.count == 1, "only the first has waited longer than an hour: \(status)")
            #expect(blocked.first?["task_id"] == .string(firstID) && blocked.first?["agent"] == "echo")
            #expect(blocked.first?["waiting_for"]?["kind"] == "approval")
            #expect(blocked.first?["waiting_since"] == first["updated_at"], "\(blocked)")

            clock.advance(by: 1800)
            let both = InboxAPITests.items(try await api.request(.GET, "/v1/status").json?["blocked_stale"])
            #expect(both.map { $0["task_id"] } == [.string(firstID), .string(secondID)], "longest waiting first: \(both)")

            // Another workspace sees none of them; an approved task is no longer blocked.
            let other = try await WorkspaceAPITests.token(api, workspace: "b", role: "read_only")
            #expect(try await api.request(.GET, "/v1/status", token: other).json?["blocked_stale"] == .array([]))
            #expect(try await api.request(.POST, "/v1/tasks/\(firstID)/inputs", body: #"{"kind":"approve"}"#).status == 201)
            let left = InboxAPITests.items(try await api.request(.GET, "/v1/status").json?["blocked_stale"])
            #expect(left.map { $0["task_id"] } == [.string(secondID)], "\(left)")
        }
    }
}
