import Foundation
import Nightshift

extension NightshiftClient {
    /// The answer to ``addInput(taskID:kind:text:decisions:idempotencyKey:)``: the input, and whether
    /// it is new (201) or the first one sent with the same idempotency key (200).
    public struct InputAdded: Sendable, Hashable {
        /// The input.
        public var input: WireInput
        /// True for a new input; false when the idempotency key matched an earlier one.
        public var created: Bool

        /// An answer to an input.
        public init(input: WireInput, created: Bool) {
            self.input = input
            self.created = created
        }
    }

    /// `POST /v1/tasks/{id}/inputs`: sends the task a message, an answer, or an approve or reject of
    /// what it waits for. ``APIError`` 409 `illegal_transition` when the task has finished, or for
    /// an approve or reject the task does not wait for; 422 naming `text` for an empty message or answer.
    public func addInput(
        taskID: String, kind: InputKind, text: String? = nil, decisions: JSONValue? = nil, idempotencyKey: String? = nil
    ) async throws -> InputAdded {
        let path = "/v1/tasks/\(Self.escapePath(taskID))/inputs"
        let body = WireInputRequest(kind: kind.rawValue, text: text, decisions: decisions).json
        let (status, answer) = try await send(.POST, path, body: body, headers: idempotencyKey.map { [("Idempotency-Key", $0)] } ?? [])
        return InputAdded(input: try Self.read(WireInput.self, answer, "POST \(path)"), created: status == 201)
    }

    /// `GET /v1/tasks/{id}/inputs`: the task's inputs in the order they arrived, each with its delivery state.
    public func inputs(taskID: String) async throws -> [WireInput] {
        try await fetch(.GET, "/v1/tasks/\(Self.escapePath(taskID))/inputs", as: WireInputList.self).inputs
    }

    /// `POST /v1/tasks/{id}/wake`: wakes a waiting task now; with `prompt`, the agent continues
    /// with it. Answers the task (``APIError`` 409 when it is not waiting).
    public func wake(taskID: String, prompt: String? = nil) async throws -> WireTask {
        try await fetch(.POST, "/v1/tasks/\(Self.escapePath(taskID))/wake", body: prompt.map { WireWakeRequest(prompt: $0).json })
    }

    /// `POST /v1/tasks/{id}/drop`: drops a task that is queued, waiting or paused; `reason` becomes
    /// its error. Answers the task.
    public func drop(taskID: String, reason: String? = nil) async throws -> WireTask {
        try await fetch(.POST, "/v1/tasks/\(Self.escapePath(taskID))/drop", body: reason.map { WireDropRequest(reason: $0).json })
    }

    /// `POST /v1/tasks/{id}/cancel` with `reason`, which becomes the task's error (without one, as
    /// ``cancel(_:)``). Answers the task.
    public func cancel(taskID: String, reason: String?) async throws -> WireTask {
        try await fetch(.POST, "/v1/tasks/\(Self.escapePath(taskID))/cancel", body: reason.map { WireDropRequest(reason: $0).json })
    }
}
