import Foundation
import Nightshift

extension NightshiftClient {
    /// `GET /v1/tasks/{id}/children`: the task's subtasks (its children only), oldest first
    /// (``APIError`` 404 for an unknown task).
    public func children(taskID: String) async throws -> [WireTask] {
        try await fetch(.GET, "/v1/tasks/\(Self.escapePath(taskID))/children", as: WireSubtaskList.self).tasks
    }
}
