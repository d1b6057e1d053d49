import AsyncHTTPClient
import Foundation
import Nightshift
@testable import NightshiftDaemon
import NIOCore
import NIOHTTP1
import NightshiftTestSupport
import Synchronization
import Testing

/// The dashboard's panels over real loopback HTTP, each checked against the store: a task page's
/// inbox forms, runs, steps, subtasks, artifacts and lifecycle buttons; Needs you's order; the
/// agents page; the list's filters and columns; and the change feed the list's script reads.
@Suite("dashboard panels")
struct DashboardPanelsTests {
    static let hostile = DashboardTests.hostile
    static let handlers: [String: BuiltinRunner.Handler] = [
        // A run that reports its tokens and cost; "fail" fails for good.
        "priced": { request, _ in
            request.prompt == "fail"
                ? .failed("it broke", retryable: false, usage: RunUsage(tokensIn: 10, tokensOut: 2, costUSD: 0.05))
                : .succeeded("ok", usage: RunUsage(tokensIn: 1234, tokensOut: 56, costUSD: 0.25))
        },
        "approver": { request, _ in
            request.previousOutcome == nil
                ? .approvalRequested("Deploy <b>prod</b>?", tool: "Bash", input: ["command": "make deploy"]) : .succeeded("decided")
        },
        "chooser": { request, _ in
            guard request.previousOutcome == nil else { return .succeeded("chosen") }
            var outcome = RunOutcome.waitingForInput("Which branch?")
            outcome.waitingFor = WaitingFor(kind: .input, question: "Which branch?", options: ["main", "dev"])
            return outcome
        },
        "asker": { request, _ in .waitingForInput(request.prompt == "hostile" ? hostile : "Question about \(request.prompt)?") },
        "parent": { request, context in
            context.spawn(NewTask(agent: "noop", prompt: "child of \(request.task.id.rawValue)"))
            return .succeeded("spawned")
        },
        "noop": { _, _ in .succeeded(nil) },
        "flaky": { request, _ in request.previousOutcome == nil ? .failed("first time", retryable: false) : .succeeded("second time") },
        "sleeper": { request, _ in request.previousOutcome == nil ? .wake(at: Date().addingTimeInterval(3_600), prompt: nil) : .succeeded("woken") },
        "limited": { _, _ in .usageLimit("quota hit", resetsAt: Date().addingTimeInterval(3_600)) },
    ]

    /// A workflow of two steps.
    static func workflows() throws -> WorkflowRegistry {
        let registry = WorkflowRegistry()
        try registry.register("flow") { flow in
            let plan = try await flow.step("plan") { 2 }
            return try await flow.step("build") { "built \(plan)" }
        }
        return registry
    }

    /// Submits a task over the API; its id.
    static func submit(_ api: APIHarness, _ body: String, token: String = APIHarness.token) async throws -> TaskID {
        let answer = try await api.request(.POST, "/v1/tasks", body: body, token: token)
        #expect(answer.status == 201, "\(answer.body)")
        return TaskID(trusted: try #require(answer.json?["id"]?.stringValue))
    }

    /// Waits until the task is in `state`.
    static func reach(_ api: APIHarness, _ id: TaskID, _ state: TaskState) async throws {
        let reached = try await eventually(timeout: .seconds(20)) { try await api.store.task(id)?.state == state }
        let now = try await api.store.task(id)?.state
        #expect(reached, "\(id) is \(now.map(\.rawValue) ?? "missing"), not \(state)")
    }

    /// A cookie session's page of `path`: its body and the CSRF token of its forms.
    static func page(_ api: APIHarness, _ path: String) async throws -> (body: String, csrf: String) {
        let page = try await DashboardTests.fetch(api, .GET, path, cookie: APIHarness.token)
        #expect(page.status == 200, "\(path): \(page.status)")
        return (page.body, try #require(DashboardTests.csrf(in: page.body)))
    }

    /// Posts a page's form as a cookie session does; the answer is a 303 back to the task.
    static func post(_ api: APIHarness, _ path: String, _ form: String, csrf: String) async throws {
        let answer = try await DashboardTests.fetch(api, .POST, path, form: "csrf=\(csrf)&" + form, cookie: APIHarness.token)
        #expect(answer.status == 303, "\(path): \(answer.status) \(answer.body)")
    }

    /// The part of `page` from `start` to the first `end` after it (empty when `start` is not there).
    static func part(_ page: String, from start: String, to end: String) -> String {
        guard let from = page.range(of: start) else { return "" }
        let rest = page[from.lowerBound...]
        return String(rest[..<(rest.range(of: end)?.upperBound ?? rest.endIndex)])
    }

    /// The lifecycle buttons a task's page offers.
    static func buttons(_ page: String, of id: TaskID) -> Set<String> {
        Set(TaskButton.allCases.map(\.rawValue).filter { page.contains("<form method=\"post\" action=\"/tasks/\(id.rawValue)/\($0)\">") })
    }

    @Test("the inbox: approve and reject post the decision with its comment, an option button posts its answer; each then wakes the task")
    func inboxForms() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let approved = try await Self.submit(api, #"{"agent":"approver","prompt":"deploy"}"#)
            let rejected = try await Self.submit(api, #"{"agent":"approver","prompt":"deploy again"}"#)
            let chosen = try await Self.submit(api, #"{"agent":"chooser","prompt":"pick"}"#)
            for id in [approved, rejected, chosen] { try await Self.reach(api, id, .waiting) }

            let approval = try await Self.page(api, "/tasks/\(approved.rawValue)")
            let inbox = Self.part(approval.body, from: "<section class=\"panel\" id=\"inbox\">", to: "</section>")
            #expect(inbox.contains("<div class=\"question\">Deploy &lt;b&gt;prod&lt;/b&gt;?</div>"), "\(inbox)")
            #expect(inbox.contains("Tool <span class=\"tool-name\">Bash</span>") && inbox.contains("make deploy"))
            #expect(inbox.contains("<form method=\"post\" action=\"/tasks/\(approved.rawValue)/input\" class=\"approval-form\">"))
            #expect(inbox.contains("<button type=\"submit\" name=\"kind\" value=\"approve\" class=\"primary\">Approve</button>"))
            #expect(inbox.contains("<button type=\"submit\" name=\"kind\" value=\"reject\" class=\"danger\">Reject</button>"))
            try await Self.post(api, "/tasks/\(approved.rawValue)/input", "kind=approve&text=ship+it", csrf: approval.csrf)
            let approvals = try await api.store.inputs(of: approved, workspace: nil)
            #expect(approvals.map(\.kind) == [.approve] && approvals.map(\.text) == ["ship it"])
            try await Self.reach(api, approved, .done)

            // A bearer request needs no CSRF token.
            let rejection = try await DashboardTests.fetch(
                api, .POST, "/tasks/\(rejected.rawValue)/input", form: "kind=reject&text=too+risky", bearer: APIHarness.token)
            #expect(rejection.status == 303 && rejection.headers.first(name: "Location") == "/tasks/\(rejected.rawValue)")
            let rejections = try await api.store.inputs(of: rejected, workspace: nil)
            #expect(rejections.map(\.kind) == [.reject] && rejections.map(\.text) == ["too risky"])
            try await Self.reach(api, rejected, .done)
            // The inbox lists what was sent.
            let after = try await Self.page(api, "/tasks/\(rejected.rawValue)")
            #expect(after.body.contains("<li><strong>reject</strong>") && after.body.contains("<div class=\"question\">too risky</div>"))

            let question = try await Self.page(api, "/tasks/\(chosen.rawValue)")
            for option in ["main", "dev"] {
                #expect(question.body.contains(
                    "<input type=\"hidden\" name=\"kind\" value=\"answer\"><input type=\"hidden\" name=\"text\" value=\"\(option)\"><button type=\"submit\">\(option)</button></form>"),
                    "no button for \(option)")
            }
            #expect(question.body.contains("<div class=\"question\">Which branch?</div>"))
            // The option button's form, as a browser posts it.
            try await Self.post(api, "/tasks/\(chosen.rawValue)/input", "kind=answer&text=dev", csrf: question.csrf)
            let answers = try await api.store.inputs(of: chosen, workspace: nil)
            #expect(answers.map(\.kind) == [.answer] && answers.map(\.text) == ["dev"])
            try await Self.reach(api, chosen, .done)
            #expect(try await api.store.task(chosen)?.result == "chosen")
            // No kind is refused, naming what to send.
            let none = try await DashboardTests.fetch(api, .POST, "/tasks/\(chosen.rawValue)/input", form: "text=x", bearer: APIHarness.token)
            #expect(none.status == 400 && none.body.contains("Choose what to send"), "\(none.status)")
        }
    }

    @Test("a task's page: runs with outcome, time, tokens and cost; a workflow's steps with durations; subtasks; artifacts that download")
    func taskPanels() async throws {
        try await APIHarness.with(handlers: Self.handlers, workflows: try Self.workflows()) { api in
            let priced = try await Self.submit(api, #"{"agent":"priced","prompt":"work"}"#)
            let failed = try await Self.submit(api, #"{"agent":"priced","prompt":"fail"}"#)
            let flow = try await Self.submit(api, #"{"agent":"flow","prompt":"go"}"#)
            let parent = try await Self.submit(api, #"{"agent":"parent","prompt":"split"}"#)
            let script = #"echo report > report.md && echo '{\"type\":\"artifact\",\"path\":\"report.md\"}'"#
            let agent = #"{"name":"reporter","runner":"command","config":{"command":["/bin/sh","-c","\#(script)"]}}"#
            #expect(try await api.request(.POST, "/v1/agents", body: agent).status == 201)
            let reporter = try await Self.submit(api, #"{"agent":"reporter","prompt":"report"}"#)
            for id in [priced, flow, parent, reporter] { try await Self.reach(api, id, .done) }
            try await Self.reach(api, failed, .error)

            for (id, outcome, tokens, cost) in [(priced, "succeeded", "1,234 / 56", "$0.25"), (failed, "failed", "10 / 2", "$0.05")] {
                let run = try #require(try await api.store.runs(task: id).first)
                let took = DashboardFormat.duration(max(0, try #require(run.finishedAt).timeIntervalSince(run.startedAt)))
                let page = try await Self.page(api, "/tasks/\(id.rawValue)").body
                let runs = Self.part(page, from: "<section class=\"panel\" id=\"runs\">", to: "</section>")
                #expect(runs.contains(
                    "<tr><td>1</td><td>\(outcome)</td><td class=\"num\">\(took)</td><td class=\"num\">\(tokens)</td><td class=\"num\">\(cost)</td></tr>"),
                    "\(runs)")
                if id == failed { #expect(runs.contains("<pre>it broke</pre>")) }
            }

            let steps = try await api.store.steps(task: flow).recorded
            #expect(steps.map(\.name) == ["plan", "build"])
            let stepsPanel = Self.part(try await Self.page(api, "/tasks/\(flow.rawValue)").body, from: "<section class=\"panel\" id=\"steps\">", to: "</section>")
            for step in steps {
                #expect(stepsPanel.contains(
                    "<tr><td>\(step.position)</td><td>\(step.name)</td><td>completed</td><td class=\"num\">\(DashboardFormat.duration(step.duration))</td></tr>"),
                    "\(stepsPanel)")
            }

            let child = try #require(try await api.store.children(of: parent, workspace: nil).first)
            try await Self.reach(api, child.id, .done)
            let children = Self.part(try await Self.page(api, "/tasks/\(parent.rawValue)").body, from: "<section class=\"panel\" id=\"children\">", to: "</section>")
            #expect(children.contains("<span class=\"badge state-done\">done</span>"), "\(children)")
            #expect(children.contains("<a href=\"/tasks/\(child.id.rawValue)\">child of \(parent.rawValue)</a></td><td>noop</td>"), "\(children)")
            let childPage = try await Self.page(api, "/tasks/\(child.id.rawValue)").body
            #expect(childPage.contains("<dt>Parent</dt><dd><a href=\"/tasks/\(parent.rawValue)\">"))

            let artifacts = Self.part(try await Self.page(api, "/tasks/\(reporter.rawValue)").body, from: "<section class=\"panel\" id=\"artifacts\">", to: "</section>")
            let link = "/tasks/\(reporter.rawValue)/artifacts/report.md"
            #expect(artifacts.contains("<li><a href=\"\(link)\" download>report.md</a><span class=\"muted small\"> · 7 bytes</span></li>"), "\(artifacts)")
            let file = try await DashboardTests.fetch(api, .GET, link, cookie: APIHarness.token)
            #expect(file.status == 200 && file.body == "report\n")
        }
    }

    @Test("a task's page offers the buttons its state allows, and each does what it says: retry, pause, resume, wake")
    func lifecycleButtons() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let flaky = try await Self.submit(api, #"{"agent":"flaky","prompt":"try"}"#)
            let later = try await Self.submit(api, #"{"agent":"noop","prompt":"later","delay":3600}"#)
            let sleeper = try await Self.submit(api, #"{"agent":"sleeper","prompt":"nap"}"#)
            try await Self.reach(api, flaky, .error)
            try await Self.reach(api, sleeper, .waiting)

            let failed = try await Self.page(api, "/tasks/\(flaky.rawValue)")
            #expect(Self.buttons(failed.body, of: flaky) == ["retry"])
            try await Self.post(api, "/tasks/\(flaky.rawValue)/retry", "", csrf: failed.csrf)
            try await Self.reach(api, flaky, .done)
            #expect(try await api.store.runs(task: flaky).map(\.outcome) == ["failed", "succeeded"])

            let queued = try await Self.page(api, "/tasks/\(later.rawValue)")
            #expect(Self.buttons(queued.body, of: later) == ["cancel", "pause"])
            try await Self.post(api, "/tasks/\(later.rawValue)/pause", "", csrf: queued.csrf)
            #expect(try await api.store.task(later)?.state == .paused)
            let paused = try await Self.page(api, "/tasks/\(later.rawValue)")
            #expect(Self.buttons(paused.body, of: later) == ["cancel", "resume"])
            try await Self.post(api, "/tasks/\(later.rawValue)/resume", "", csrf: paused.csrf)
            // Queued again, keeping its delay.
            #expect(try await api.store.task(later)?.state == .queued)

            let sleeping = try await Self.page(api, "/tasks/\(sleeper.rawValue)")
            #expect(Self.buttons(sleeping.body, of: sleeper) == ["cancel", "wake"])
            #expect(sleeping.body.contains("<p>Sleeping until <time datetime="))
            try await Self.post(api, "/tasks/\(sleeper.rawValue)/wake", "", csrf: sleeping.csrf)
            try await Self.reach(api, sleeper, .done)
            #expect(try await api.store.task(sleeper)?.result == "woken")
        }
    }

    @Test("Needs you: every task waiting for a person, the wait begun last first (not the task changed last), each with its question")
    func needsYou() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let first = try await Self.submit(api, #"{"agent":"asker","prompt":"first"}"#)
            try await Self.reach(api, first, .waiting)
            let second = try await Self.submit(api, #"{"agent":"asker","prompt":"second"}"#)
            try await Self.reach(api, second, .waiting)
            let sleeper = try await Self.submit(api, #"{"agent":"sleeper","prompt":"nap"}"#)
            try await Self.reach(api, sleeper, .waiting)

            func order() async throws -> String {
                let page = try await Self.page(api, "/needs-you").body
                #expect(page.contains("<h1>Needs you <span class=\"muted\">2</span></h1>"))
                #expect(!page.contains("wait-\(sleeper.rawValue)"), "a sleeping task waits for no one")
                for (id, prompt) in [(first, "first"), (second, "second")] {
                    let item = Self.part(page, from: "<section class=\"panel\" id=\"wait-\(id.rawValue)\">", to: "</section></section>")
                    #expect(item.contains("<div class=\"question\">Question about \(prompt)?</div>"), "\(item)")
                    let began = try #require(try await api.store.events(task: id, type: "state", limit: 1, workspace: nil).first?.time)
                    #expect(item.contains("waiting since <time datetime=\"\(JSONTime.text(began))\""), "\(item)")
                }
                let positions = [first, second].compactMap { page.range(of: "id=\"wait-\($0.rawValue)\"")?.lowerBound }
                #expect(positions.count == 2)
                return positions.count == 2 && positions[1] < positions[0] ? "second, first" : "first, second"
            }
            #expect(try await order() == "second, first")
            // A new priority changes the first task, not when its wait began.
            #expect(try await api.request(.PATCH, "/v1/tasks/\(first.rawValue)", body: #"{"priority":3}"#).status == 200)
            let changed = try #require(try await api.store.task(first))
            #expect(try #require(try await api.store.task(second)).updatedAt < changed.updatedAt)
            #expect(try await order() == "second, first")
        }
    }

    @Test("agents and queues: parked until, success rate, the cost chart's bar, a schedule's next fire, a failing webhook")
    func agentsPanels() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let schedule = #"{"name":"nightly","cron":"30 2 * * *","timezone":"UTC","task":{"agent":"noop","prompt":"nightly"}}"#
            let created = try await api.request(.POST, "/v1/schedules", body: schedule)
            let next = try #require(created.json?["next_run_at"]?.stringValue, "\(created.body)")
            // A short timeout: the client tries a refused connection again until it runs out.
            let webhook = #"{"name":"broken","url":"http://127.0.0.1:9/hook","secret":"s","events":["task.done"],"timeout":1}"#
            #expect(try await api.request(.POST, "/v1/webhooks", body: webhook).status == 201)
            let done = try await Self.submit(api, #"{"agent":"priced","prompt":"work"}"#)
            let failed = try await Self.submit(api, #"{"agent":"priced","prompt":"fail"}"#)
            _ = try await Self.submit(api, #"{"agent":"limited","prompt":"too much"}"#)
            try await Self.reach(api, done, .done)
            try await Self.reach(api, failed, .error)
            #expect(try await eventually(timeout: .seconds(20)) {
                try await api.request(.GET, "/v1/agents/limited").json?["pacing"]?["parked_until"]?.stringValue != nil
            })

            var page = try await Self.page(api, "/agents").body
            let parkedUntil = try #require(try await api.request(.GET, "/v1/agents/limited").json?["pacing"]?["parked_until"]?.stringValue)
            let limitedCard = Self.part(page, from: "id=\"agent-limited\"", to: "</section>")
            #expect(limitedCard.contains("<dt>Parked</dt><dd><span class=\"badge state-waiting\">parked</span> until <time datetime=\"\(parkedUntil)\""), "\(limitedCard)")
            #expect(limitedCard.contains("quota hit"))
            #expect(Self.part(page, from: "id=\"agent-noop\"", to: "</section>").contains("<dt>Parked</dt><dd>no</dd>"))

            let pricedCard = Self.part(page, from: "id=\"agent-priced\"", to: "</section>")
            #expect(pricedCard.contains("<dt>Success</dt><dd>50% of 2 runs"), "\(pricedCard)")
            let runs = try await api.store.runs(task: done) + api.store.runs(task: failed)
            let total = runs.reduce(0) { $0 + $1.costUSD }
            #expect(total == 0.30)
            let day = JSONTime.text(AgentRunStats.startOfDay(try #require(runs.first?.finishedAt))).prefix(10)
            // The only day with a cost is the chart's highest bar.
            #expect(pricedCard.contains("height=\"80.0\"><title>\(day): \(DashboardFormat.cost(total))</title></rect>"), "\(pricedCard)")
            #expect(pricedCard.contains("max \(DashboardFormat.cost(total))/day"))

            let schedules = Self.part(page, from: "<th>Next fire</th>", to: "</table>")
            #expect(schedules.contains("nightly") && schedules.contains("<time datetime=\"\(next)\""), "\(schedules)")

            // The webhook's first attempt fails (nothing listens on port 9).
            #expect(try await eventually(timeout: .seconds(20)) {
                page = try await Self.page(api, "/agents").body
                return page.contains("<span class=\"badge state-error\">failing</span>")
            })
            let hook = try #require(try await api.request(.GET, "/v1/webhooks").json?["webhooks"]?.arrayValue?.first)
            let lastError = try #require(hook["last_error"]?.stringValue)
            let row = Self.part(page, from: "<tr><td>broken", to: "</tr>")
            #expect(row.contains("failing</span>") && row.contains(" attempts") && row.contains(HTML.escape(lastError)), "\(row)")
        }
    }

    @Test("a label and a question holding markup are escaped on the list, the row, the task page, Needs you and a filter's echo")
    func escapedLabelAndQuestion() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let id = try await Self.submit(api, #"{"agent":"asker","prompt":"hostile","labels":["<script>alert(1)</script>"]}"#)
            try await Self.reach(api, id, .waiting)
            let label = "%3Cscript%3Ealert(1)%3C%2Fscript%3E"
            for path in ["/", "/tasks/\(id.rawValue)", "/tasks/\(id.rawValue)/row", "/needs-you", "/?label=\(label)", "/?q=\(label)"] {
                let page = try await DashboardTests.fetch(api, .GET, path, bearer: APIHarness.token)
                #expect(page.status == 200, "\(path): \(page.status)")
                #expect(!page.body.contains("<script>alert"), "\(path) holds a script tag")
                #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(path) lost the text")
                if path.hasPrefix("/?") { #expect(page.body.contains("id=\"row-\(id.rawValue)\""), "\(path) lost the task") }
            }
            let list = try await DashboardTests.fetch(api, .GET, "/?label=\(label)", bearer: APIHarness.token).body
            #expect(list.contains("<span class=\"label\">&lt;script&gt;alert(1)&lt;/script&gt;</span>"))
            #expect(list.contains("name=\"label\" value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""))
            let task = try await DashboardTests.fetch(api, .GET, "/tasks/\(id.rawValue)", bearer: APIHarness.token).body
            #expect(task.contains("<div class=\"question\">&lt;script&gt;alert(1)&lt;/script&gt;</div>"))
        }
    }

    @Test("the list filters by agent and by lane, and shows each task's cost and run time")
    func listFiltersAndColumns() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            #expect(try await api.request(.PUT, "/v1/lanes/fast", body: #"{"concurrency":2}"#).status == 200)
            let priced = try await Self.submit(api, #"{"agent":"priced","prompt":"work","lane":"fast"}"#)
            let plain = try await Self.submit(api, #"{"agent":"noop","prompt":"plain"}"#)
            try await Self.reach(api, priced, .done)
            try await Self.reach(api, plain, .done)

            for filter in ["agent=priced", "lane=fast"] {
                let page = try await DashboardTests.fetch(api, .GET, "/?\(filter)", bearer: APIHarness.token).body
                #expect(page.contains("id=\"row-\(priced.rawValue)\"") && !page.contains("id=\"row-\(plain.rawValue)\""), "\(filter)")
            }
            let byAgent = try await DashboardTests.fetch(api, .GET, "/?agent=noop", bearer: APIHarness.token).body
            #expect(byAgent.contains("id=\"row-\(plain.rawValue)\"") && !byAgent.contains("id=\"row-\(priced.rawValue)\""))
            #expect(byAgent.contains("<option selected>noop</option>"))

            let task = try #require(try await api.store.task(priced))
            #expect(task.costUSD == 0.25 && task.totals.runSeconds > 0)
            let page = try await DashboardTests.fetch(api, .GET, "/", bearer: APIHarness.token).body
            let row = Self.part(page, from: "<tr id=\"row-\(priced.rawValue)\"", to: "</tr>")
            #expect(row.contains(
                "<td class=\"opt\">priced</td><td class=\"opt\">fast</td><td class=\"num\">$0.25</td><td class=\"num opt\">\(DashboardFormat.duration(task.totals.runSeconds))</td>"),
                "\(row)")
            // A task that has not run has no run time.
            let later = try await Self.submit(api, #"{"agent":"noop","prompt":"later","delay":3600}"#)
            let waiting = try await DashboardTests.fetch(api, .GET, "/tasks/\(later.rawValue)/row", bearer: APIHarness.token).body
            #expect(waiting.contains("<td class=\"num\">$0</td><td class=\"num opt\">–</td>"), "\(waiting)")
        }
    }

    @Test("GET /feed streams `changed` frames naming the session's workspace's changed tasks, never another workspace's")
    func changeFeed() async throws {
        try await APIHarness.with(handlers: Self.handlers) { api in
            let other = try await WorkspaceAPITests.token(api, workspace: "other", role: "admin")
            #expect(try await api.request(.PUT, "/v1/agents/noop", body: #"{"runner":"builtin"}"#, token: other).status == 200)

            var request = HTTPClientRequest(url: api.base + "/feed")
            request.headers.add(name: "Cookie", value: "nightshift_token=\(APIHarness.token)")
            request.headers.add(name: "Accept", value: "text/event-stream")
            let response = try await DashboardTests.client.execute(request, timeout: .seconds(60))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "Content-Type") == "text/event-stream")

            let ours = SubmittedIDs()
            let theirs = SubmittedIDs()
            let frames = try await withThrowingTaskGroup(of: [String]?.self) { group in
                // Each round changes a task of the other workspace, then one of ours, until a frame
                // names ours (the digest reads from the hook stream's end once the feed follows it).
                group.addTask {
                    _ = try await eventually(timeout: .seconds(30), poll: .milliseconds(300)) {
                        let their = try await Self.submit(api, #"{"agent":"noop","prompt":"theirs"}"#, token: other)
                        theirs.insert(their)
                        let our = try await Self.submit(api, #"{"agent":"noop","prompt":"ours"}"#)
                        ours.insert(our)
                        return Task.isCancelled
                    }
                    return nil
                }
                group.addTask {
                    var buffer = ""
                    var frames: [String] = []
                    for try await chunk in response.body {
                        buffer += String(buffer: chunk)
                        while let end = buffer.range(of: "\n\n") {
                            frames.append(String(buffer[..<end.lowerBound]))
                            buffer = String(buffer[end.upperBound...])
                        }
                        let submitted = ours.all
                        let named = frames.contains { frame in submitted.contains { frame.contains($0) } }
                        if named { return frames }
                    }
                    return frames
                }
                let frames = try await group.next() ?? nil
                group.cancelAll()
                return frames
            }
            let read = try #require(frames)
            #expect(!read.isEmpty)
            let ourIDs = ours.all
            let theirIDs = theirs.all
            var named: [String] = []
            for frame in read where !frame.hasPrefix(":") {
                let lines = frame.split(separator: "\n")
                #expect(lines.count == 2 && lines[0] == "event: changed" && lines[1].hasPrefix("data: "), "\(frame)")
                let data = try #require(lines.last.flatMap { try? JSONValue(jsonText: String($0.dropFirst("data: ".count))) }, "\(frame)")
                #expect(data["overflow"] == true || data["overflow"] == false, "\(frame)")
                named += data["ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
            }
            #expect(named.contains { ourIDs.contains($0) })
            #expect(Set(named).isDisjoint(with: theirIDs), "named another workspace's task")
            for id in Set(named) {
                #expect(try await api.store.task(TaskID(trusted: id))?.workspaceID == Workspace.defaultID, "\(id) is not of the session's workspace")
            }
        }
    }
}

/// The ids of the tasks a test submitted, shared between its tasks.
private final class SubmittedIDs: Sendable {
    private let ids = Mutex<Set<String>>([])

    /// Notes `id`.
    func insert(_ id: TaskID) { ids.withLock { _ = $0.insert(id.rawValue) } }

    /// Every id noted so far.
    var all: Set<String> { ids.withLock { $0 } }
}
