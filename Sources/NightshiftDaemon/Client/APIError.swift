import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Nightshift

extension NightshiftClient {
    /// Why a request to the Nightshift API failed: the daemon answered with an error, could not be
    /// reached at all, or answered with something that is not the API's JSON.
    public enum APIError: Error, Sendable, CustomStringConvertible {
        /// The daemon answered with an error status and (usually) an `{"error":{…}}` body.
        case http(status: Int, code: String?, message: String, field: String?)
        /// No connection to the daemon: refused, timed out, reset before an answer.
        case unreachable(url: String, reason: String)
        /// The daemon answered, but not with what the API promises (not JSON, wrong shape).
        case invalidResponse(String)

        /// The HTTP status, for ``http(status:code:message:field:)``.
        public var status: Int? {
            if case .http(let status, _, _, _) = self { return status }
            return nil
        }

        /// The API error code (`not_found`, `invalid_input`, …), for ``http(status:code:message:field:)``.
        public var code: String? {
            if case .http(_, let code, _, _) = self { return code }
            return nil
        }

        /// The field the error is about, if the daemon named one.
        public var field: String? {
            if case .http(_, _, _, let field) = self { return field }
            return nil
        }

        /// Whether the daemon could not be reached.
        public var isUnreachable: Bool {
            if case .unreachable = self { return true }
            return false
        }

        /// Whether the daemon answered 404.
        public var isNotFound: Bool { status == 404 }

        /// Whether trying again later may help: the daemon could not be reached, or answered
        /// "try later" (502, 503 — shutting down or its store away — or 504).
        public var isTransient: Bool {
            switch self {
            case .unreachable: true
            case .http(let status, _, _, _): status == 502 || status == 503 || status == 504
            case .invalidResponse: false
            }
        }

        /// The human-readable message, without the code.
        public var message: String {
            switch self {
            case .http(_, _, let message, _): message
            case .unreachable(let url, let reason): "cannot reach the Nightshift daemon at \(url) (\(reason))"
            case .invalidResponse(let reason): "unexpected answer from the daemon: \(reason)"
            }
        }

        /// One line: the message, then the code, field and status in parentheses.
        public var description: String {
            switch self {
            case .http(let status, let code, let message, let field):
                var details = [code ?? "HTTP \(status)"]
                if let field { details.append("field \(field)") }
                return "\(message) (\(details.joined(separator: ", ")))"
            case .unreachable, .invalidResponse:
                return message
            }
        }

        /// The error for a non-2xx answer: the `{"error":{"code","message","field"}}` fields when
        /// the body has them, else the status and the start of the body.
        static func fromResponse(status: Int, body: String) -> APIError {
            if let value = try? JSONValue(jsonText: body), let error = try? WireErrorBody(json: value).error {
                return .http(status: status, code: error.code, message: error.message, field: error.field)
            }
            let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
            let message = trimmed.isEmpty ? "HTTP \(status)" : "HTTP \(status): \(trimmed.prefix(200))"
            return .http(status: status, code: nil, message: message, field: nil)
        }

        /// Sorts a transport error: connection failures become ``unreachable(url:reason:)``;
        /// anything else is returned unchanged.
        static func classify(_ error: any Error, url: String) -> any Error {
            if error is APIError || error is CancellationError { return error }
            if let reason = unreachableReason(error) {
                return APIError.unreachable(url: url, reason: reason)
            }
            return error
        }

        /// A short reason when `error` means the daemon cannot be reached, else nil.
        static func unreachableReason(_ error: any Error) -> String? {
            if let error = error as? HTTPClientError {
                switch error {
                case .connectTimeout: return "connection timed out"
                case .remoteConnectionClosed: return "connection closed by the daemon"
                case .getConnectionFromPoolTimeout: return "no connection"
                case .deadlineExceeded, .readTimeout: return "timed out"
                default: return nil
                }
            }
            if let error = error as? IOError {
                return errnoReason(error.errnoCode)
            }
            if let error = error as? NIOConnectionError {
                if let first = error.connectionErrors.first?.error { return unreachableReason(first) ?? "\(first)" }
                if error.dnsAError != nil || error.dnsAAAAError != nil { return "cannot resolve \(error.host)" }
                return "connection failed"
            }
            if let error = error as? ChannelError {
                switch error {
                case .connectTimeout: return "connection timed out"
                case .ioOnClosedChannel, .eof, .alreadyClosed, .outputClosed: return "connection closed"
                default: return nil
                }
            }
            if error is SocketAddressError { return "bad address" }
            return nil
        }

        private static func errnoReason(_ code: Int32) -> String? {
            switch code {
            case ECONNREFUSED: "connection refused"
            case ETIMEDOUT: "connection timed out"
            case ECONNRESET: "connection reset"
            case EHOSTUNREACH: "host unreachable"
            case ENETUNREACH: "network unreachable"
            case EADDRNOTAVAIL: "address not available"
            case EPIPE: "connection closed"
            default: nil
            }
        }
    }
}
