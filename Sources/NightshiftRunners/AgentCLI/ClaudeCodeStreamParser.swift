import Foundation
import Nightshift

/// Reads Claude Code's `--output-format=stream-json --verbose` stdout: every line becomes typed
/// task events, and the parser keeps the session id (from `system`/`init`) and the final `result`.
///
/// Usage and cost come from the `result` lines only: Claude Code repeats a message's usage on each
/// of its content-block lines, so summing the `assistant` lines would count it several times.
/// `total_cost_usd` covers the whole process (every model, every subagent), and so does the
/// result's `modelUsage` (per model, cumulative): tokens are its sums when it is there, so tokens
/// and cost cover the same scope. Without it, the `usage` of every `result` line is added up (a
/// session fed on stdin prints one per turn). See docs/runners/claude-code.md.
///
/// Lines with a `parent_tool_use_id` are a subagent's (the `Task`/`Agent` tool): their events
/// carry that id, and the run's result is the main agent's `result` line alone.
///
/// With `nightshift_tools` on, a call of one of ``NightshiftTools`` (`mcp__nightshift__…`) whose
/// result is not an error acts: `spawn_subtask` adds a `spawn` event with the call's input (the
/// engine submits the subtask with the run's fenced write), `wake_me` becomes the run's ``wake``
/// (its minutes counted from the line of the result). Only calls with that prefix cost more than
/// a lookup.
///
/// The line formats follow Claude Code's own SDK parser (anthropics/claude-agent-sdk-python,
/// `_internal/message_parser.py`); see `Tests/Fixtures/claude-sessions/README.md`.
struct ClaudeCodeStreamParser: AgentJSONStreamInterpreter {
    /// What the `result` line said.
    struct FinalResult: Sendable, Hashable {
        /// `is_error`: only `false` is a success, whatever the subtype.
        var isError: Bool
        /// `subtype`: `success`, `error_max_turns`, `error_max_budget_usd`, `error_during_execution` …
        var subtype: String?
        /// `result`: the final text.
        var text: String?
        /// `errors`: what went wrong, for error subtypes.
        var errors: [String]
        /// `num_turns`.
        var turns: Int?
        /// `api_error_status`: the HTTP status of a failed API call.
        var apiErrorStatus: Int?
        /// `permission_denials`: the tool calls the permissions refused, as readable lines.
        var denials: [String]
        /// `stop_reason`: `tool_deferred` when a `PreToolUse` hook deferred a call (Claude Code
        /// ≥ 2.1.89), `tool_deferred_unavailable` when the resumed session lost the deferred tool.
        var stopReason: String? = nil
        /// `deferred_tool_use`: the call a hook deferred, which the session resumes at.
        var deferred: DeferredToolUse? = nil
    }

    /// The tool call a `PreToolUse` hook deferred (`deferred_tool_use` of the `result` line).
    struct DeferredToolUse: Sendable, Hashable {
        /// The call's id (`toolu_…`).
        var id: String
        /// The tool's name.
        var name: String
        /// The tool's input.
        var input: JSONValue
    }

    /// The line length over which the reader cuts lines (reported in the warning).
    let lineLimit: Int
    /// Whether calls of Nightshift's tools act: only when Nightshift served them (`nightshift_tools`),
    /// not when an MCP server of the agent's own config happens to be named `nightshift`.
    let nightshiftTools: Bool
    /// The session id, the model and the tool calls seen so far, and the tokens and cost of the
    /// `result` line once it came. The model is the one `system`/`init` names (the session's, its
    /// alias resolved), else the costliest of the result's `modelUsage`; `nil` if neither came.
    private(set) var usage = RunUsage()
    /// The last `result` line, if one came.
    private(set) var result: FinalResult?
    /// The names of the tool calls seen, by id, for their results.
    private var toolNames: [String: String] = [:]
    /// The input of each call of Nightshift's tools awaiting its result, by id.
    private var nightshiftCalls: [String: JSONValue] = [:]
    /// When the line being handled was read.
    private var lineTime = Date.distantPast
    /// The last `wake_me` call that succeeded: when to wake, and the prompt to resume with.
    private(set) var wake: (at: Date, prompt: String?)?
    /// `usage` summed over the result lines, for results without `modelUsage`.
    private var summedTokens = PriceTable.Tokens()
    /// When a rejected quota (`rate_limit_event` status `rejected`) resets, if it said.
    private(set) var quotaResetsAt: Date?
    /// The `api_retry` notices seen.
    private(set) var apiRetries = 0

    /// A parser for a stream whose lines are cut at `lineLimit` bytes; calls of Nightshift's tools
    /// act when `nightshiftTools` is set.
    init(lineLimit: Int, nightshiftTools: Bool = false) {
        self.lineLimit = lineLimit
        self.nightshiftTools = nightshiftTools
    }

    /// The events of one stdout line read at `now`.
    mutating func handle(_ line: OutputLine, now: Date) -> [Event] {
        lineTime = now
        return events(of: line)
    }

    /// The events of one event line.
    mutating func handle(event type: String, _ object: [String: JSONValue]) -> [Event] {
        switch type {
        case "system": system(object)
        case "assistant": Self.attributed(assistant(object), object)
        case "user": Self.attributed(user(object), object)
        case "result": finish(object)
        case "rate_limit_event": rateLimit(object)
        // Partial-message deltas (`--include-partial-messages`): the whole message follows as an
        // `assistant` line, which is what the log keeps.
        case "stream_event": []
        default: [("log", AgentEventData.unknownType(type, object))]
        }
    }

    /// A quota status: always a ``AgentEventData/quotaSignal`` (the agent's latest, for `status`);
    /// a `rate_limit` event too only when it is not plainly `allowed` (a warning, or `rejected`
    /// with its reset time).
    private mutating func rateLimit(_ object: [String: JSONValue]) -> [Event] {
        let info = object["rate_limit_info"] ?? Self.fields(object)
        let status = info["status"]?.stringValue
        if status == "allowed" { return [(AgentEventData.quotaSignal, info)] }
        if status == "rejected", let reset = info["resetsAt"]?.doubleValue {
            quotaResetsAt = Date(timeIntervalSince1970: reset > 1e11 ? reset / 1000 : reset)
        }
        return [(AgentEventData.quotaSignal, info), ("rate_limit", info)]
    }

    /// `init` starts the session; an `api_retry` is a `retry` notice (counted for the result); any
    /// other subtype (`compact_boundary`, hooks …) is logged with its data.
    private mutating func system(_ object: [String: JSONValue]) -> [Event] {
        let subtype = object["subtype"]?.stringValue
        if subtype == "init" {
            var data: [String: JSONValue] = [:]
            if let id = object["session_id"]?.stringValue {
                usage.agentSessionID = id
                data["session_id"] = .string(id)
            }
            if let model = object["model"]?.stringValue {
                usage.model = model
                data["model"] = .string(model)
            }
            if case .array(let tools)? = object["tools"] { data["tools"] = .array(tools) }
            if let cwd = object["cwd"]?.stringValue { data["cwd"] = .string(cwd) }
            return [("session", .object(data))]
        }
        if subtype == "api_retry" {
            apiRetries += 1
            return [("retry", Self.fields(object))]
        }
        return [("log", AgentEventData.info("system event \(subtype ?? "(no subtype)")", data: .object(object)))]
    }

    /// Text, thinking and tool calls, one event per content block. A message the CLI made up for
    /// a failed API call (`error` set) is also an `error` event, or `rate_limit` for a rate limit.
    private mutating func assistant(_ object: [String: JSONValue]) -> [Event] {
        let content = object["message"]?["content"]
        var events: [Event] = []
        if let kind = object["error"]?.stringValue {
            let text = Self.text(of: content ?? .null)
            events.append(kind == "rate_limit"
                ? ("rate_limit", ["error": .string(kind), "message": .string(text)])
                : ("error", ["message": .string(text.isEmpty ? kind : text), "kind": .string(kind)]))
        }
        guard case .array(let blocks)? = content else {
            return events + [("log", AgentEventData.info("assistant message without content blocks", data: .object(object)))]
        }
        for block in blocks { events += self.block(block, from: "assistant") }
        return events
    }

    /// Tool results; other user content (a subagent's prompt) is logged.
    private mutating func user(_ object: [String: JSONValue]) -> [Event] {
        guard case .array(let blocks)? = object["message"]?["content"] else {
            return [("log", AgentEventData.info("user message", data: ["text": .string(Self.text(of: object["message"]?["content"] ?? .null))]))]
        }
        var events: [Event] = []
        for block in blocks { events += self.block(block, from: "user") }
        return events
    }

    /// The event of one content block.
    private mutating func block(_ block: JSONValue, from role: String) -> [Event] {
        switch block["type"]?.stringValue {
        case "text" where role == "assistant":
            return [("assistant", ["text": block["text"] ?? ""])]
        case "text":
            return [("log", AgentEventData.info("user message", data: ["text": block["text"] ?? ""]))]
        case "thinking":
            return [("thinking", ["text": block["thinking"] ?? ""])]
        case "redacted_thinking":
            return [("thinking", ["text": "", "redacted": true])]
        case "tool_use", "server_tool_use":
            let (id, name) = (block["id"]?.stringValue, block["name"]?.stringValue ?? "")
            if let id { toolNames[id] = name }
            usage.toolCalls[name, default: 0] += 1
            if nightshiftTools, let id, name.hasPrefix(NightshiftTools.claudePrefix) { nightshiftCalls[id] = block["input"] ?? [:] }
            return [("tool_call", AgentEventData.toolCall(id: id, name: name, input: block["input"] ?? [:]))]
        case "tool_result":
            // The call's id and name, whether it failed, its content as text.
            let id = block["tool_use_id"]?.stringValue
            let name = id.flatMap { toolNames.removeValue(forKey: $0) }
            let isError = block["is_error"] == true
            let result: Event = ("tool_result", AgentEventData.toolResult(
                id: id, name: name, isError: isError, content: Self.text(of: block["content"] ?? "")))
            guard nightshiftTools, let id, let name, name.hasPrefix(NightshiftTools.claudePrefix) else { return [result] }
            return [result] + nightshiftCall(name, nightshiftCalls.removeValue(forKey: id), failed: isError)
        case let type:
            return [("log", AgentEventData.info("unknown content block type \(type ?? "(none)")", data: block))]
        }
    }

    /// What a call of one of Nightshift's tools does once its result came: nothing when it failed
    /// (the server refused its arguments); else a `spawn` event, or the run's wake.
    private mutating func nightshiftCall(_ name: String, _ input: JSONValue?, failed: Bool) -> [Event] {
        guard !failed, let input else { return [] }
        switch String(name.dropFirst(NightshiftTools.claudePrefix.count)) {
        case NightshiftTools.spawnSubtask:
            switch NightshiftTools.subtask(input) {
            case .success: return [("spawn", input)]
            case .failure(let problem): return [("log", AgentEventData.malformed("tool_call", "ignored: \(problem)", ["input": input]))]
            }
        case NightshiftTools.wakeMe:
            switch NightshiftTools.wake(input, now: lineTime) {
            case .success(let request): wake = request
            case .failure(let problem): return [("log", AgentEventData.malformed("tool_call", "ignored: \(problem)", ["input": input]))]
            }
            return []
        default:
            return []
        }
    }

    /// A result line's `usage`, or one model's entry of `modelUsage` (camel-case names).
    private static func tokens(_ usage: JSONValue?, camelCase: Bool) -> PriceTable.Tokens {
        let names = camelCase
            ? ["inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens"]
            : ["input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"]
        let counts = names.map { AgentEventData.int(usage?[$0]) ?? 0 }
        return PriceTable.Tokens(uncachedInput: counts[0], cachedInput: counts[2], output: counts[1], cacheWrite: counts[3])
    }

    /// The `result` line: remembered for the outcome; tokens and cost taken from it.
    private mutating func finish(_ object: [String: JSONValue]) -> [Event] {
        summedTokens = summedTokens + Self.tokens(object["usage"], camelCase: false)
        var counted = summedTokens
        if case .object(let models)? = object["modelUsage"], !models.isEmpty {
            counted = models.values.map { Self.tokens($0, camelCase: true) }.reduce(PriceTable.Tokens(), +)
            // Without an `init` line, the model that cost the most (ties: the first by name).
            if usage.model == nil {
                usage.model = models.max {
                    ($0.value["costUSD"]?.doubleValue ?? 0, $1.key) < ($1.value["costUSD"]?.doubleValue ?? 0, $0.key)
                }?.key
            }
        }
        usage.tokensIn = counted.uncachedInput
        usage.tokensOut = counted.output
        usage.cacheReadTokens = counted.cachedInput
        usage.cacheWriteTokens = counted.cacheWrite
        if let cost = object["total_cost_usd"]?.doubleValue { usage.costUSD = cost }
        if usage.agentSessionID == nil { usage.agentSessionID = object["session_id"]?.stringValue }
        var errors: [String] = []
        if case .array(let items)? = object["errors"] { errors = items.compactMap(\.stringValue) }
        var denials: [String] = []
        if case .array(let items)? = object["permission_denials"] { denials = items.map(Self.denial) }
        let final = FinalResult(
            isError: object["is_error"] != false, subtype: object["subtype"]?.stringValue,
            text: object["result"]?.stringValue, errors: errors,
            turns: AgentEventData.int(object["num_turns"]), apiErrorStatus: AgentEventData.int(object["api_error_status"]),
            denials: denials, stopReason: object["stop_reason"]?.stringValue,
            deferred: object["deferred_tool_use"].flatMap { call in
                guard let id = call["id"]?.stringValue, let name = call["name"]?.stringValue else { return nil }
                return DeferredToolUse(id: id, name: name, input: call["input"] ?? .object([:]))
            })
        result = final
        if let turns = final.turns { usage.turns = turns }

        var data: [String: JSONValue] = [
            "is_error": .bool(final.isError),
            "usage": [
                "input_tokens": .int(Int64(usage.tokensIn)), "output_tokens": .int(Int64(usage.tokensOut)),
                "cache_read_tokens": .int(Int64(usage.cacheReadTokens)), "cache_write_tokens": .int(Int64(usage.cacheWriteTokens)),
            ],
        ]
        if let text = final.text { data["text"] = .string(text) }
        if let subtype = final.subtype { data["subtype"] = .string(subtype) }
        if let turns = final.turns { data["num_turns"] = .int(Int64(turns)) }
        if let duration = AgentEventData.int(object["duration_ms"]) { data["duration_ms"] = .int(Int64(duration)) }
        if let cost = object["total_cost_usd"], cost.doubleValue != nil { data["cost_usd"] = cost }
        for (from, to) in [("terminal_reason", "terminal_reason"), ("permission_denials", "permission_denials"),
                           ("modelUsage", "model_usage"), ("api_error_status", "api_error_status"), ("errors", "errors"),
                           ("deferred_tool_use", "deferred_tool_use")]
        {
            if let value = object[from], value != .null { data[to] = value }
        }
        if let reason = final.stopReason, reason.hasPrefix("tool_deferred") { data["stop_reason"] = .string(reason) }
        if apiRetries > 0 { data["api_retries"] = .int(Int64(apiRetries)) }
        return [("result", .object(data))]
    }

    /// A denied tool call as a line: `Bash: git push origin main`, else the tool and its input.
    private static func denial(_ item: JSONValue) -> String {
        let tool = item["tool_name"]?.stringValue ?? "tool"
        let input = item["tool_input"]
        let shown = input?["command"]?.stringValue ?? input?["file_path"]?.stringValue ?? input?.jsonText ?? ""
        let (text, cut) = AgentEventData.cut(shown, toBytes: 300)
        return "permission denied: \(tool)" + (text.isEmpty ? "" : " \(text)\(cut ? "…" : "")")
    }

    /// `events` with the line's `parent_tool_use_id`, when it is a subagent's line.
    private static func attributed(_ events: [Event], _ object: [String: JSONValue]) -> [Event] {
        guard let parent = object["parent_tool_use_id"]?.stringValue else { return events }
        return events.map { event in
            guard case .object(var data) = event.data else { return event }
            data["parent_tool_use_id"] = .string(parent)
            return (event.type, .object(data))
        }
    }
}

extension ClaudeCodeStreamParser {
    /// A line's own members, without the envelope (`type`, `subtype`, `uuid`, `session_id`).
    static func fields(_ object: [String: JSONValue]) -> JSONValue {
        .object(object.filter { !["type", "subtype", "uuid", "session_id"].contains($0.key) })
    }

    /// Content as text: a string as is; the text blocks of an array joined by newlines (an image
    /// block as `[image]`); anything else as JSON.
    static func text(of content: JSONValue) -> String {
        switch content {
        case .string(let text):
            return text
        case .array(let blocks):
            return blocks.map { block in
                switch block["type"]?.stringValue {
                case "text": block["text"]?.stringValue ?? ""
                case "image": "[image]"
                default: block.stringValue ?? block.jsonText
                }
            }.joined(separator: "\n")
        case .null:
            return ""
        default:
            return content.jsonText
        }
    }
}
