import Foundation
import Hummingbird
import Nightshift

/// The handlers of a task's inbox (inputs) and of the actions that take an optional body: wake
/// (with a prompt), drop and cancel (with a reason).
extension APIServer {
    /// `POST /v1/tasks/{id}/inputs`: 201 with the input, 200 with the first one for a repeated
    /// `Idempotency-Key`. The sender is the request's token.
    func addInput(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let id = try Self.taskID(context)
        let key = try Self.idempotencyKey(request)
        let wire = try WireInputRequest(body: try await Self.body(request))
        let input = try wire.newInput(sender: try Self.sender(context), idempotencyKey: key)
        let receipt = try await scope(context).addInput(input, to: id)
        return Self.reply(WireInput(receipt.input), status: receipt.created ? .created : .ok)
    }

    /// `GET /v1/tasks/{id}/inputs`: the task's inputs in order, each with its delivery state.
    func listInputs(_ context: APIRequestContext) async throws -> Response {
        let inputs = try await scope(context).inputs(of: try Self.taskID(context))
        return Self.reply(WireInputList(inputs: inputs.map(WireInput.init)))
    }

    /// `POST /v1/tasks/{id}/wake`: without a prompt, the lifecycle's `wake`; with one, a message
    /// to the inbox that must wake the task (refused unless it is waiting). Answers the task.
    func wake(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let id = try Self.taskID(context)
        let wire = try await Self.optionalBody(request).map { try WireWakeRequest(body: $0) } ?? WireWakeRequest()
        let scope = try scope(context)
        guard let prompt = try wire.checkedPrompt() else { return Self.reply(WireTask(try await scope.transition(id, .wake))) }
        let input = NewInput(kind: .message, text: prompt, sender: try Self.sender(context), forcesWake: true)
        return Self.reply(WireTask(try await scope.addInput(input, to: id).task))
    }

    /// `POST /v1/tasks/{id}/drop` and `/cancel`: the action, with the body's optional reason
    /// (which becomes the task's `error`). An empty body is an action without a reason.
    func end(_ action: LifecycleAction, _ request: Request, _ context: APIRequestContext) async throws -> Response {
        let id = try Self.taskID(context)
        let wire = try await Self.optionalBody(request).map { try WireDropRequest(body: $0) } ?? WireDropRequest()
        return Self.reply(WireTask(try await scope(context).transition(id, action, reason: try wire.checkedReason())))
    }

    /// Who an input comes from: `token:` and the request's token id.
    static func sender(_ context: APIRequestContext) throws -> String {
        "token:" + (try principal(context).tokenID)
    }
}
