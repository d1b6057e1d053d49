import Foundation
import Hummingbird
import Nightshift

/// `/needs-you`: every task waiting for a person (an answer or an approval), the most recent
/// wait first, with its question and the forms that answer it.
extension Dashboard {
    /// The most waiting tasks the page reads.
    static let needsYouLimit = 1_000

    func needsYouPage(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let scope = try server.scope(context)
        let csrf = DashboardCredential.csrf(request)
        var query = TaskQuery()
        query.states = [.waiting]
        query.limit = TaskQuery.maxLimit
        var waiting: [AgentTask] = []
        while waiting.count < Self.needsYouLimit {
            let page = try await scope.listTasks(query)
            waiting += page.tasks.filter { $0.waitingFor?.kind == .input || $0.waitingFor?.kind == .approval }
            guard let next = page.nextCursor else { break }
            query.cursor = next
        }
        // A wait began with the task's last move (into `waiting`); its last change may be later
        // (a new priority), so it is not the key.
        var waits: [(task: AgentTask, since: Date)] = []
        for task in waiting {
            waits.append((task, try await scope.events(task: task.id, type: "state", limit: 1).first?.time ?? task.updatedAt))
        }
        waits.sort { ($0.since, $0.task.id.rawValue) > ($1.since, $1.task.id.rawValue) }
        let now = Date()
        let items = HTML(joining: waits.map { task, since in
            return """
                <section class="panel" id="wait-\(task.id.rawValue)"><h2><a href="/tasks/\(task.id.rawValue)">\(DashboardFormat.title(task.prompt, limit: 100))</a></h2>
                <p class="muted small">\(task.agent) · waiting since \(DashboardFormat.time(since, now: now)) · \(DashboardFormat.cost(task.costUSD))</p>
                \(Self.inbox(task, inputs: [], csrf: csrf, back: "/needs-you"))</section>
                """
        })
        let body: HTML = """
            <h1>Needs you <span class="muted">\(waiting.count)</span></h1>
            \(waiting.isEmpty ? HTML("<section class=\"panel\"><p class=\"muted\">Nothing waits for you.</p></section>") : items)
            """
        return DashboardLayout.page("Needs you", section: .needsYou, request: request, principal: context.principal, body: body)
    }
}
