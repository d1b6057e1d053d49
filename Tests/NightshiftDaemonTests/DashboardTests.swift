import AsyncHTTPClient
import Foundation
import Hummingbird
import Nightshift
@testable import NightshiftDaemon
import NIOCore
import NIOHTTP1
import NightshiftTestSupport
import Testing

/// The dashboard over real loopback HTTP: sessions (cookie, CSRF, redirects), escaping of
/// everything a user or an agent wrote, roles and workspaces. The browser itself is in
/// EndToEndTests/DashboardBrowserTests.
@Suite("dashboard")
struct DashboardTests {
    /// An agent whose output carries markup in every place a session shows it.
    static let hostile = "<script>alert(1)</script>"
    static let handlers: [String: BuiltinRunner.Handler] = [
        "hostile": { request, context in
            context.emit("assistant", ["text": .string("\(hostile) and [a link](javascript:alert(1)) and **bold**")])
            context.emit("tool_call", ["id": "toolu_1\"><b>", "name": .string(hostile), "input": ["command": .string(hostile)]])
            context.emit("tool_result", ["id": "toolu_1\"><b>", "is_error": true, "content": "<img src=x onerror=alert(1)>"])
            context.emit("stdout", ["line": .string(hostile)])
            return .succeeded(hostile)
        },
        "asker": { _, _ in .waitingForInput("Which <b>branch</b>?") },
    ]

    /// A client that does not follow redirects, for the whole test process (as `HTTPClient.shared`).
    static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    /// One exchange that does not follow redirects (the API harness's client records for the
    /// OpenAPI check, which the dashboard is not part of).
    static func fetch(
        _ api: APIHarness, _ method: HTTPMethod, _ path: String, form: String? = nil, bearer: String? = nil, cookie: String? = nil,
        headers: [(String, String)] = []
    ) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        var request = HTTPClientRequest(url: api.base + path)
        request.method = method
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let cookie { request.headers.add(name: "Cookie", value: "nightshift_token=\(cookie)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let response = try await Self.client.execute(request, timeout: .seconds(60))
        return (Int(response.status.code), response.headers, String(buffer: try await response.body.collect(upTo: 16 << 20)))
    }

    /// The CSRF token in a page's forms.
    static func csrf(in page: String) -> String? {
        guard let range = page.range(of: #"name="csrf" value=""#) else { return nil }
        return String(page[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test("without a session every page goes to /login; a wrong bearer or cookie too, the cookie cleared, with no detail")
    func needsSession() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let none = try await Self.fetch(api, .GET, "/")
            #expect(none.status == 303 && none.headers.first(name: "Location") == "/login", "\(none)")
            let page = try await Self.fetch(api, .GET, "/tasks/0190c5a1-0000-7000-8000-000000000000?x=1")
            #expect(page.status == 303 && page.headers.first(name: "Location")?.hasPrefix("/login?next=%2Ftasks%2F") == true, "\(page)")
            let wrong = try await Self.fetch(api, .GET, "/agents", bearer: "ns_wrong")
            #expect(wrong.status == 303 && wrong.body.isEmpty, "\(wrong)")
            let stale = try await Self.fetch(api, .GET, "/needs-you", cookie: "ns_revoked")
            #expect(stale.status == 303, "\(stale)")
            #expect(stale.headers.first(name: "Set-Cookie")?.contains("Max-Age=0") == true, "\(stale.headers)")
            // The feed a page's script reads needs the session too.
            #expect(try await Self.fetch(api, .GET, "/feed", headers: [("Accept", "text/event-stream")]).status == 303)
            // The login page and the assets are open.
            let login = try await Self.fetch(api, .GET, "/login")
            #expect(login.status == 200 && login.body.contains("<form method=\"post\" action=\"/login\">"))
            let script = try await Self.fetch(api, .GET, "/assets/dashboard.js")
            #expect(script.status == 200 && script.headers.first(name: "Content-Type")?.hasPrefix("text/javascript") == true)
        }
    }

    @Test("login sets an HttpOnly SameSite=Strict cookie (Secure behind TLS) and goes to next; a wrong token gets the form again")
    func login() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let wrong = try await Self.fetch(api, .POST, "/login", form: "token=ns_wrong&next=%2Fagents")
            #expect(wrong.status == 303 && wrong.headers.first(name: "Location") == "/login?failed=1&next=%2Fagents" && wrong.headers["Set-Cookie"].isEmpty)
            #expect(try await Self.fetch(api, .GET, "/login?failed=1").body.contains("That token was not accepted."))
            let good = try await Self.fetch(api, .POST, "/login", form: "token=\(APIHarness.token)&next=%2Fagents")
            #expect(good.status == 303 && good.headers.first(name: "Location") == "/agents", "\(good)")
            let cookie = good.headers.first(name: "Set-Cookie") ?? ""
            #expect(cookie.hasPrefix("nightshift_token=\(APIHarness.token);"), "\(cookie)")
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/") && !cookie.contains("Secure"), "\(cookie)")
            let tls = try await Self.fetch(api, .POST, "/login", form: "token=\(APIHarness.token)", headers: [("X-Forwarded-Proto", "https")])
            #expect(tls.headers.first(name: "Set-Cookie")?.contains("Secure") == true)
            // Another site's next is not followed.
            let away = try await Self.fetch(api, .POST, "/login", form: "token=\(APIHarness.token)&next=%2F%2Fevil.example")
            #expect(away.headers.first(name: "Location") == "/")
            let page = try await Self.fetch(api, .GET, "/agents", cookie: APIHarness.token)
            #expect(page.status == 200 && page.body.contains("Agents &amp; queues"))
            let out = try await Self.fetch(api, .POST, "/logout", form: "csrf=\(Self.csrf(in: page.body) ?? "")", cookie: APIHarness.token)
            #expect(out.status == 303 && out.headers.first(name: "Set-Cookie")?.contains("Max-Age=0") == true, "\(out)")
        }
    }

    @Test("a cookie session's form needs the page's CSRF token and this origin; a bearer request needs neither")
    func csrf() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let asked = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"asker","prompt":"ask"}"#)
            let id = try #require(asked.json?["id"]?.stringValue)
            _ = try await eventually(timeout: .seconds(10)) { try await api.store.task(TaskID(trusted: id))?.state == .waiting }
            let page = try await Self.fetch(api, .GET, "/tasks/\(id)", cookie: APIHarness.token)
            let token = try #require(Self.csrf(in: page.body))
            #expect(try await Self.fetch(api, .POST, "/tasks/\(id)/cancel", form: "", cookie: APIHarness.token).status == 403)
            #expect(try await Self.fetch(api, .POST, "/tasks/\(id)/cancel", form: "csrf=forged", cookie: APIHarness.token).status == 403)
            let foreign = try await Self.fetch(
                api, .POST, "/tasks/\(id)/cancel", form: "csrf=\(token)", cookie: APIHarness.token, headers: [("Origin", "https://evil.example")])
            #expect(foreign.status == 403)
            #expect(try await api.store.task(TaskID(trusted: id))?.state == .waiting)
            let answered = try await Self.fetch(api, .POST, "/tasks/\(id)/input", form: "csrf=\(token)&kind=answer&text=dev", cookie: APIHarness.token)
            #expect(answered.status == 303 && answered.headers.first(name: "Location") == "/tasks/\(id)", "\(answered)")
            #expect(try await api.store.inputs(of: TaskID(trusted: id), workspace: nil).map(\.text) == ["dev"])
            let cancelled = try await Self.fetch(api, .POST, "/tasks/\(id)/cancel", form: "back=%2F", bearer: APIHarness.token)
            #expect(cancelled.status == 303 && cancelled.headers.first(name: "Location") == "/", "\(cancelled)")
            #expect(try await api.store.task(TaskID(trusted: id))?.state == .cancelled)
            // An action the lifecycle refuses is a page saying so.
            let again = try await Self.fetch(api, .POST, "/tasks/\(id)/cancel", bearer: APIHarness.token)
            #expect(again.status == 409 && again.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true, "\(again)")
        }
    }

    @Test("a prompt, agent output, tool names, ids and results holding markup are escaped on every page")
    func escaping() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let submitted = try await api.request(
                .POST, "/v1/tasks", body: #"{"agent":"hostile","prompt":"<script>alert(1)</script>","labels":["x"]}"#)
            let id = try #require(submitted.json?["id"]?.stringValue)
            _ = try await eventually(timeout: .seconds(10)) { try await api.store.task(TaskID(trusted: id))?.state == .done }
            for path in ["/", "/tasks/\(id)", "/?q=script", "/tasks/\(id)/row"] {
                let page = try await Self.fetch(api, .GET, path, bearer: APIHarness.token)
                #expect(page.status == 200, "\(path): \(page.status)")
                #expect(!page.body.contains("<script>alert"), "\(path) holds a script tag")
                #expect(!page.body.contains("<img"), "\(path) holds an img tag")
                #expect(!page.body.contains("\"><b>"), "\(path) let an id out of its attribute")
                #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(path) lost the text")
            }
            let task = try await Self.fetch(api, .GET, "/tasks/\(id)", bearer: APIHarness.token)
            #expect(!task.body.contains("href=\"javascript"), "a javascript: link")
            #expect(task.body.contains("<strong>bold</strong>"))
            #expect(task.body.contains("<details class=\"tool error\""), "the failed call is not marked")
            #expect(task.headers.first(name: "Content-Security-Policy")?.contains("script-src 'self'") == true)
        }
    }

    @Test("a read-only token reads but cannot act; another workspace's token does not see the task")
    func rolesAndWorkspaces() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let asked = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"asker","prompt":"ask"}"#)
            let id = try #require(asked.json?["id"]?.stringValue)
            let reader = try await WorkspaceAPITests.token(api, workspace: Workspace.defaultID, role: "read_only", createWorkspace: false)
            #expect(try await Self.fetch(api, .GET, "/tasks/\(id)", bearer: reader).status == 200)
            let refused = try await Self.fetch(api, .POST, "/tasks/\(id)/cancel", bearer: reader)
            #expect(refused.status == 403 && refused.body.contains("may look but not change"), "\(refused)")
            let other = try await WorkspaceAPITests.token(api, workspace: "other", role: "member")
            #expect(try await Self.fetch(api, .GET, "/tasks/\(id)", bearer: other).status == 404)
            let list = try await Self.fetch(api, .GET, "/", bearer: other)
            #expect(list.status == 200 && !list.body.contains(id))
        }
    }

    @Test("bulk cancel cancels every checked task that allows it and says which it refused; the filters and pages are the store's")
    func bulkAndFilters() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            var ids: [String] = []
            for prompt in ["first", "second", "third"] {
                let submitted = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"asker","prompt":"\#(prompt)","labels":["bulk"]}"#)
                ids.append(try #require(submitted.json?["id"]?.stringValue))
            }
            _ = try await eventually(timeout: .seconds(10)) {
                try await ids.asyncAllSatisfy { try await api.store.task(TaskID(trusted: $0))?.state == .waiting }
            }
            let list = try await Self.fetch(api, .GET, "/?label=bulk&state=waiting", bearer: APIHarness.token)
            #expect(ids.allSatisfy { list.body.contains("id=\"row-\($0)\"") }, "\(list.body)")
            let search = try await Self.fetch(api, .GET, "/?q=SECOND", bearer: APIHarness.token)
            #expect(search.body.contains("row-\(ids[1])") && !search.body.contains("row-\(ids[0])"))
            let bad = try await Self.fetch(api, .GET, "/?state=sleeping", bearer: APIHarness.token)
            #expect(bad.status == 422 && bad.body.contains("sleeping"), "\(bad.status)")
            let cancelled = try await Self.fetch(
                api, .POST, "/tasks/bulk", form: "action=cancel&id=\(ids[0])&id=\(ids[1])&back=%2F%3Flabel%3Dbulk", bearer: APIHarness.token)
            #expect(cancelled.status == 303 && cancelled.headers.first(name: "Location") == "/?label=bulk", "\(cancelled)")
            let retried = try await Self.fetch(api, .POST, "/tasks/bulk", form: "action=retry&id=\(ids[0])&id=\(ids[2])", bearer: APIHarness.token)
            #expect(retried.status == 409 && retried.body.contains("1 done, 1 refused") && retried.body.contains(ids[2]), "\(retried.body)")
            #expect(try await api.store.task(TaskID(trusted: ids[1]))?.state == .cancelled)
            // The row the list's script fetches: 204 once the task no longer passes the filters.
            #expect(try await Self.fetch(api, .GET, "/tasks/\(ids[1])/row?state=waiting", bearer: APIHarness.token).status == 204)
            #expect(try await Self.fetch(api, .GET, "/tasks/\(ids[1])/row?state=cancelled", bearer: APIHarness.token).status == 200)
        }
    }

    @Test("the list pages by keyset: 50 rows, then an Older link whose cursor starts after the last row shown")
    func pages() async throws {
        try await APIHarness.with(handlers: ["noop": { _, _ in .succeeded(nil) }]) { api in
            var ids: [String] = []
            for index in 0..<53 {
                let submitted = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"noop","prompt":"task \#(index)"}"#)
                ids.append(try #require(submitted.json?["id"]?.stringValue))
            }
            let first = try await Self.fetch(api, .GET, "/", bearer: APIHarness.token)
            #expect(first.body.components(separatedBy: "<tr id=\"row-").count - 1 == 50)
            #expect(first.body.contains("row-\(ids[52])") && !first.body.contains("row-\(ids[2])"))
            let link = try #require(first.body.range(of: #"<a href="/?cursor="#).map { first.body[$0.upperBound...].prefix { $0 != "\"" } })
            #expect(link == "t_\(ids[3])")
            let second = try await Self.fetch(api, .GET, "/?cursor=\(link)", bearer: APIHarness.token)
            #expect(second.body.components(separatedBy: "<tr id=\"row-").count - 1 == 3)
            #expect([ids[0], ids[1], ids[2]].allSatisfy { second.body.contains("row-\($0)") } && !second.body.contains("rel=\"next\""))
            #expect(second.body.contains("data-first-page=\"false\"") && second.body.contains("← Newest"))
        }
    }

    @Test("agents and queues: budget bar, cost chart, rate limit, running count; lanes, schedules with their next fire, webhooks' health")
    func agentsAndQueues() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            #expect(try await api.request(.PUT, "/v1/agents/pricey", body: #"{"runner":"builtin","budget_usd":2.0,"rate":"30/1h","concurrency":3}"#).status == 200)
            #expect(try await api.request(.PUT, "/v1/lanes/deploys", body: #"{"concurrency":2}"#).status == 200)
            let schedule = #"{"name":"standup","cron":"0 9 * * 1-5","timezone":"Europe/Berlin","task":{"agent":"asker","prompt":"standup notes"}}"#
            #expect(try await api.request(.POST, "/v1/schedules", body: schedule).status == 201)
            let webhook = #"{"name":"ops","url":"http://127.0.0.1:9/hook","secret":"s","events":["task.done"]}"#
            #expect(try await api.request(.POST, "/v1/webhooks", body: webhook).status == 201)
            let page = try await Self.fetch(api, .GET, "/agents", bearer: APIHarness.token)
            #expect(page.status == 200, "\(page.body)")
            #expect(page.body.contains("id=\"agent-pricey\"") && page.body.contains("<meter min=\"0\" max=\"2.0000\" value=\"0.0000\""))
            #expect(page.body.contains("30 of 30 tokens (30/1h)") && page.body.contains("0 of 3"))
            #expect(page.body.contains("<svg class=\"chart\"") && page.body.contains("cost per day, the last 14 days"))
            #expect(page.body.contains("<a href=\"/?lane=deploys\">deploys</a>") && page.body.contains("0 of 2"))
            #expect(page.body.contains("standup") && page.body.contains("<code>0 9 * * 1-5</code>") && page.body.contains("Europe/Berlin"))
            #expect(page.body.contains("ops") && page.body.contains("http://127.0.0.1:9/hook") && page.body.contains("healthy"))
        }
    }

    @Test("a form's Origin must be this host, or the public URL's origin behind a proxy that passes another Host on")
    func origin() {
        func request(authority: String, origin: String?) -> Request {
            var fields = HTTPFields()
            if let origin { fields[.origin] = origin }
            return Request(
                head: HTTPRequest(method: .post, scheme: "http", authority: authority, path: "/tasks/bulk", headerFields: fields),
                body: RequestBody(buffer: ByteBuffer()))
        }
        #expect(DashboardCredential.sameOrigin(request(authority: "127.0.0.1:7777", origin: nil), publicURL: nil))
        #expect(DashboardCredential.sameOrigin(request(authority: "127.0.0.1:7777", origin: "http://127.0.0.1:7777"), publicURL: nil))
        #expect(!DashboardCredential.sameOrigin(request(authority: "127.0.0.1:7777", origin: "http://127.0.0.1:8888"), publicURL: nil))
        #expect(!DashboardCredential.sameOrigin(request(authority: "127.0.0.1:7777", origin: "null"), publicURL: nil))
        let proxied = request(authority: "10.0.0.5:7777", origin: "https://nightshift.example.com")
        #expect(DashboardCredential.sameOrigin(proxied, publicURL: "https://nightshift.example.com/"))
        #expect(!DashboardCredential.sameOrigin(proxied, publicURL: "https://other.example.com"))
        #expect(!DashboardCredential.sameOrigin(proxied, publicURL: nil))
    }

    @Test("a diff is drawn line by line: files, hunks, additions and deletions each marked, the text escaped")
    func diff() {
        let event = TaskEvent(
            taskID: TaskID(trusted: "0190c5a1-0000-7000-8000-000000000000"), seq: 3, time: Date(), type: "diff",
            data: ["patch": "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-<old>\n+<new>\n same", "files_changed": 1, "insertions": 1, "deletions": 1])
        let html = Dashboard.diffPanel(event).text
        #expect(html.contains("<span class=\"file\">diff --git a/x b/x</span>") && html.contains("<span class=\"hunk\">@@ -1 +1 @@</span>"))
        #expect(html.contains("<span class=\"del\">-&lt;old&gt;</span>") && html.contains("<span class=\"add\">+&lt;new&gt;</span>"))
        #expect(html.contains("<span class=\"\"> same</span>") && html.contains("1 files +1 −1"))
    }

    @Test("Markdown: blocks and inline marks, code kept literal, only http(s) and mailto links")
    func markdown() {
        let html = Markdown.html("# Title\n\nSome *it* and **bold** `<code>`\n\n- one\n- two\n\n```swift\nlet a = \"<b>\"\n```\n[ok](https://example.com/?a=1&b=2) [no](javascript:alert(1))").text
        #expect(html.contains("<h3>Title</h3>"))
        #expect(html.contains("<em>it</em>") && html.contains("<strong>bold</strong>") && html.contains("<code>&lt;code&gt;</code>"))
        #expect(html.contains("<ul><li>one</li><li>two</li></ul>"))
        #expect(html.contains("<pre class=\"code\" data-language=\"swift\"><code>let a = &quot;&lt;b&gt;&quot;</code></pre>"))
        #expect(html.contains("<a href=\"https://example.com/?a=1&amp;b=2\" rel=\"noopener noreferrer\">ok</a>"))
        #expect(html.contains("[no](javascript:alert(1))"))
    }
}

extension Array {
    /// Whether every element satisfies an async condition.
    fileprivate func asyncAllSatisfy(_ condition: (Element) async throws -> Bool) async rethrows -> Bool {
        for element in self where try await !condition(element) { return false }
        return true
    }
}
