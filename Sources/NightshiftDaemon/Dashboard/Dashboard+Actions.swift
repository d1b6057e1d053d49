import Foundation
import Hummingbird
import Nightshift

/// The buttons of a task's page, each the lifecycle action of the same name.
enum TaskButton: String, CaseIterable, Sendable {
    case cancel, retry, pause, resume, wake

    /// The lifecycle action.
    var action: LifecycleAction {
        switch self {
        case .cancel: .cancel
        case .retry: .retry
        case .pause: .pause
        case .resume: .resume
        case .wake: .wake
        }
    }

    /// Whether the lifecycle allows the action from `state` (so the page offers the button).
    func allowed(from state: TaskState, task: TaskID) -> Bool {
        (try? Lifecycle.next(from: state, on: action, task: task)) != nil
    }
}

/// The forms of a task's page: its lifecycle buttons and its inbox.
extension Dashboard {
    /// `POST /tasks/{id}/{cancel|retry|pause|resume|wake}`: the action, then back to the page.
    func perform(_ button: TaskButton, _ request: Request, _ context: APIRequestContext) async throws -> Response {
        var request = request
        let form = try await DashboardForm(request: &request)
        try Self.requireMember(context)
        let id = try APIServer.taskID(context)
        _ = try await server.scope(context).transition(id, button.action)
        return Self.redirect(back: form["back"], fallback: "/tasks/\(id.rawValue)")
    }

    /// `POST /tasks/{id}/input` (`kind` answer, approve, reject or message; `text`): adds the
    /// input to the task's inbox as the API does, sent by the session's token; then back.
    func sendInput(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        var request = request
        let form = try await DashboardForm(request: &request)
        try Self.requireMember(context)
        let id = try APIServer.taskID(context)
        guard let kind = form["kind"].flatMap(InputKind.init(rawValue:)) else {
            throw DashboardFailure(.badRequest, "Choose what to send: an answer, an approval, a rejection or a message.")
        }
        let text = form["text"].flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        let input = NewInput(kind: kind, text: text, sender: try APIServer.sender(context), idempotencyKey: form["key"])
        _ = try await server.scope(context).addInput(input, to: id)
        return Self.redirect(back: form["back"], fallback: "/tasks/\(id.rawValue)")
    }
}
