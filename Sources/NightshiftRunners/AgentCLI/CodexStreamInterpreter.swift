import Foundation
import Nightshift

/// Reads `codex exec --json` output (the `ThreadEvent`s of openai/codex
/// `codex-rs/exec/src/exec_events.rs`), one JSON object a line, into task events, and remembers
/// what decides the outcome.
///
/// Usage: Codex fills each `turn.completed` usage from the thread's *running total*
/// (`total_token_usage`), not the turn's own tokens, so the last one is the run's usage; adding
/// them up would count early turns again. Its `input_tokens` include the cached ones (and, we take
/// it, the `cache_write_input_tokens` of newer versions, as the API counts them); its
/// `output_tokens` include the `reasoning_output_tokens`.
///
/// `Reconnecting... n/5 (reason)` error lines are Codex retrying its stream: `retry` events, not
/// errors. A run that recovers shows none.
struct CodexStreamInterpreter: AgentJSONStreamInterpreter {
    /// The token counts of a `turn.completed` event, as Codex prints them.
    struct TokenTotals: Sendable, Hashable {
        /// All input tokens, cached ones included.
        var input = 0
        /// The input tokens read from the prompt cache.
        var cachedInput = 0
        /// The input tokens written to the prompt cache.
        var cacheWrite = 0
        /// Output tokens.
        var output = 0
    }

    /// Prices for the cost estimate.
    let prices: PriceTable
    /// The line length over which the reader cuts lines (reported in the warning).
    let lineLimit: Int
    /// The model: the config's, unless an event names one.
    private(set) var model: String?
    /// The thread id (`thread.started`), used to resume.
    private(set) var threadID: String?
    /// The thread's token totals at the last `turn.completed`.
    private(set) var totals = TokenTotals()
    /// How many `turn.completed` events came.
    private(set) var turnsCompleted = 0
    /// The text of the last completed agent message.
    private(set) var lastAgentMessage: String?
    /// The message of the last `turn.failed`.
    private(set) var turnFailure: String?
    /// The message of the last top-level `error` that was not a reconnect notice.
    private(set) var lastError: String?
    /// The last reconnect notice (`Reconnecting... 5/5 (request timed out)`).
    private(set) var lastRetry: String?
    /// File changes that failed, as readable lines: the run's warnings.
    private(set) var failedChanges: [String] = []
    /// The tool calls seen, by name: commands (`command`), MCP tools (by the tool's name), web
    /// searches (`web_search`) and file changes (`file_change`).
    private(set) var toolCalls: [String: Int] = [:]
    private var warnedAboutPrice = false

    /// An interpreter for a run of `model` (the config's, if set) whose lines are cut at `lineLimit` bytes.
    init(model: String?, prices: PriceTable, lineLimit: Int) {
        self.model = model
        self.prices = prices
        self.lineLimit = lineLimit
    }

    /// Tokens, the estimated cost (0 without a price), the thread id, the tool calls seen so far and
    /// the model (an event's, else the config's: `codex exec --json` names none today).
    var usage: RunUsage {
        let tokens = PriceTable.Tokens(
            uncachedInput: max(totals.input - totals.cachedInput - totals.cacheWrite, 0), cachedInput: totals.cachedInput,
            output: totals.output, cacheWrite: totals.cacheWrite)
        return RunUsage(
            tokensIn: tokens.uncachedInput, tokensOut: tokens.output, cacheReadTokens: tokens.cachedInput,
            cacheWriteTokens: tokens.cacheWrite, costUSD: prices.cost(of: tokens, model: model) ?? 0, costEstimated: true,
            agentSessionID: threadID, turns: turnsCompleted, toolCalls: toolCalls, model: model)
    }

    /// The task events of one event line; remembers what the outcome and usage need.
    mutating func handle(event type: String, _ event: [String: JSONValue]) -> [Event] {
        if let named = event["model"]?.stringValue { model = named }
        switch type {
        case "thread.started":
            guard let id = event["thread_id"]?.stringValue else { return [("log", AgentEventData.malformed(type, "without a thread_id", event))] }
            threadID = id
            var data: [String: JSONValue] = ["session_id": .string(id)]
            if let model { data["model"] = .string(model) }
            return [("session", .object(data))]
        case "turn.started":
            return [("turn", ["phase": "started"])]
        case "turn.completed":
            return turnCompleted(event)
        case "turn.failed":
            let message = event["error"]?["message"]?.stringValue ?? "turn failed"
            turnFailure = message
            return [("turn", ["phase": "failed", "error": .string(ProviderFailure.unwrap(message).message)])]
        case "item.started", "item.updated", "item.completed":
            guard let item = event["item"]?.objectValue else { return [("log", AgentEventData.malformed(type, "without an item", event))] }
            return self.item(item, completed: type == "item.completed", started: type == "item.started", event: event)
        case "error":
            let message = event["message"]?.stringValue ?? "error"
            if let retry = Self.reconnect(message) {
                lastRetry = message
                return [("retry", retry)]
            }
            lastError = message
            return [("error", Self.errorData(message))]
        default:
            return [("log", AgentEventData.unknownType(type, event))]
        }
    }

    /// `Reconnecting... 2/5 (reason)` as `{message, attempt, max_attempts, reason?}`; `nil` for any
    /// other message.
    static func reconnect(_ message: String) -> JSONValue? {
        guard let range = message.range(of: #"^Reconnecting(\.\.\.|…) ?(\d+)/(\d+)"#, options: .regularExpression) else { return nil }
        let counts = message[range].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        var data: [String: JSONValue] = ["message": .string(message)]
        if counts.count == 2 {
            data["attempt"] = .int(Int64(counts[0]))
            data["max_attempts"] = .int(Int64(counts[1]))
        }
        let rest = String(message[range.upperBound...]).trimmingWhitespace()
        if rest.hasPrefix("("), rest.hasSuffix(")") { data["reason"] = .string(String(rest.dropFirst().dropLast())) }
        return .object(data)
    }

    /// An error's data: the provider's message unwrapped, and the raw text when it differs.
    static func errorData(_ message: String) -> JSONValue {
        let readable = ProviderFailure.unwrap(message).message
        return readable == message ? ["message": .string(message)] : ["message": .string(readable), "raw": .string(message)]
    }

    /// Takes the thread's totals; warns once when the model has no price.
    private mutating func turnCompleted(_ event: [String: JSONValue]) -> [Event] {
        turnsCompleted += 1
        var data: [String: JSONValue] = ["phase": "completed"]
        if let reported = event["usage"]?.objectValue {
            totals = TokenTotals(
                input: AgentEventData.int(reported["input_tokens"]) ?? 0,
                cachedInput: AgentEventData.int(reported["cached_input_tokens"]) ?? 0,
                cacheWrite: AgentEventData.int(reported["cache_write_input_tokens"]) ?? 0,
                output: AgentEventData.int(reported["output_tokens"]) ?? 0)
            data["usage"] = .object(reported)
        }
        var events: [Event] = [("turn", .object(data))]
        if !warnedAboutPrice, prices.models[model ?? ""] == nil {
            warnedAboutPrice = true
            events.append(("log", PriceTable.missingPrice(model: model)))
        }
        return events
    }

    /// The events of an item's `started`, `updated` or `completed` state. Messages and reasoning
    /// are reported once complete; a command or MCP call starts as a `tool_call` and completes as
    /// a `tool_result`; a to-do list is reported in every state.
    private mutating func item(
        _ item: [String: JSONValue], completed: Bool, started: Bool, event: [String: JSONValue]
    ) -> [Event] {
        // Codex 0.4x named the member `item_type` and the message `assistant_message`.
        let kind = item["type"]?.stringValue ?? item["item_type"]?.stringValue ?? ""
        let id = item["id"]?.stringValue
        func with(_ data: [String: JSONValue]) -> JSONValue {
            var data = data
            if let id { data["id"] = .string(id) }
            return .object(data)
        }
        switch kind {
        case "agent_message", "assistant_message":
            guard completed, let text = item["text"]?.stringValue else { return [] }
            lastAgentMessage = text
            return [("assistant", ["text": .string(text)])]
        case "reasoning":
            guard completed, let text = item["text"]?.stringValue else { return [] }
            return [("thinking", ["text": .string(text)])]
        case "command_execution":
            let command = item["command"] ?? ""
            if started {
                toolCalls["command", default: 0] += 1
                return [("tool_call", AgentEventData.toolCall(id: id, name: "command", input: ["command": command]))]
            }
            guard completed else { return [] }
            let status = item["status"]?.stringValue ?? ""
            let exitCode = AgentEventData.int(item["exit_code"])
            let isError = status == "failed" || status == "declined" || (exitCode ?? 0) != 0
            var extra: [String: JSONValue] = ["status": .string(status)]
            if let exitCode { extra["exit_code"] = .int(Int64(exitCode)) }
            let output = item["aggregated_output"]?.stringValue ?? ""
            return [("tool_result", AgentEventData.toolResult(id: id, name: "command", isError: isError, content: output, extra: extra))]
        case "mcp_tool_call":
            let name = item["tool"]?.stringValue ?? "mcp"
            let server: [String: JSONValue] = item["server"].map { ["server": $0] } ?? [:]
            if started {
                toolCalls[name, default: 0] += 1
                return [("tool_call", AgentEventData.toolCall(id: id, name: name, input: item["arguments"] ?? [:], extra: server))]
            }
            guard completed else { return [] }
            let error = item["error"]?["message"]?.stringValue
            let isError = error != nil || item["status"]?.stringValue == "failed"
            let content = error ?? Self.text(ofMCPResult: item["result"])
            return [("tool_result", AgentEventData.toolResult(id: id, name: name, isError: isError, content: content, extra: server))]
        case "web_search":
            // The query is known once the search completes.
            guard completed else { return [] }
            var input: [String: JSONValue] = ["query": item["query"] ?? ""]
            if let action = item["action"] { input["action"] = action }
            toolCalls["web_search", default: 0] += 1
            return [("tool_call", AgentEventData.toolCall(id: id, name: "web_search", input: .object(input)))]
        case "file_change":
            guard completed else { return [] }
            toolCalls["file_change", default: 0] += 1
            let failed = item["status"]?.stringValue == "failed"
            if failed {
                var paths: [String] = []
                if case .array(let changes)? = item["changes"] { paths = changes.compactMap { $0["path"]?.stringValue } }
                failedChanges.append("file change failed: " + (paths.isEmpty ? "(no path)" : paths.joined(separator: ", ")))
            }
            return [("file_change", with(["changes": item["changes"] ?? [], "status": item["status"] ?? .null, "is_error": .bool(failed)]))]
        case "todo_list":
            return [("todo", with(["items": item["items"] ?? []]))]
        case "error":
            // An error item is a notice the turn goes on after (a transport fallback, a missing
            // model's metadata); what ends a turn is `turn.failed` or a top-level `error`.
            return [("log", with(["level": "warning", "message": item["message"] ?? ""]))]
        default:
            return [("log", AgentEventData.info("unknown item type \(kind)", data: .object(event)))]
        }
    }

    /// The text blocks of an MCP result, one a line; other blocks as JSON.
    private static func text(ofMCPResult result: JSONValue?) -> String {
        guard case .array(let blocks)? = result?["content"] else { return result?["structured_content"]?.jsonText ?? "" }
        return blocks.map { $0["text"]?.stringValue ?? $0.jsonText }.joined(separator: "\n")
    }
}
