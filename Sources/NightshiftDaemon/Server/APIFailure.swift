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

    /// Creates a failure.
    public init(_ status: HTTPResponse.Status, code: String, message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
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
        ["error": ["code": .string(code), "message": .string(message), "field": field.map(JSONValue.string) ?? .null]]
    }

    /// The response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        APIServer.json(json, status: status)
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
            return APIServer.json(failure.json, status: failure.status)
        }
    }
}
