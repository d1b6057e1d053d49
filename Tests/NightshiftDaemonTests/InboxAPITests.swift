import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import NIOHTTP1
import Testing

/// A task's inbox over real loopback HTTP: an agent asks, the task waits showing what for, a
/// person answers (or approves, wakes, drops), and the answer reaches the agent by resuming it.
@Suite("HTTP API: task inbox")
struct InboxAPITests {
    /// The `text` of the last `input` line on the agent's stdin, in `$text` (empty on a first run).
    static let readLastInput = #"""
        stdin=$(cat)
        last=$(printf '%s\n' "$stdin" | grep '"type":"input"' | tail -n 1)
        text=$(printf '%s\n' "$last" | sed -n 's/.*"text":"\([^"]*\)".*/\1/p')
        kind=$(printf '%s\n' "$last" | sed -n 's/.*"kind":"\([a-z]*\)".*/\1/p')

        """#

    /// Asks which branch on its first run; on the next, answers with the branch it was told.
    static let asker = readLastInput + #"""
        if [ -z "$kind" ]; then echo '{"type":"wait_for_input","question":"Which branch?","options":["main","dev"]}'; exit 0; fi
        printf '{"type":"result","text":"on %s"}\n' "$text"
        """#

    /// Asks to be woken in an hour; when woken with a prompt, says so.
    static let sleeper = readLastInput + #"""
        if [ -z "$kind" ]; then echo '{"type":"wake","after":3600}'; exit 0; fi
        printf '{"type":"result","text":"woke with %s"}\n' "$text"
        """#

    /// Asks to push; pushes when approved, says why not when rejected.
    static let approver = readLastInput + #"""
        case "$kind" in
        approve) echo '{"type":"result","text":"pushed"}' ;;
        reject) printf '{"type":"result","text":"not pushed: %s"}\n' "$text" ;;
        *) echo '{"type":"request_approval","question":"May I push?","tool":"Bash","input":{"command":"git push"}}' ;;
        esac
        """#

    /// Creates the command agent `name` running `script` with `/bin/sh -c` (of the token's workspace).
    static func commandAgent(_ api: APIHarness, _ name: String, _ script: String, token: String = APIHarness.token) async throws {
        let body: JSONValue = ["name": .string(name), "runner": "command", "config": ["command": ["/bin/sh", "-c", .string(script)]]]
        let created = try await api.request(.POST, "/v1/agents", body: body.jsonText, token: token)
        try #require(created.status == 201, "\(created.body)")
    }

    /// Submits a task to `agent` and waits until it is `state`; answers its id.
    static func task(_ api: APIHarness, agent: String, until state: String, token: String = APIHarness.token) async throws -> String {
        let submitted = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"\#(agent)","prompt":"go","max_attempts":1}"#, token: token)
        let id = try #require(submitted.json?["id"]?.stringValue, "\(submitted.body)")
        let reached = try await eventually { try await api.request(.GET, "/v1/tasks/\(id)", token: token).json?["state"]?.stringValue == state }
        let last = try await api.request(.GET, "/v1/tasks/\(id)", token: token).body
        try #require(reached, "task \(id) reached \(state): \(last)")
        return id
    }

    /// Every inbox route of a task (and cancel), with a body it takes: method, the path after the task's, body.
    static let inboxRoutes: [(HTTPMethod, String, String?)] = [
        (.POST, "inputs", #"{"kind":"answer","text":"dev"}"#), (.GET, "inputs", nil), (.POST, "wake", #"{"prompt":"p"}"#),
        (.POST, "wake", nil), (.POST, "drop", #"{"reason":"r"}"#), (.POST, "cancel", #"{"reason":"r"}"#),
    ]

    /// The items of an array member, `[]` for anything else.
    static func items(_ value: JSONValue?) -> [JSONValue] {
        guard case .array(let items)? = value else { return [] }
        return items
    }

    @Test("an agent asks; the task shows what it waits for; an answer (201, 200 on a repeated key) wakes it and reaches the agent by resume")
    func askAndAnswer() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            try await Self.commandAgent(api, "asker", Self.asker)
            let id = try await Self.task(api, agent: "asker", until: "waiting")

            let waiting = try #require(try await api.request(.GET, "/v1/tasks/\(id)").json)
            #expect(waiting["waiting_for"]?["kind"] == "input")
            #expect(waiting["waiting_for"]?["question"] == "Which branch?")
            #expect(waiting["waiting_for"]?["options"] == ["main", "dev"])
            let firstRun = try #require(Self.items(try await api.request(.GET, "/v1/tasks/\(id)/runs").json?["runs"]).first?["id"])
            #expect(waiting["waiting_for"]?["run_id"] == firstRun)
            #expect(waiting["pending_inputs"] == 0)

            // Not waiting for an approval, and an empty answer: refused, nothing stored.
            let approve = try await api.request(.POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"approve"}"#)
            #expect(approve.status == 409 && approve.json?["error"]?["code"] == "illegal_transition", "\(approve.body)")
            #expect(approve.json?["error"]?["message"]?.stringValue?.contains("it waits for an answer, not an approval") == true, "\(approve.body)")
            let empty = try await api.request(.POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"answer","text":"  "}"#)
            #expect(empty.status == 422 && empty.json?["error"]?["field"] == "text", "\(empty.body)")
            let badKind = try await api.request(.POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"shout","text":"x"}"#)
            #expect(badKind.status == 422 && badKind.json?["error"]?["field"] == "kind", "\(badKind.body)")
            let unknown = try await api.request(.POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"answer","text":"x","txt":"y"}"#)
            #expect(unknown.status == 422 && unknown.json?["error"]?["field"] == "txt", "\(unknown.body)")
            let twoKeys = try await api.request(
                .POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"answer","text":"x"}"#, headers: [("Idempotency-Key", "a"), ("Idempotency-Key", "b")])
            #expect(twoKeys.status == 400 && twoKeys.json?["error"]?["field"] == "Idempotency-Key", "\(twoKeys.body)")
            #expect(try await api.request(.GET, "/v1/tasks/\(id)/inputs").json?["inputs"] == .array([]))
            #expect(try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "waiting")

            let answered = try await api.request(
                .POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"answer","text":"dev"}"#, headers: [("Idempotency-Key", "answer-1")])
            #expect(answered.status == 201, "\(answered.body)")
            let input = try #require(answered.json)
            #expect(input["task_id"] == .string(id) && input["seq"] == 1 && input["kind"] == "answer" && input["text"] == "dev")
            #expect(input["sender"] == .string("token:" + Principal.bootstrapTokenID) && input["idempotency_key"] == "answer-1")
            let repeated = try await api.request(
                .POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"answer","text":"main"}"#, headers: [("Idempotency-Key", "answer-1")])
            #expect(repeated.status == 200 && repeated.json?["id"] == input["id"] && repeated.json?["text"] == "dev", "\(repeated.body)")

            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            let done = try #require(try await api.request(.GET, "/v1/tasks/\(id)").json)
            #expect(done["result"] == "on dev", "the agent read the answer on its stdin: \(done)")
            #expect(done["waiting_for"] == .null && done["pending_inputs"] == 0)
            let runs = Self.items(try await api.request(.GET, "/v1/tasks/\(id)/runs").json?["runs"])
            #expect(runs.count == 2)
            let inputs = Self.items(try await api.request(.GET, "/v1/tasks/\(id)/inputs").json?["inputs"])
            #expect(inputs.count == 1, "the repeat added nothing")
            #expect(inputs.first?["id"] == input["id"] && inputs.first?["delivery"] == "delivered_resume")
            #expect(inputs.first?["run_id"] == runs.last?["id"] && inputs.first?["run_id"] != firstRun)
            #expect(inputs.first?["delivered_at"]?.stringValue != nil)

            // A finished task takes no more input, and says what it is.
            let late = try await api.request(.POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"message","text":"also"}"#)
            #expect(late.status == 409 && late.json?["error"]?["code"] == "illegal_transition", "\(late.body)")
            #expect(late.json?["error"]?["message"]?.stringValue?.contains("is done") == true && late.json?["error"]?["field"] == "state")

            let missing = "01a1fd4e-f656-70f5-9507-84af15236666"
            for (method, path, body) in Self.inboxRoutes {
                let answer = try await api.request(method, "/v1/tasks/\(missing)/\(path)", body: body)
                #expect(answer.status == 404 && answer.json?["error"]?["code"] == "not_found", "\(method) \(path): \(answer.body)")
            }
        }
    }

    @Test("approval: a message waits beside it (pending), an approve wakes the task and both reach the agent; a reject's reason does too")
    func approveAndReject() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            try await Self.commandAgent(api, "pusher", Self.approver)
            let approved = try await Self.task(api, agent: "pusher", until: "waiting")
            let waiting = try #require(try await api.request(.GET, "/v1/tasks/\(approved)").json)
            #expect(waiting["waiting_for"]?["kind"] == "approval" && waiting["waiting_for"]?["tool"] == "Bash")
            #expect(waiting["waiting_for"]?["tool_input"] == ["command": "git push"] && waiting["waiting_for"]?["question"] == "May I push?")

            let note = try await api.request(.POST, "/v1/tasks/\(approved)/inputs", body: #"{"kind":"message","text":"careful"}"#)
            #expect(note.status == 201, "\(note.body)")
            let noted = try #require(try await api.request(.GET, "/v1/tasks/\(approved)").json)
            #expect(noted["state"] == "waiting" && noted["pending_inputs"] == 1, "a message does not decide an approval: \(noted)")
            let yes = try await api.request(.POST, "/v1/tasks/\(approved)/inputs", body: #"{"kind":"approve","decisions":{"Bash":true}}"#)
            #expect(yes.status == 201 && yes.json?["seq"] == 2 && yes.json?["decisions"] == ["Bash": true], "\(yes.body)")
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(approved)").json?["state"] == "done" })
            #expect(try await api.request(.GET, "/v1/tasks/\(approved)").json?["result"] == "pushed")
            let delivered = Self.items(try await api.request(.GET, "/v1/tasks/\(approved)/inputs").json?["inputs"])
            #expect(delivered.map { $0["kind"] } == ["message", "approve"])
            #expect(delivered.allSatisfy { $0["delivery"] == "delivered_resume" })

            let rejected = try await Self.task(api, agent: "pusher", until: "waiting")
            let no = try await api.request(.POST, "/v1/tasks/\(rejected)/inputs", body: #"{"kind":"reject","text":"not on a Friday"}"#)
            #expect(no.status == 201, "\(no.body)")
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(rejected)").json?["state"] == "done" })
            #expect(try await api.request(.GET, "/v1/tasks/\(rejected)").json?["result"] == "not pushed: not on a Friday")
        }
    }

    @Test("wake: with a prompt the agent continues with it; without one the task runs again; a task that is not waiting is 409")
    func wake() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            try await Self.commandAgent(api, "sleeper", Self.sleeper)
            let id = try await Self.task(api, agent: "sleeper", until: "waiting")
            let waiting = try #require(try await api.request(.GET, "/v1/tasks/\(id)").json)
            #expect(waiting["waiting_for"]?["kind"] == "wake" && waiting["waiting_for"]?["wake_at"]?.stringValue != nil, "\(waiting)")

            let empty = try await api.request(.POST, "/v1/tasks/\(id)/wake", body: #"{"prompt":""}"#)
            #expect(empty.status == 422 && empty.json?["error"]?["field"] == "prompt", "\(empty.body)")
            let woken = try await api.request(.POST, "/v1/tasks/\(id)/wake", body: #"{"prompt":"go now"}"#)
            #expect(woken.status == 200 && woken.json?["id"] == .string(id), "\(woken.body)")
            #expect(["queued", "running", "done"].contains(woken.json?["state"]?.stringValue ?? ""), "\(woken.body)")
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
            #expect(try await api.request(.GET, "/v1/tasks/\(id)").json?["result"] == "woke with go now")
            let inputs = Self.items(try await api.request(.GET, "/v1/tasks/\(id)/inputs").json?["inputs"])
            #expect(inputs.count == 1 && inputs.first?["kind"] == "message" && inputs.first?["delivery"] == "delivered_resume")

            let done = try await api.request(.POST, "/v1/tasks/\(id)/wake")
            #expect(done.status == 409 && done.json?["error"]?["code"] == "illegal_transition", "\(done.body)")
            let prompted = try await api.request(.POST, "/v1/tasks/\(id)/wake", body: #"{"prompt":"again"}"#)
            #expect(prompted.status == 409, "\(prompted.body)")

            // Without a prompt (and without a body), the task simply runs again: it asks to wait again.
            let plain = try await Self.task(api, agent: "sleeper", until: "waiting")
            let again = try await api.request(.POST, "/v1/tasks/\(plain)/wake")
            #expect(again.status == 200 && again.json?["state"] == "queued" && again.json?["waiting_for"] == .null, "\(again.body)")
            #expect(try await eventually {
                let task = try await api.request(.GET, "/v1/tasks/\(plain)").json
                return task?["state"] == "waiting" && task?["attempt"] == 2
            })
            #expect(try await api.request(.GET, "/v1/tasks/\(plain)/inputs").json?["inputs"] == .array([]))
        }
    }

    @Test("drop and cancel: a reason becomes the task's error; without a body as before; an empty reason is 422")
    func dropAndCancel() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            try await Self.commandAgent(api, "sleeper", Self.sleeper)
            let id = try await Self.task(api, agent: "sleeper", until: "waiting")
            let blank = try await api.request(.POST, "/v1/tasks/\(id)/drop", body: #"{"reason":" "}"#)
            #expect(blank.status == 422 && blank.json?["error"]?["field"] == "reason", "\(blank.body)")
            let dropped = try await api.request(.POST, "/v1/tasks/\(id)/drop", body: #"{"reason":"no longer needed"}"#)
            #expect(dropped.status == 200 && dropped.json?["state"] == "dropped" && dropped.json?["error"] == "no longer needed", "\(dropped.body)")
            #expect(try await api.request(.GET, "/v1/tasks/\(id)").json?["error"] == "no longer needed")
            let twice = try await api.request(.POST, "/v1/tasks/\(id)/drop")
            #expect(twice.status == 409 && twice.json?["error"]?["code"] == "illegal_transition", "\(twice.body)")

            let later = #"{"agent":"sleeper","prompt":"later","delay":3600}"#
            let plain = try #require(try await api.request(.POST, "/v1/tasks", body: later).json?["id"]?.stringValue)
            let noReason = try await api.request(.POST, "/v1/tasks/\(plain)/drop")
            #expect(noReason.status == 200 && noReason.json?["state"] == "dropped" && noReason.json?["error"] == .null, "\(noReason.body)")

            let cancelled = try #require(try await api.request(.POST, "/v1/tasks", body: later).json?["id"]?.stringValue)
            let unknown = try await api.request(.POST, "/v1/tasks/\(cancelled)/cancel", body: #"{"why":"x"}"#)
            #expect(unknown.status == 422 && unknown.json?["error"]?["field"] == "why", "\(unknown.body)")
            let withReason = try await api.request(.POST, "/v1/tasks/\(cancelled)/cancel", body: #"{"reason":"changed my mind"}"#)
            #expect(withReason.status == 200 && withReason.json?["state"] == "cancelled", "\(withReason.body)")
            #expect(withReason.json?["error"] == "changed my mind")
            let bare = try #require(try await api.request(.POST, "/v1/tasks", body: later).json?["id"]?.stringValue)
            let empty = try await api.request(.POST, "/v1/tasks/\(bare)/cancel")
            #expect(empty.status == 200 && empty.json?["state"] == "cancelled" && empty.json?["error"] == .null, "\(empty.body)")
        }
    }

    @Test("another workspace's token gets 404 for every inbox route; a read-only token reads the inputs but may not send (403)")
    func scoping() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            try await Self.commandAgent(api, "asker", Self.asker)
            let id = try await Self.task(api, agent: "asker", until: "waiting")
            let other = try await WorkspaceAPITests.token(api, workspace: "b", role: "member")
            for (method, path, body) in Self.inboxRoutes {
                let answer = try await api.request(method, "/v1/tasks/\(id)/\(path)", body: body, token: other)
                #expect(answer.status == 404 && answer.json?["error"]?["code"] == "not_found", "\(method) \(path): \(answer.body)")
            }
            let reader = try await WorkspaceAPITests.token(api, workspace: Workspace.defaultID, role: "read_only", createWorkspace: false)
            let refused = try await api.request(.POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"answer","text":"dev"}"#, token: reader)
            #expect(refused.status == 403 && refused.json?["error"]?["code"] == "forbidden", "\(refused.body)")
            #expect(try await api.request(.GET, "/v1/tasks/\(id)/inputs", token: reader).status == 200)
            let task = try #require(try await api.request(.GET, "/v1/tasks/\(id)").json)
            #expect(task["state"] == "waiting" && task["pending_inputs"] == 0, "nothing reached the task: \(task)")

            // A member of the task's workspace sends as itself.
            let member = try await WorkspaceAPITests.token(api, workspace: Workspace.defaultID, role: "member", createWorkspace: false)
            let sent = try await api.request(.POST, "/v1/tasks/\(id)/inputs", body: #"{"kind":"answer","text":"dev"}"#, token: member)
            let tokens = Self.items(try await api.request(.GET, "/v1/tokens").json?["tokens"])
            let memberID = try #require(tokens.last { $0["role"] == "member" && $0["workspace"] == "default" }?["id"]?.stringValue)
            #expect(sent.status == 201 && sent.json?["sender"] == .string("token:" + memberID), "\(sent.body)")
        }
    }
}
