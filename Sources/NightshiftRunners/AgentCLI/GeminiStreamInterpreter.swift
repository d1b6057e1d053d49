import Foundation
import Nightshift

/// Reads `gemini --output-format=stream-json` output (the `JsonStreamEvent`s of google-gemini/gemini-cli
/// `packages/core/src/output/types.ts`), one JSON object a line, into task events, and remembers
/// what decides the outcome.
///
/// The result text is the assistant text of the last turn that had any: the text after the last
/// tool call, or, when the model said nothing after it, the text before. Tokens come only with the
/// `result` event: a killed run records none.
struct GeminiStreamInterpreter: AgentJSONStreamInterpreter {
    /// Prices for the cost estimate.
    let prices: PriceTable
    /// The line length over which the reader cuts lines (reported in the warning).
    let lineLimit: Int
    /// The model: the `init` event's, else the config's.
    private(set) var model: String?
    /// The model that did most of the work by the `result`'s stats (the one with the most tokens;
    /// `init` may name only a router alias, such as `auto-gemini-3`).
    private(set) var usedModel: String?
    /// The session id (`init`), used to resume.
    private(set) var sessionID: String?
    /// The `result` event's status (`success` or `error`), once it came.
    private(set) var resultStatus: String?
    /// The assistant text of the last turn that had any.
    private(set) var resultText = ""
    /// The `result` event's error message, else the last error event's of severity `error`.
    var errorMessage: String? { resultError ?? lastError }
    private var resultError: String?
    private var lastError: String?
    private var toolSinceText = false
    private var toolNames: [String: String] = [:]
    private var tokens = PriceTable.Tokens()
    private var cost = 0.0
    private var toolCalls: [String: Int] = [:]

    /// An interpreter for a run of `model` (the config's, if set) whose lines are cut at `lineLimit` bytes.
    init(model: String?, prices: PriceTable, lineLimit: Int) {
        self.model = model
        self.prices = prices
        self.lineLimit = lineLimit
    }

    /// Tokens and the estimated cost (0 without a price) of the `result` event, the session id, the
    /// tool calls seen so far and the model (``usedModel``, else ``model``).
    var usage: RunUsage {
        RunUsage(
            tokensIn: tokens.uncachedInput, tokensOut: tokens.output, cacheReadTokens: tokens.cachedInput,
            costUSD: cost, costEstimated: true, agentSessionID: sessionID, toolCalls: toolCalls, model: usedModel ?? model)
    }

    /// The task events of one event line; remembers what the outcome and usage need.
    mutating func handle(event type: String, _ event: [String: JSONValue]) -> [Event] {
        switch type {
        case "init":
            guard let id = event["session_id"]?.stringValue else { return [("log", AgentEventData.malformed(type, "without a session_id", event))] }
            sessionID = id
            if let named = event["model"]?.stringValue { model = named }
            var data: [String: JSONValue] = ["session_id": .string(id)]
            if let model { data["model"] = .string(model) }
            return [("session", .object(data))]
        case "message":
            // The user message echoes the prompt, which the task already has.
            guard event["role"]?.stringValue == "assistant" else { return [] }
            let text = Self.text(of: event["content"])
            if toolSinceText {
                resultText = ""
                toolSinceText = false
            }
            resultText += text
            var data: [String: JSONValue] = ["text": .string(text)]
            if event["delta"] == true { data["delta"] = true }
            return [("assistant", .object(data))]
        case "tool_use":
            toolSinceText = true
            let (id, name) = (event["tool_id"]?.stringValue, event["tool_name"]?.stringValue ?? "tool")
            if let id { toolNames[id] = name }
            toolCalls[name, default: 0] += 1
            return [("tool_call", AgentEventData.toolCall(id: id, name: name, input: event["parameters"] ?? [:]))]
        case "tool_result":
            toolSinceText = true
            let id = event["tool_id"]?.stringValue
            let error = event["error"]?["message"]?.stringValue
            let content = event["output"]?.stringValue ?? error ?? ""
            let isError = event["status"]?.stringValue == "error" || error != nil
            var extra: [String: JSONValue] = [:]
            if let type = event["error"]?["type"]?.stringValue { extra["error_type"] = .string(type) }
            if let error, error != content { extra["error"] = .string(error) }
            return [("tool_result", AgentEventData.toolResult(
                id: id, name: id.flatMap { toolNames[$0] }, isError: isError, content: content, extra: extra))]
        case "error":
            let message = event["message"]?.stringValue ?? "error"
            let severity = event["severity"]?.stringValue ?? "error"
            if severity == "error" { lastError = message }
            return [("error", ["message": .string(message), "severity": .string(severity)])]
        case "result":
            return result(event)
        default:
            return [("log", AgentEventData.unknownType(type, event))]
        }
    }

    /// Records the final status, tokens and cost; priced per model when the stats break tokens down
    /// by model (a run may use a second model, for routing or a fallback).
    private mutating func result(_ event: [String: JSONValue]) -> [Event] {
        let status = event["status"]?.stringValue ?? "error"
        resultStatus = status
        resultError = event["error"]?["message"]?.stringValue
        var events: [Event] = []
        let stats = event["stats"]?.objectValue ?? [:]
        tokens = Self.tokens(stats)
        let models = stats["models"]?.objectValue ?? [:]
        // Most tokens first; ties: the first by name.
        usedModel = models.max {
            (AgentEventData.int($0.value["total_tokens"]) ?? 0, $1.key) < (AgentEventData.int($1.value["total_tokens"]) ?? 0, $0.key)
        }?.key
        var perModel = models.mapValues { Self.tokens($0.objectValue ?? [:]) }
        if perModel.isEmpty, tokens != PriceTable.Tokens() {
            perModel = [model ?? "": tokens]
        }
        cost = 0
        for (name, modelTokens) in perModel.sorted(by: { $0.key < $1.key }) {
            if let modelCost = prices.cost(of: modelTokens, model: name) {
                cost += modelCost
            } else {
                events.append(("log", PriceTable.missingPrice(model: name.isEmpty ? nil : name)))
            }
        }
        var data: [String: JSONValue] = [
            "text": .string(resultText), "is_error": .bool(status != "success"), "cost_usd": .double(cost),
            "usage": [
                "input_tokens": .int(Int64(tokens.uncachedInput)), "output_tokens": .int(Int64(tokens.output)),
                "cache_read_tokens": .int(Int64(tokens.cachedInput)), "cache_write_tokens": 0,
            ],
        ]
        if let type = event["error"]?["type"]?.stringValue { data["subtype"] = .string(type) }
        if let message = errorMessage, status != "success" { data["error"] = .string(message) }
        if let duration = stats["duration_ms"] { data["duration_ms"] = duration }
        if let calls = stats["tool_calls"] { data["tool_calls"] = calls }
        events.insert(("result", .object(data)), at: 0)
        return events
    }

    /// The tokens of a `stats` object or one model's entry: `input_tokens` count the cached ones,
    /// `input` the rest. Thought tokens have no member of their own: they are the rest of
    /// `total_tokens` (`total_tokens − input_tokens − output_tokens`), and billed as output, so
    /// they count as output here.
    private static func tokens(_ stats: [String: JSONValue]) -> PriceTable.Tokens {
        let cached = AgentEventData.int(stats["cached"]) ?? 0
        let inputTokens = AgentEventData.int(stats["input_tokens"]) ?? 0
        let uncached = AgentEventData.int(stats["input"]) ?? max(inputTokens - cached, 0)
        let output = AgentEventData.int(stats["output_tokens"]) ?? 0
        let thoughts = max((AgentEventData.int(stats["total_tokens"]) ?? 0) - max(inputTokens, uncached + cached) - output, 0)
        return PriceTable.Tokens(uncachedInput: uncached, cachedInput: cached, output: output + thoughts)
    }

    /// Message content as text: a string as is; parts (`[{text}]`) joined; anything else as JSON.
    static func text(of content: JSONValue?) -> String {
        switch content {
        case .string(let text)?: return text
        case .array(let parts)?: return parts.map { $0["text"]?.stringValue ?? $0.stringValue ?? $0.jsonText }.joined()
        case .object(let object)?: return object["text"]?.stringValue ?? JSONValue.object(object).jsonText
        case nil, .null?: return ""
        case let other?: return other.jsonText
        }
    }
}
