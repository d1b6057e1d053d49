import Foundation
import Hummingbird
import Nightshift

/// The handler of a task's subtasks.
extension APIServer {
    /// `GET /v1/tasks/{id}/children`: the task's subtasks, oldest first (404 for a task that is
    /// not the token's workspace's).
    func children(_ context: APIRequestContext) async throws -> Response {
        let parent = try await task(context)
        let children = try await engine.store.children(of: parent.id, workspace: parent.workspaceID)
        return Self.reply(WireSubtaskList(tasks: children.map(WireTask.init)))
    }
}
