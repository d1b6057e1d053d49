import Foundation
import Hummingbird
import Nightshift

/// The task list (`/`): filters, counts by state, one keyset page, bulk cancel and retry, and
/// the rows the script fetches again as the change feed (`/feed`) names their tasks.
extension Dashboard {
    func tasksPage(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let started = ContinuousClock.now
        let scope = try server.scope(context)
        let filter = try TaskListFilter(request)
        let page = try await filter.page(in: scope)
        let counts = try await scope.countsByState()
        let agents = try await scope.agents().map(\.name)
        let now = Date()
        let csrf = DashboardCredential.csrf(request)

        var chips = HTML.empty
        var all = filter
        all.state = nil
        all.cursor = nil
        chips += "<a href=\"/?\(all.queryString())\"\(filter.state == nil ? HTML(" class=\"active\"") : .empty)>all</a>"
        for state in TaskState.allCases {
            var one = all
            one.state = state
            let active: HTML = filter.state == state ? " class=\"active\"" : .empty
            chips += "<a href=\"/?\(one.queryString())\"\(active)>\(state.rawValue) <span class=\"muted\">\(DashboardFormat.count(counts[state] ?? 0))</span></a>"
        }

        let stateOptions = HTML(joining: [HTML("<option value=\"\">any state</option>")] + TaskState.allCases.map { state in
            "<option\(filter.state == state ? HTML(" selected") : .empty)>\(state.rawValue)</option>"
        })
        let agentOptions = HTML(joining: [HTML("<option value=\"\">any agent</option>")] + agents.map { name in
            "<option\(filter.agent == name ? HTML(" selected") : .empty)>\(name)</option>"
        })
        let rows = page.tasks.isEmpty
            ? HTML("<tr class=\"empty\"><td colspan=\"8\" class=\"muted\">No tasks match.</td></tr>")
            : HTML(joining: page.tasks.map { Self.row($0, now: now) })
        var pager = HTML.empty
        if filter.cursor != nil { pager += "<a href=\"/?\(filter.queryString())\">← Newest</a>" }
        if let next = page.nextCursor { pager += "<a href=\"/?\(filter.queryString(cursor: next))\" rel=\"next\">Older →</a>" }
        let searched: HTML = filter.text != nil && page.nextCursor != nil && page.tasks.count < TaskListFilter.pageSize
            ? "<p class=\"muted small\">Searched the \(TaskListFilter.textScanLimit) tasks after this page's start; older ones are on the next page.</p>"
            : .empty

        let body: HTML = """
            <h1>Tasks <span class="live-dot" id="live-dot" title="live updates"></span></h1>
            <div class="chips">\(chips)</div>
            <form class="filters" method="get" action="/">
            <label>State<select name="state">\(stateOptions)</select></label>
            <label>Agent<select name="agent">\(agentOptions)</select></label>
            <label>Label<input type="text" name="label" value="\(filter.label)" size="10"></label>
            <label>Lane<input type="text" name="lane" value="\(filter.lane)" size="10"></label>
            <label>Text<input type="search" name="q" value="\(filter.text)" placeholder="prompt, id, result…"></label>
            <button type="submit">Filter</button> <a class="button" href="/">Clear</a>
            </form>
            <form method="post" action="/tasks/bulk" id="bulk">\(DashboardLayout.hiddenCSRF(csrf))
            <input type="hidden" name="back" value="/?\(filter.queryString(cursor: filter.cursor))">
            <div class="actions"><button type="submit" name="action" value="cancel" class="danger" data-confirm="Cancel the selected tasks?">Cancel selected</button>
            <button type="submit" name="action" value="retry">Retry selected</button></div>
            <div class="table-wrap"><table id="task-list" data-live-list data-filter="\(filter.queryString())" data-first-page="\(filter.cursor == nil ? "true" : "false")">
            <thead><tr><th><span class="muted" title="select">✓</span></th><th>State</th><th>Task</th><th class="opt">Agent</th><th class="opt">Lane</th><th class="num">Cost</th><th class="num opt">Duration</th><th class="opt">Created</th></tr></thead>
            <tbody>\(rows)</tbody></table></div>
            </form>
            \(searched)<nav class="pager">\(pager)</nav>
            """
        return DashboardLayout.page("Tasks", section: .tasks, request: request, principal: context.principal, started: started, body: body)
    }

    /// `GET /tasks/{id}/row?<filters>`: the task's row, or 204 when it does not pass the filters
    /// (the script then takes it off the list).
    func taskRow(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let task = try await server.task(context)
        let filter = try TaskListFilter(request)
        guard filter.accepts(task) else { return Response(status: .noContent, headers: DashboardLayout.headers()) }
        return DashboardLayout.fragment(Self.row(task, now: Date()))
    }

    /// `POST /tasks/bulk`: cancels or retries every checked task that allows it; answers a page
    /// saying what was done to how many, with what refused the rest.
    func bulk(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        var request = request
        let form = try await DashboardForm(request: &request)
        let action: LifecycleAction = switch form["action"] {
        case "cancel": .cancel
        case "retry": .retry
        default: throw DashboardFailure(.badRequest, "Choose Cancel selected or Retry selected.")
        }
        try Self.requireMember(context)
        let scope = try server.scope(context)
        var done = 0
        var refused: [HTML] = []
        for text in form.all("id") {
            guard let id = TaskID(text) else { continue }
            do {
                _ = try await scope.transition(id, action)
                done += 1
            } catch {
                refused.append("<li><a href=\"/tasks/\(id.rawValue)\">\(id.rawValue)</a>: \(APIFailure(error).message)</li>")
            }
        }
        if refused.isEmpty { return Self.redirect(back: form["back"], fallback: "/") }
        let body: HTML = """
            <h1>\(action.description.capitalized): \(done) done, \(refused.count) refused</h1>
            <section class="panel"><ul>\(refused)</ul></section>
            <p><a href="\(Self.safeBack(form["back"]) ?? "/")">Back to the list</a></p>
            """
        return DashboardLayout.page("Bulk \(action.description)", section: .tasks, request: request, principal: context.principal, status: .conflict, body: body)
    }

    /// One row of the list.
    static func row(_ task: AgentTask, now: Date) -> HTML {
        let labels = HTML(joining: task.labels.map { "<span class=\"label\">\($0)</span>" })
        let waiting: HTML = task.waitingFor.map { "<div class=\"muted small\">\($0.summary)</div>" } ?? .empty
        let title = DashboardFormat.title(task.prompt)
        let duration = DashboardFormat.taskDuration(task, now: now)
        return """
            <tr id="row-\(task.id.rawValue)" data-state="\(task.state.rawValue)"><td><input type="checkbox" name="id" value="\(task.id.rawValue)" aria-label="select task \(task.id.rawValue)"></td>\
            <td>\(DashboardFormat.state(task.state))</td>\
            <td class="prompt"><a href="/tasks/\(task.id.rawValue)">\(title.isEmpty ? task.id.rawValue : title)</a> \(labels)\(waiting)</td>\
            <td class="opt">\(task.agent)</td><td class="opt">\(task.lane ?? "–")</td>\
            <td class="num">\(DashboardFormat.cost(task.costUSD))</td>\
            <td class="num opt">\(duration > 0 ? DashboardFormat.duration(duration) : "–")</td>\
            <td class="opt">\(DashboardFormat.time(task.createdAt, now: now))</td></tr>
            """
    }
}
