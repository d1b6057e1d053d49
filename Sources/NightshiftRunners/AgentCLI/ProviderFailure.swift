import Foundation
import Nightshift

/// What an agent CLI's own words say about a failed run: the provider's message unwrapped into
/// readable text, and whether another attempt can help.
///
/// The CLIs pass the provider's errors through in several wrappings: `API Error: 404 {"type":"error",
/// "error":{"type":"not_found_error","message":"model: …"}}` (Claude Code), a JSON text as the whole
/// message (Codex: `{"type":"error","status":400,"error":{…}}`, or `{"detail":"…"}`), brackets
/// (Gemini: `[API Error: …]`), or plain text.
/// ``classify(_:status:now:)`` finds the innermost message and the HTTP status, then decides:
///
/// - **permanent** (fail at once, no retry): authentication (401, 403, "Not logged in", "Invalid API
///   key"), a model that does not exist or is not available (404, "model … not supported"), a request
///   the provider refuses as invalid (400, 413, 422: another attempt sends the same request);
/// - **usage limit**: the plan's quota is spent ("usage limit", "hit your limit", "quota"): its own
///   kind, with the reset time when the text gives one;
/// - **transient** (retryable): everything else — overloaded (529), 5xx, 408, 429 rate limits,
///   network errors, and anything not recognised.
struct ProviderFailure: Sendable, Hashable {
    /// A closed set that may grow.
    struct Kind: Sendable, Hashable, CustomStringConvertible {
        /// The kind's name.
        let name: String
        /// Credentials missing, expired or refused.
        static let authentication = Kind(name: "authentication")
        /// The model does not exist or this account cannot use it.
        static let model = Kind(name: "model")
        /// The provider refused the request as invalid.
        static let invalidRequest = Kind(name: "invalid_request")
        /// The plan's usage limit is reached.
        static let usageLimit = Kind(name: "usage_limit")
        /// Anything another attempt may fix.
        static let transient = Kind(name: "transient")

        /// The name.
        var description: String { name }
    }

    /// What kind of failure it is.
    var kind: Kind
    /// The provider's message, unwrapped: no JSON text, one line.
    var message: String
    /// The HTTP status, when the text gives one.
    var status: Int?
    /// For a usage limit: when it resets, when the text says.
    var resetsAt: Date?

    /// Whether another attempt may help (a usage limit may, once it resets).
    var retryable: Bool { kind == .transient || kind == .usageLimit }

    /// The outcome of a run that failed this way: `prefix: message`, failed (retryable or not) or
    /// a usage limit.
    func outcome(_ prefix: String, usage: RunUsage) -> RunOutcome {
        let text = "\(prefix): \(message)"
        if kind == .usageLimit { return .usageLimit(text, resetsAt: resetsAt, usage: usage) }
        return .failed(text, retryable: retryable, usage: usage)
    }

    /// Classifies `text` (a result, an error event, a stderr line) given the HTTP `status` when the
    /// CLI reported one apart from the text. `now` anchors relative reset times ("try again in 2 hours").
    static func classify(_ text: String, status: Int? = nil, now: Date = Date()) -> ProviderFailure {
        let (message, innerStatus, innerType) = unwrap(text)
        let status = status ?? innerStatus ?? leadingStatus(text) ?? statusMention(text)
        let lower = (text + " " + (innerType ?? "")).lowercased()
        let kind: Kind
        if UsageLimitText.matches(lower) {
            kind = .usageLimit
        } else if status == 401 || status == 403 || authenticationWords.contains(where: lower.contains) {
            kind = .authentication
        } else if status == 404 || modelWords.contains(where: lower.contains) {
            kind = .model
        } else if let status, [400, 413, 422].contains(status), !transientWords.contains(where: lower.contains) {
            kind = .invalidRequest
        } else {
            kind = .transient
        }
        var failure = ProviderFailure(kind: kind, message: message, status: status)
        if kind == .usageLimit { failure.resetsAt = UsageLimitText.resetTime(in: text, now: now) }
        if let status, !failure.message.contains(String(status)) { failure.message += " (HTTP \(status))" }
        return failure
    }

    private static let authenticationWords = [
        "not logged in", "please run /login", "invalid api key", "invalid x-api-key", "authentication_error",
        "authentication failed", "unauthorized", "oauth token has expired", "invalid bearer token", "api key not valid",
        "permission_error", "credit balance is too low",
    ]
    private static let modelWords = [
        "not_found_error", "model is not supported", "model not found", "does not exist or you do not have access",
        "issue with the selected model", "model_not_found", "unknown model", "is not found for api version",
    ]
    private static let transientWords = ["overloaded", "timeout", "timed out", "try again later"]

    /// The innermost message of `text`, the status and the error type found in its JSON, if any.
    static func unwrap(_ text: String) -> (message: String, status: Int?, type: String?) {
        var trimmed = text.trimmingWhitespace()
        // Gemini brackets the provider's words: `[API Error: Requested entity was not found.]`.
        if trimmed.hasPrefix("[API Error: "), trimmed.hasSuffix("]") {
            trimmed = String(trimmed.dropFirst("[API Error: ".count).dropLast()).trimmingWhitespace()
        }
        guard let open = trimmed.firstIndex(of: "{"), let close = trimmed.lastIndex(of: "}"), open < close,
              let object = try? JSONValue(jsonText: String(trimmed[open...close])), object.objectValue != nil
        else { return (firstLine(trimmed), nil, nil) }
        // `status` or `code` at the top (Codex, Gemini's `-o json`), or in `error` (Google's API body:
        // `{"error":{"code":503,"message":…,"status":"UNAVAILABLE"}}`).
        var status = AgentEventData.int(object["status"]) ?? AgentEventData.int(object["code"])
            ?? AgentEventData.int(object["error"]?["code"])
        var type = object["error"]?["type"]?.stringValue ?? object["type"]?.stringValue
        let found = object["error"]?["message"]?.stringValue ?? object["message"]?.stringValue
            ?? object["detail"]?.stringValue ?? object["error"]?.stringValue
        guard let found else { return (firstLine(trimmed), status, type) }
        // A message may itself be a JSON text (Codex wraps the API's error body this way).
        let inner = unwrap(found)
        status = inner.status ?? status
        if type == "error" || type == nil { type = inner.type ?? type }
        var message = inner.message
        if let type, type != "error", !message.contains(type) { message += " (\(type))" }
        return (message, status, type)
    }

    /// `API Error: 404 …` / `429 Too Many Requests`: the status a line starts with, if any.
    static func leadingStatus(_ text: String) -> Int? {
        var rest = Substring(text.trimmingWhitespace())
        if rest.lowercased().hasPrefix("api error:") { rest = rest.dropFirst("api error:".count).drop(while: \.isWhitespace) }
        let digits = rest.prefix(while: \.isNumber)
        guard digits.count == 3, let status = Int(digits), (400...599).contains(status) else { return nil }
        return status
    }

    /// `last status: 401 Unauthorized`, `status 429`: a status the text names, if any.
    static func statusMention(_ text: String) -> Int? {
        guard let range = text.range(of: #"[Ss]tatus:? [45]\d\d\b"#, options: .regularExpression) else { return nil }
        return Int(text[range].suffix(3))
    }

    /// The first line that says something.
    static func firstLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { String($0).trimmingWhitespace() }.first { !$0.isEmpty } ?? ""
    }
}
