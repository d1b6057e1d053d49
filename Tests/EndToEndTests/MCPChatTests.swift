import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Nightshift
import NightshiftTestSupport
import Testing

/// The chat tools (`nightshift mcp` on stdio, `/mcp` on the daemon) against a real `nightshift
/// serve`: the official Python MCP client drives background tasks through them as a chat agent
/// would, and raw requests check the HTTP transport's sessions and tokens.
@Suite("MCP chat tools", .serialized, .timeLimit(.minutes(3)))
struct MCPChatTests {
    /// `Tests/Fixtures/mcp_chat_peer.py`.
    static let peerScript = AgentFixtures.directory.appendingPathComponent("mcp_chat_peer.py").path

    /// The agents the peer uses: `echo` (answers its prompt), `slow` (runs until cancelled), and
    /// the inbox tests' `asker` (asks which branch) and `pusher` (asks to push).
    static func addAgents(_ cli: CLIRunner) async throws {
        let commands: [String: JSONValue] = [
            "echo": ["/bin/sh", "-c", #"printf '{"type":"result","text":"echo: %s"}\n' "$NIGHTSHIFT_PROMPT""#],
            "slow": ["/bin/sh", "-c", "sleep 120"],
        ]
        for (name, command) in commands {
            let added = try await cli.run(["agents", "add", name, "--runner", "command", "--config", JSONValue.object(["command": command]).jsonText])
            try #require(added.status == 0, "\(added)")
        }
        try await InboxCLITests.addAgents(cli)
    }

    @Test(
        "the official Python MCP client lists the tools and the log template, follows a task to its result, events and log, cancels, answers and approves; wrong argument types and the API's refusals are tool errors; over HTTP a wrong token is refused",
        .enabled(if: PythonPeer.enabled, "\(PythonPeer.variable) is not set: the MCP peer test is skipped (./scripts/test sets it)"),
        arguments: ["stdio", "http"])
    func pythonPeer(transport: String) async throws {
        let python = try PythonPeer.require()
        try await withDaemon { cli in
            try await Self.addAgents(cli)
            let peer = try await MCPServerTests.run(
                python, [Self.peerScript, transport, NightshiftBinary.url.path, cli.url, cli.home.path], timeout: .seconds(150))
            try #require(peer.status == 0, "\(peer)")
            let report = try JSONValue(jsonText: peer.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            try Self.checkListings(report)
            try Self.checkFollowedTask(report)
            Self.checkInbox(report)
            let unknown = try await cli.run(["show", "no-such-task"])
            Self.checkRefusals(report, apiMessage: unknown.stderr)
            if transport == "http" {
                #expect(report["wrong_token"]?["refused"] == true, "\(report["wrong_token"] ?? nil)")
            }
        }
    }

    /// The server, its tools with their schemas, the log template, the agents.
    static func checkListings(_ report: JSONValue) throws {
        #expect(report["server"]?["name"] == "nightshift")
        #expect(report["server"]?["tools_capability"] == true && report["server"]?["resources_capability"] == true)
        #expect(report["server"]?["instructions"]?.stringValue?.contains("submit_task") == true)
        let tools = try #require(report["tools"]?.arrayValue)
        #expect(tools.map { $0["name"] } == [
            "submit_task", "task_status", "task_result", "list_tasks", "cancel_task", "send_input", "approve", "task_events", "list_agents",
        ])
        #expect(tools.allSatisfy { $0["type"] == "object" && ($0["description"]?.stringValue?.count ?? 0) > 40 }, "\(tools)")
        let byName = Dictionary(uniqueKeysWithValues: tools.map { ($0["name"]?.stringValue ?? "", $0) })
        #expect(byName["submit_task"]?["required"] == ["agent", "prompt"])
        #expect(byName["submit_task"]?["types"]?["labels"] == "array" && byName["submit_task"]?["types"]?["origin"] == "object")
        #expect(byName["task_events"]?["types"] == ["task_id": "string", "after": "integer", "limit": "integer"])
        #expect(byName["approve"]?["required"] == ["task_id"])
        #expect(byName["task_status"]?["read_only"] == true && byName["cancel_task"]?["read_only"] == false)
        #expect(report["templates"] == ["nightshift://tasks/{id}/log"])
        let agents = report["agents"]?["agents"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(Set(agents).isSuperset(of: ["echo", "slow", "asker", "pusher"]), "\(agents)")
    }

    /// The task submitted to `echo`: its result, its events and their tail, its log resource, its
    /// place in list_tasks and resources/list; the slow one cancelled.
    static func checkFollowedTask(_ report: JSONValue) throws {
        let submitted = try #require(report["submitted"])
        #expect(submitted["is_error"] == false && submitted["value"]?["agent"] == "echo" && submitted["value"]?["labels"] == ["mcp"], "\(submitted)")
        #expect(submitted["structured"] == submitted["value"])
        // The notify-me origin is kept with the task (a channel binding named `chat` would be told).
        let origin = submitted["value"]?["origin"]
        #expect(origin?["channel"] == "chat" && origin?["thread"] == "t-1" && origin?["notify"] == true, "\(origin ?? nil)")
        let id = try #require(submitted["value"]?["id"]?.stringValue)
        let result = report["result"]?["value"]
        #expect(result?["id"] == .string(id) && result?["state"] == "done" && result?["finished"] == true, "\(report["result"] ?? nil)")
        #expect(result?["result"] == "echo: hello from chat" && result?["error"] == .null)

        let events = try #require(report["events"]?["value"]?["events"]?.arrayValue)
        #expect(events.first?["seq"] == 1 && events.first?["type"] == "state", "\(events)")
        #expect(events.contains { $0["type"] == "state" && $0["data"]?["to"] == "done" })
        #expect(report["tail"]?["value"]?["events"] == [] && report["tail"]?["value"]?["next_after"] == report["events"]?["value"]?["next_after"])
        let log = try #require(report["log"])
        #expect(log["uri"] == .string("nightshift://tasks/\(id)/log") && log["mime_type"] == "application/x-ndjson")
        let lines = try (log["lines"]?.arrayValue ?? []).map { try JSONValue(jsonText: $0.stringValue ?? "") }
        #expect(lines == events, "the log is the task's events, one a line")
        #expect(report["resources"]?.arrayValue?.contains(.string("nightshift://tasks/\(id)/log")) == true)
        let listed = report["listed"]?["value"]?["tasks"]?.arrayValue ?? []
        #expect(listed.map { $0["id"] } == [.string(id)] && listed.first?["prompt"] == "hello from chat", "\(listed)")

        let cancelled = report["cancelled"]?["value"]
        #expect(cancelled?["state"] == "cancelled" && cancelled?["error"] == "not needed after all", "\(report["cancelled"] ?? nil)")
        #expect(report["cancel_again"]?["is_error"] == true)
        #expect(report["cancel_again"]?["text"]?.stringValue?.contains("illegal_transition") == true, "\(report["cancel_again"] ?? nil)")
    }

    /// The asker answered with send_input, the pusher approved with approve.
    static func checkInbox(_ report: JSONValue) {
        #expect(report["asking"]?["waiting_for"]?["kind"] == "input" && report["asking"]?["waiting_for"]?["question"] == "Which branch?")
        #expect(report["answer"]?["value"]?["kind"] == "answer" && report["answer"]?["value"]?["text"] == "dev", "\(report["answer"] ?? nil)")
        #expect(report["answered"]?["value"]?["result"] == "on dev", "\(report["answered"] ?? nil)")
        #expect(report["approval"]?["waiting_for"]?["kind"] == "approval" && report["approval"]?["waiting_for"]?["tool"] == "Bash")
        #expect(report["approve"]?["value"]?["kind"] == "approve" && report["approve"]?["value"]?["text"] == "go ahead", "\(report["approve"] ?? nil)")
        #expect(report["approved"]?["value"]?["result"] == "pushed (go ahead)", "\(report["approved"] ?? nil)")
        #expect(report["approve_done"]?["is_error"] == true)
        #expect(report["approve_done"]?["text"]?.stringValue?.contains("it takes no more input") == true, "\(report["approve_done"] ?? nil)")
    }

    /// Wrong argument types name the argument; the API's refusals carry its message (`apiMessage`
    /// is what the CLI printed for the same unknown task); an unknown log or tool is a protocol error.
    static func checkRefusals(_ report: JSONValue, apiMessage: String) {
        let expected = [
            "bad_labels": #"labels: expected an array of strings, got a string ("db")"#,
            "bad_after": #"after: expected an integer ≥ 0, got a string ("soon")"#,
            "bad_origin": "origin.channel: expected a string, got an integer (7)",
            "missing_prompt": "prompt: required",
            "unknown_argument": "verbose: no such argument",
            "unknown_task": "no task with id no-such-task (not_found, field id)",
            "unknown_agent": "nobody",
        ]
        for (call, text) in expected {
            #expect(report[call]?["is_error"] == true, "\(call): \(report[call] ?? nil)")
            #expect(report[call]?["text"]?.stringValue?.contains(text) == true, "\(call): \(report[call] ?? nil)")
        }
        let unknownTask = report["unknown_task"]?["text"]?.stringValue ?? "?"
        #expect(apiMessage.contains(unknownTask), "the tool's error is the API's: \(unknownTask) / \(apiMessage)")
        #expect(report["unknown_log"]?["answered"] == false && report["unknown_log"]?["code"] == -32002, "\(report["unknown_log"] ?? nil)")
        #expect(report["unknown_log"]?["message"]?.stringValue?.contains("no task with id no-such-task") == true)
        #expect(report["unknown_tool"]?["answered"] == false && report["unknown_tool"]?["code"] == -32602)
    }

    /// One answer of `/mcp`.
    struct Exchange {
        var status: UInt
        var session: String?
        var contentType: String?
        var allow: String?
        var body: JSONValue?
    }

    /// Sends `method /mcp` with `body` (none when nil), the bearer `token` and the `session` header.
    static func mcp(_ url: String, _ body: String?, method: HTTPMethod = .POST, token: String?, session: String? = nil) async throws -> Exchange {
        var request = HTTPClientRequest(url: url + "/mcp")
        request.method = method
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let session { request.headers.add(name: "Mcp-Session-Id", value: session) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(Array(body.utf8))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        return Exchange(
            status: response.status.code, session: response.headers.first(name: "Mcp-Session-Id"),
            contentType: response.headers.first(name: "Content-Type"), allow: response.headers.first(name: "Allow"),
            body: try? JSONValue(jsonText: text))
    }

    static let initialize = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#

    /// A `tools/call` of `tool` with `arguments` (JSON text).
    static func toolCall(_ tool: String, _ arguments: String) -> String {
        #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(arguments)}}"#
    }

    @Test("/mcp: no token or a wrong one is 401; initialize opens a session (Mcp-Session-Id) that only its token may use; GET is 405; DELETE ends it; a read-only token's submit is the API's 403 as a tool error")
    func httpTransport() async throws {
        try await withDaemon { cli in
            let url = cli.url
            let token = try String(contentsOf: cli.home.appendingPathComponent("token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            for wrong in ["ns_wrong", nil] {
                let refused = try await Self.mcp(url, Self.initialize, token: wrong)
                #expect(refused.status == 401 && refused.body?["error"]?["code"] == "unauthorized" && refused.session == nil, "\(refused)")
            }

            let opened = try await Self.mcp(url, Self.initialize, token: token)
            #expect(opened.status == 200 && opened.contentType?.hasPrefix("application/json") == true, "\(opened)")
            #expect(opened.body?["id"] == 1 && opened.body?["result"]?["serverInfo"]?["name"] == "nightshift", "\(opened)")
            let session = try #require(opened.session)
            let initialized = try await Self.mcp(url, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, token: token, session: session)
            #expect(initialized.status == 202, "\(initialized)")
            let status = try await Self.mcp(url, Self.toolCall("task_status", #"{"task_id":"nope"}"#), token: token, session: session)
            #expect(status.status == 200 && status.body?["id"] == 2 && status.body?["result"]?["isError"] == true, "\(status)")
            #expect(status.body?["result"]?["content"]?.arrayValue?.first?["text"] == "no task with id nope (not_found, field id)", "\(status)")

            let get = try await Self.mcp(url, nil, method: .GET, token: token, session: session)
            #expect(get.status == 405 && get.allow?.contains("POST") == true, "\(get)")
            let sessionless = try await Self.mcp(url, Self.toolCall("list_agents", "{}"), token: token)
            #expect(sessionless.status == 400, "\(sessionless)")
            let unknown = try await Self.mcp(url, Self.toolCall("list_agents", "{}"), token: token, session: "no-such-session")
            #expect(unknown.status == 404, "\(unknown)")

            // Another token cannot use the session; with its own, it acts with its own role.
            let created = try await cli.json(["tokens", "create", "--role", "read_only", "--name", "mcp", "--json"])
            let reader = try #require(created["token"]?.stringValue)
            let borrowed = try await Self.mcp(url, Self.toolCall("list_agents", "{}"), token: reader, session: session)
            #expect(borrowed.status == 404, "\(borrowed)")
            let own = try #require(try await Self.mcp(url, Self.initialize, token: reader).session)
            let submit = try await Self.mcp(url, Self.toolCall("submit_task", #"{"agent":"shell","prompt":"true"}"#), token: reader, session: own)
            #expect(submit.body?["result"]?["isError"] == true, "\(submit)")
            #expect(submit.body?["result"]?["content"]?.arrayValue?.first?["text"]?.stringValue?.contains("a read_only token may not POST /v1/tasks") == true, "\(submit)")

            let ended = try await Self.mcp(url, nil, method: .DELETE, token: token, session: session)
            #expect(ended.status == 200, "\(ended)")
            let after = try await Self.mcp(url, Self.toolCall("list_agents", "{}"), token: token, session: session)
            #expect(after.status == 404, "\(after)")
        }
    }

    /// The text of a tool call's first content item, and whether it is a tool error.
    static func toolText(_ exchange: Exchange) -> (text: String?, isError: Bool) {
        let result = exchange.body?["result"]
        return (result?["content"]?.arrayValue?.first?["text"]?.stringValue, result?["isError"] == true)
    }

    /// Opens a `/mcp` session with `token`.
    static func session(_ url: String, token: String) async throws -> String {
        let opened = try await Self.mcp(url, Self.initialize, token: token)
        return try #require(opened.session, "\(opened)")
    }

    @Test("/mcp acts in its token's workspace: another workspace's token neither sees nor reads nor cancels the task; a token revoked during a session is refused (401) at its next call")
    func workspaceAndRevocation() async throws {
        try await withDaemon { cli in
            let url = cli.url
            try await Self.addAgents(cli)
            let token = try String(contentsOf: cli.home.appendingPathComponent("token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let mine = try await Self.session(url, token: token)
            let submitted = Self.toolText(
                try await Self.mcp(url, Self.toolCall("submit_task", #"{"agent":"slow","prompt":"hold"}"#), token: token, session: mine))
            #expect(!submitted.isError, "\(submitted)")
            let id = try #require(try JSONValue(jsonText: submitted.text ?? "")["id"]?.stringValue, "\(submitted)")

            #expect(try await cli.run(["workspaces", "create", "w2"]).status == 0)
            let created = try await cli.json(["tokens", "create", "--workspace", "w2", "--role", "admin", "--name", "mcp-w2", "--json"])
            let other = try #require(created["token"]?.stringValue)
            let theirs = try await Self.session(url, token: other)
            let listed = Self.toolText(try await Self.mcp(url, Self.toolCall("list_tasks", "{}"), token: other, session: theirs))
            #expect(!listed.isError && (try? JSONValue(jsonText: listed.text ?? ""))?["tasks"]?.arrayValue?.isEmpty == true, "\(listed)")
            for tool in ["task_status", "task_result", "task_events", "cancel_task"] {
                let refused = Self.toolText(try await Self.mcp(url, Self.toolCall(tool, #"{"task_id":"\#(id)"}"#), token: other, session: theirs))
                #expect(refused.isError && refused.text == "no task with id \(id) (not_found, field id)", "\(tool): \(refused)")
            }
            let read = try await Self.mcp(
                url, #"{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"nightshift://tasks/\#(id)/log"}}"#, token: other,
                session: theirs)
            #expect(read.body?["error"]?["code"] == -32002, "\(read)")
            // The task is untouched, as its own workspace sees it.
            let status = Self.toolText(try await Self.mcp(url, Self.toolCall("task_status", #"{"task_id":"\#(id)"}"#), token: token, session: mine))
            #expect((try? JSONValue(jsonText: status.text ?? ""))?["state"]?.stringValue != "cancelled", "\(status)")

            // Revoked while its session is open: the next call is the API's 401.
            #expect(try await cli.run(["tokens", "revoke", try #require(created["id"]?.stringValue)]).status == 0)
            let revoked = try await Self.mcp(url, Self.toolCall("list_tasks", "{}"), token: other, session: theirs)
            #expect(revoked.status == 401 && revoked.body?["error"]?["code"] == "unauthorized", "\(revoked)")
            #expect(try await cli.run(["cancel", id]).status == 0)
        }
    }
}
