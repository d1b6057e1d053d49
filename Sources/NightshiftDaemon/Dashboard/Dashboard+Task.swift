import Foundation
import Hummingbird
import Nightshift

/// A task's page (`/tasks/{id}`): what it was asked, the agent's session as a conversation (live
/// while it runs), its buttons and inbox, runs, steps, children, diff and artifacts.
extension Dashboard {
    /// The most events the page draws; the rest is in `nightshift logs` and the API.
    static let conversationLimit = 5_000

    func taskPage(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let scope = try server.scope(context)
        let task = try await server.task(context)
        let now = Date()
        let csrf = DashboardCredential.csrf(request)
        var events: [TaskEvent] = []
        while events.count < Self.conversationLimit {
            let page = try await scope.events(task: task.id, after: events.last?.seq ?? 0, limit: 1000)
            events += page
            if page.count < 1000 { break }
        }
        let runs = try await scope.runs(task: task.id)
        let steps = try await scope.steps(task: task.id)
        let inputs = try await scope.inputs(of: task.id)
        let children = try await server.engine.store.children(of: task.id, workspace: task.workspaceID)
        let diff = try await scope.events(task: task.id, type: "diff", limit: 1).first
        let artifacts = try await scope.events(task: task.id, type: "artifact_saved", limit: 1000)

        let path = "/tasks/\(task.id.rawValue)"
        let buttons = HTML(joining: TaskButton.allCases.filter { $0.allowed(from: task.state, task: task.id) }.map { button in
            DashboardLayout.button(
                button.rawValue.capitalized, action: "\(path)/\(button.rawValue)", csrf: csrf, style: button == .cancel ? "danger" : nil,
                confirm: button == .cancel ? "Cancel this task?" : nil)
        })
        let more: HTML = events.count >= Self.conversationLimit
            ? "<p class=\"muted small\">The first \(Self.conversationLimit) events; <code>nightshift logs \(task.id.rawValue)</code> has them all.</p>"
            : .empty
        let body: HTML = """
            <h1>\(DashboardFormat.title(task.prompt, limit: 160))</h1>
            <div id="summary">\(Self.summary(task, now: now))<div class="actions">\(buttons)</div></div>
            <div class="grid"><div>
            <section class="panel"><h2>Prompt</h2><div class="question">\(task.prompt)</div></section>
            <h2>Session <span class="live-dot" id="live-dot" title="live updates"></span></h2>
            <div class="conversation" id="conversation" data-live-task="\(task.id.rawValue)" data-after="\(events.last?.seq ?? 0)" data-terminal="\(task.state.isTerminal ? "true" : "false")">\(Conversation.html(events))</div>\(more)
            </div><div id="side">\(Self.inbox(task, inputs: inputs, csrf: csrf))\(Self.runsPanel(runs))\(Self.stepsPanel(steps))\(Self.childrenPanel(children, now: now))\(Self.artifactsPanel(artifacts, task: task.id))</div></div>
            <div id="diff-section">\(Self.diffPanel(diff))</div>
            """
        return DashboardLayout.page(
            DashboardFormat.title(task.prompt, limit: 60), section: .tasks, request: request, principal: context.principal, started: started, body: body)
    }

    /// The task's facts.
    static func summary(_ task: AgentTask, now: Date) -> HTML {
        let labels = HTML(joining: task.labels.map { "<span class=\"label\">\($0)</span>" })
        let tokens = "\(DashboardFormat.count(task.totals.tokensIn)) in · \(DashboardFormat.count(task.totals.tokensOut)) out"
            + (task.totals.cacheReadTokens > 0 ? " · \(DashboardFormat.count(task.totals.cacheReadTokens)) cached" : "")
        let parent: HTML = task.parentID.map { "<dt>Parent</dt><dd><a href=\"/tasks/\($0.rawValue)\">\($0.rawValue)</a></dd>" } ?? .empty
        let result: HTML = task.result.map { "<section class=\"panel\"><h2>Result</h2><div class=\"msg result\">\(Markdown.html($0))</div></section>" } ?? .empty
        let error: HTML = task.error.map { "<div class=\"msg error\" role=\"alert\"><div class=\"who\">error</div><pre>\($0)</pre></div>" } ?? .empty
        let budget = task.budgetUSD.map { " of " + DashboardFormat.cost($0) } ?? ""
        return """
            <section class="panel"><dl class="facts">
            <dt>State</dt><dd>\(DashboardFormat.state(task.state))\(task.waitingFor.map { " " + $0.summary } ?? "")</dd>
            <dt>Agent</dt><dd>\(task.agent)</dd>
            <dt>Id</dt><dd><code>\(task.id.rawValue)</code></dd>
            \(task.lane.map { "<dt>Lane</dt><dd>\($0)</dd>" as HTML } ?? .empty)\(task.labels.isEmpty ? HTML.empty : "<dt>Labels</dt><dd>\(labels)</dd>")\(parent)
            <dt>Priority</dt><dd>\(task.priority)</dd>
            <dt>Attempt</dt><dd>\(task.attempt) (failures \(task.failures) of \(task.retry.maxAttempts))</dd>
            <dt>Cost</dt><dd>\(DashboardFormat.cost(task.costUSD))\(budget)</dd>
            <dt>Tokens</dt><dd>\(tokens)</dd>
            <dt>Run time</dt><dd>\(DashboardFormat.duration(DashboardFormat.taskDuration(task, now: now)))</dd>
            <dt>Created</dt><dd>\(DashboardFormat.time(task.createdAt, now: now))</dd>
            <dt>Finished</dt><dd>\(DashboardFormat.time(task.finishedAt, now: now))</dd>
            </dl>\(error)</section>\(result)
            """
    }

    /// What the task waits for and the forms that answer it; on the task's own page (no `back`) a
    /// message box for a live task; the inbox so far.
    static func inbox(_ task: AgentTask, inputs: [TaskInput], csrf: String?, back: String? = nil) -> HTML {
        let action = "/tasks/\(task.id.rawValue)/input"
        let hidden: HTML = "\(DashboardLayout.hiddenCSRF(csrf))\(back.map { "<input type=\"hidden\" name=\"back\" value=\"\($0)\">" as HTML } ?? .empty)"
        var forms = HTML.empty
        if task.state == .waiting, let wait = task.waitingFor {
            switch wait.kind {
            case .input:
                let options = HTML(joining: (wait.options ?? []).map { option in
                    """
                    <form method="post" action="\(action)">\(hidden)<input type="hidden" name="kind" value="answer">\
                    <input type="hidden" name="text" value="\(option)"><button type="submit">\(option)</button></form>
                    """
                })
                forms += """
                    <div class="question">\(wait.question ?? "The agent asks for an answer.")</div>
                    <div class="actions">\(options)</div>
                    <form method="post" action="\(action)" class="answer-form">\(hidden)<input type="hidden" name="kind" value="answer">
                    <label for="answer-\(task.id.rawValue)" class="muted small">Your answer</label><textarea id="answer-\(task.id.rawValue)" name="text" required></textarea>
                    <div class="actions"><button type="submit" class="primary">Answer</button></div></form>
                    """
            case .approval:
                let tool: HTML = wait.tool.map { "<p>Tool <span class=\"tool-name\">\($0)</span></p>" } ?? .empty
                let input: HTML = wait.toolInput.map { "<pre>\($0.prettyText)</pre>" } ?? .empty
                forms += """
                    <div class="question">\(wait.question ?? "The agent asks for approval.")</div>\(tool)\(input)
                    <form method="post" action="\(action)" class="approval-form">\(hidden)
                    <label for="decision-\(task.id.rawValue)" class="muted small">Comment or reason (optional)</label><textarea id="decision-\(task.id.rawValue)" name="text"></textarea>
                    <div class="actions"><button type="submit" name="kind" value="approve" class="primary">Approve</button>
                    <button type="submit" name="kind" value="reject" class="danger">Reject</button></div></form>
                    """
            case .wake:
                forms += "<p>Sleeping until \(DashboardFormat.time(wait.wakeAt)); <em>Wake</em> runs it now.</p>"
            case .children:
                forms += "<p>Waiting for its subtasks to end.</p>"
            }
        }
        if back == nil, !task.state.isTerminal, task.waitingFor?.kind != .input {
            forms += """
                <form method="post" action="\(action)">\(hidden)<input type="hidden" name="kind" value="message">
                <label for="message-text" class="muted small">Send the agent a message</label><textarea id="message-text" name="text" required></textarea>
                <div class="actions"><button type="submit">Send</button></div></form>
                """
        }
        let list = HTML(joining: inputs.map { input in
            "<li><strong>\(input.kind.rawValue)</strong> <span class=\"muted small\">\(input.delivery.rawValue) · \(DashboardFormat.time(input.createdAt))</span>\(input.text.map { "<div class=\"question\">\($0)</div>" as HTML } ?? .empty)</li>"
        })
        guard !forms.text.isEmpty || !inputs.isEmpty else { return .empty }
        return "<section class=\"panel\" id=\"inbox\"><h2>Inbox</h2>\(forms)\(inputs.isEmpty ? HTML.empty : "<ul>\(list)</ul>")</section>"
    }

    /// The runs: outcome, time, tokens, cost, error.
    static func runsPanel(_ runs: [Run]) -> HTML {
        guard !runs.isEmpty else { return .empty }
        let rows = HTML(joining: runs.map { run in
            let duration = (run.finishedAt ?? Date()).timeIntervalSince(run.startedAt)
            let outcome = run.outcome ?? (run.finishedAt == nil ? "running" : "–")
            let error: HTML = run.error.map { "<tr><td colspan=\"5\"><div class=\"msg error\"><pre>\($0)</pre></div></td></tr>" } ?? .empty
            return """
                <tr><td>\(run.attempt)</td><td>\(outcome)</td><td class="num">\(DashboardFormat.duration(max(0, duration)))</td>\
                <td class="num">\(DashboardFormat.count(run.tokensIn)) / \(DashboardFormat.count(run.tokensOut))</td>\
                <td class="num">\(DashboardFormat.cost(run.costUSD))\(run.costEstimated ? "*" : "")</td></tr>\(error)
                """
        })
        return """
            <section class="panel" id="runs"><h2>Runs</h2><div class="table-wrap"><table><thead><tr><th>#</th><th>Outcome</th>\
            <th class="num">Time</th><th class="num">Tokens in / out</th><th class="num">Cost</th></tr></thead><tbody>\(rows)</tbody></table></div></section>
            """
    }

    /// The workflow's steps with their durations; the declared ones not reached yet after them.
    static func stepsPanel(_ steps: TaskSteps) -> HTML {
        guard !steps.recorded.isEmpty || !steps.declared.isEmpty else { return .empty }
        let recorded = HTML(joining: steps.recorded.map { step in
            "<tr><td>\(step.position)</td><td>\(step.name)</td><td>\(step.state.rawValue)</td><td class=\"num\">\(DashboardFormat.duration(step.duration))</td></tr>"
        })
        let pending = HTML(joining: steps.pending.map { step in
            "<tr class=\"muted\"><td>\(step.position)</td><td>\(step.name)</td><td>pending</td><td class=\"num\">–</td></tr>"
        })
        return """
            <section class="panel" id="steps"><h2>Steps</h2><div class="table-wrap"><table><thead><tr><th>#</th><th>Step</th><th>State</th>\
            <th class="num">Took</th></tr></thead><tbody>\(recorded)\(pending)</tbody></table></div></section>
            """
    }

    /// The subtasks.
    static func childrenPanel(_ children: [AgentTask], now: Date) -> HTML {
        guard !children.isEmpty else { return .empty }
        let rows = HTML(joining: children.map { child in
            """
            <tr><td>\(DashboardFormat.state(child.state))</td><td class="prompt"><a href="/tasks/\(child.id.rawValue)">\(DashboardFormat.title(child.prompt, limit: 60))</a></td>\
            <td>\(child.agent)</td><td class="num">\(DashboardFormat.cost(child.costUSD))</td></tr>
            """
        })
        return """
            <section class="panel" id="children"><h2>Subtasks</h2><div class="table-wrap"><table><tbody>\(rows)</tbody></table></div></section>
            """
    }

    /// The files the runs kept, newest first, one per name.
    static func artifactsPanel(_ saved: [TaskEvent], task: TaskID) -> HTML {
        var seen = Set<String>()
        let items = HTML(joining: saved.compactMap { event -> HTML? in
            guard let name = event.data["name"]?.stringValue, seen.insert(name).inserted else { return nil }
            let bytes = event.data["bytes"]?.doubleValue.map { " · \(DashboardFormat.count(Int($0))) bytes" } ?? ""
            let link = "/tasks/\(task.rawValue)/artifacts/" + (name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? "")
            return "<li><a href=\"\(link)\" download>\(name)</a><span class=\"muted small\">\(bytes)</span></li>"
        })
        guard !seen.isEmpty else { return .empty }
        return "<section class=\"panel\" id=\"artifacts\"><h2>Artifacts</h2><ul>\(items)</ul></section>"
    }

    /// The latest diff, coloured line by line.
    static func diffPanel(_ event: TaskEvent?) -> HTML {
        guard let event, let patch = event.data["patch"]?.stringValue else { return .empty }
        let lines = HTML(joining: patch.split(separator: "\n", omittingEmptySubsequences: false).map { line -> HTML in
            let kind = if line.hasPrefix("+++") || line.hasPrefix("---") || line.hasPrefix("diff --git") { "file" }
                else if line.hasPrefix("@@") { "hunk" }
                else if line.hasPrefix("+") { "add" }
                else if line.hasPrefix("-") { "del" }
                else { "" }
            return "<span class=\"\(kind)\">\(String(line))</span>"
        })
        let figures = [
            event.data["files_changed"]?.doubleValue.map { "\(Int($0)) files" },
            event.data["insertions"]?.doubleValue.map { "+\(Int($0))" },
            event.data["deletions"]?.doubleValue.map { "−\(Int($0))" },
        ].compactMap { $0 }.joined(separator: " ")
        let cut: HTML = event.data["truncated"] == true ? "<p class=\"muted small\">The patch is cut; <code>nightshift diff</code> has the stat.</p>" : .empty
        return "<section class=\"panel\" id=\"diff\"><h2>Diff <span class=\"muted small\">\(figures)</span></h2><div class=\"diff\">\(lines)</div>\(cut)</section>"
    }
}
