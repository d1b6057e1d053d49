import Foundation
import Hummingbird
import Nightshift

/// What the task list shows: the filters of its form (state, agent, label, lane, text) and where
/// the page starts. The store's keyset listing does the filtering but the text, which is matched
/// here on the pages the store answers.
struct TaskListFilter: Sendable, Hashable {
    /// Only tasks in this state.
    var state: TaskState?
    /// Only tasks of this agent.
    var agent: String?
    /// Only tasks with this label.
    var label: String?
    /// Only tasks in this lane.
    var lane: String?
    /// Only tasks whose prompt, id, labels, result or error contain this (any case).
    var text: String?
    /// Where the page starts.
    var cursor: TaskCursor?

    /// Rows on a page.
    static let pageSize = 50
    /// The most tasks one text search reads before it answers what it found, with a link that
    /// goes on from there: a rare text never turns into a scan of the whole store in one request.
    static let textScanLimit = 2_000

    /// No filter.
    init() {}

    /// The filters of a request's query string, as its form sent them (`+` a space); an empty
    /// field is no filter, an unknown state is refused naming `state`.
    init(_ request: Request) throws {
        try self.init(DashboardForm(encoded: request.uri.query ?? ""))
    }

    /// The filters of the form's fields.
    init(_ form: DashboardForm) throws {
        func value(_ name: String) -> String? {
            form[name].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        if let text = value("state") {
            guard let state = TaskState(rawValue: text) else {
                throw NightshiftError.invalid("state", "expected one of \(TaskState.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            self.state = state
        }
        agent = value("agent")
        label = value("label")
        lane = value("lane")
        text = value("q")
        cursor = try value("cursor").map { try TaskCursor(text: $0) }
    }

    /// Whether any filter is set.
    var isFiltered: Bool { state != nil || agent != nil || label != nil || lane != nil || text != nil }

    /// The store query for these filters (the text is not the store's).
    func query(limit: Int) -> TaskQuery {
        var query = TaskQuery()
        query.states = state.map { [$0] } ?? []
        query.agent = agent
        query.label = label
        query.lane = lane
        query.cursor = cursor
        query.limit = limit
        return query
    }

    /// Whether `task` passes every filter (for a row the live list is told of).
    func accepts(_ task: AgentTask) -> Bool {
        if let state, task.state != state { return false }
        if let agent, task.agent != agent { return false }
        if let label, !task.labels.contains(label) { return false }
        if let lane, task.lane != lane { return false }
        if task.archivedAt != nil { return false }
        return matchesText(task)
    }

    /// Whether `task` contains the text filter (in any case), if there is one.
    func matchesText(_ task: AgentTask) -> Bool {
        guard let text else { return true }
        let fields = [task.prompt, task.id.rawValue, task.result ?? "", task.error ?? ""] + task.labels
        return fields.contains { $0.range(of: text, options: .caseInsensitive) != nil }
    }

    /// One page of the list: the store's page as it is, or with a text filter the matches among
    /// at most ``textScanLimit`` tasks read in the store's order (the next page goes on after the
    /// last task read).
    func page(in scope: WorkspaceScope) async throws -> TaskPage {
        guard text != nil else { return try await scope.listTasks(query(limit: Self.pageSize)) }
        var query = query(limit: TaskQuery.maxLimit)
        var found: [AgentTask] = []
        var read = 0
        while true {
            let page = try await scope.listTasks(query)
            for task in page.tasks {
                read += 1
                if matchesText(task) {
                    found.append(task)
                    if found.count == Self.pageSize { return TaskPage(tasks: found, nextCursor: TaskCursor(after: task.id)) }
                }
            }
            guard let next = page.nextCursor else { return TaskPage(tasks: found, nextCursor: nil) }
            if read >= Self.textScanLimit { return TaskPage(tasks: found, nextCursor: next) }
            query.cursor = next
        }
    }

    /// The query string of these filters (without the cursor unless asked), for links and forms.
    func queryString(cursor: TaskCursor? = nil) -> String {
        var items: [(String, String)] = []
        if let state { items.append(("state", state.rawValue)) }
        if let agent { items.append(("agent", agent)) }
        if let label { items.append(("label", label)) }
        if let lane { items.append(("lane", lane)) }
        if let text { items.append(("q", text)) }
        if let cursor { items.append(("cursor", cursor.text)) }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return items.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }
}
