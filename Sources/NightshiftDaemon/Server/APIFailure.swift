import Foundation
import Hummingbird
import Nightshift
import NIOCore

/// An error answered as `{"error":{"code","message","field"}}` with its HTTP status.
public struct APIFailure: Error, HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// The stable error code (`invalid_input`, `not_found`, …).
    public var code: String
    /// A sentence for a person.
    public var message: String
    /// The request field at fault, if any.
    public var field: String?
    /// Headers the answer carries besides the JSON body (`Retry-After`, `Allow`).
    public var headers: HTTPFields

    /// Creates a failure.
    public init(_ status: HTTPResponse.Status, code: String, message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    /// The failure for any error a route or the framework threw.
    public init(_ error: any Error) {
        switch error {
        case let failure as APIFailure:
            self = failure
        case let error as NightshiftError:
            let status: HTTPResponse.Status = switch error.code {
            case .notFound: .notFound
            case .illegalTransition, .conflict: .conflict
            case .queueFull: .tooManyRequests
            case .budgetExceeded: HTTPResponse.Status(code: 402, reasonPhrase: "Payment Required")
            case .storeUnavailable: .serviceUnavailable
            case .invalidInput where error.field == "cursor" || error.field == "body": .badRequest
            default: .unprocessableContent
            }
            self.init(status, code: error.code.rawValue, message: error.message, field: error.field)
        case let error as JSONParseError:
            self.init(.badRequest, code: "invalid_json", message: "malformed JSON: \(error.reason) at byte \(error.offset)", field: "body")
        case let error as HTTPResponseError:
            switch error.status {
            case .notFound: self.init(.notFound, code: "not_found", message: "no such route")
            case .contentTooLarge: self.init(.contentTooLarge, code: "payload_too_large", message: "the request body is larger than \(APIServer.maxBodyBytes) bytes")
            case .methodNotAllowed: self.init(.methodNotAllowed, code: "method_not_allowed", message: "method not allowed on this route")
            default: self.init(error.status, code: "http_error", message: "\(error)")
            }
        default:
            self.init(.internalServerError, code: "internal", message: "\(error)")
        }
    }

    /// The JSON body.
    public var json: JSONValue {
        WireErrorBody(error: .init(code: code, message: message, field: field)).json
    }

    /// The response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        answer
    }

    /// The JSON answer with its status and headers.
    var answer: Response {
        var response = APIServer.json(json, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

/// Answers every error, including unknown routes and oversized bodies, in the JSON error shape.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let failure = APIFailure(error)
            if failure.status == .internalServerError {
                context.logger.error("request failed", metadata: ["nightshift.error": "\(error)", "nightshift.path": "\(request.uri.path)"])
            }
            return failure.answer
        }
    }
}

/// While the engine drains at shutdown, answers every route but `/healthz` with 503 and a
/// `Retry-After` of the grace left: the listener stays open, so clients learn to come back
/// rather than being refused.
struct DrainingMiddleware<Context: RequestContext>: RouterMiddleware {
    let engine: Engine

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let deadline = engine.drainDeadline, request.uri.path != "/healthz" else { return try await next(request, context) }
        let left = max(1, Int((deadline - .now).components.seconds) + 1)
        throw APIFailure(
            .serviceUnavailable, code: "shutting_down",
            message: "the daemon is shutting down; try again in \(left) s, or at another node",
            headers: [.retryAfter: "\(left)"])
    }
}
