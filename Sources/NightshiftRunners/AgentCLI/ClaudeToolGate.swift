import Foundation
import Nightshift

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Claude Code's side of ``AskPolicy/onMiss``: a `PreToolUse` command hook, handed to the run
/// through `--settings`, that runs `nightshift hook pre-tool-use` for every tool call and answers
/// (Claude Code hooks reference, "PreToolUse decision control" and "Defer a tool call for later"):
///
/// - `allow` for a call a person approved, an answer to Claude's own question (`AskUserQuestion`,
///   with the answers in `updatedInput`), or a call the agent's `allowed_tools` or an approval of
///   the tool for the rest of the task allow;
/// - `deny`, with the person's reason, for a call they rejected;
/// - `defer` for anything else: the run ends with `stop_reason: "tool_deferred"`, and the task
///   waits for a person (see `ClaudeCode.outcome`).
///
/// What the hook knows (``ToolApprovals``) is written into its command line as base64 JSON, so
/// the agent cannot change it; the hook reads nothing else and writes only its answer.
public enum ClaudeToolGate {
    /// The tool rules Nightshift always allows: its own MCP tools.
    static let ownTools = ["mcp__nightshift"]

    /// The `--settings` JSON of a run: a `PreToolUse` hook for every tool, running `executable`
    /// with `approvals` (plus the agent's `allowed` rules and Nightshift's own tools).
    static func settings(_ approvals: ToolApprovals, allowing allowed: [String], executable: String) -> String {
        var approvals = approvals
        approvals.allow = allowed + ownTools + approvals.allow
        let command = "\(shellQuoted(executable)) hook pre-tool-use --approvals \(encode(approvals))"
        let hook: JSONValue = ["type": "command", "command": .string(command), "timeout": 60]
        let settings: JSONValue = ["hooks": ["PreToolUse": [["matcher": "*", "hooks": [hook]]]]]
        return settings.jsonText
    }

    /// `approvals` as base64 JSON, a shell word that needs no quoting.
    static func encode(_ approvals: ToolApprovals) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return ((try? encoder.encode(approvals)) ?? Data("{}".utf8)).base64EncodedString()
    }

    /// Reads what ``encode(_:)`` wrote; throws `invalid_input` naming `--approvals`.
    public static func decode(_ text: String) throws(NightshiftError) -> ToolApprovals {
        guard let data = Data(base64Encoded: text), let approvals = try? JSONDecoder().decode(ToolApprovals.self, from: data) else {
            throw .invalid("--approvals", "expected the base64 JSON Nightshift wrote into the hook's command")
        }
        return approvals
    }

    /// `text` as one `sh` word.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The hook's answer (its stdout) to the `PreToolUse` input `hookInput` (its stdin: `tool_name`,
    /// `tool_input`, `tool_use_id` and the common fields).
    public static func answer(_ hookInput: JSONValue, approvals: ToolApprovals) -> JSONValue {
        let tool = hookInput["tool_name"]?.stringValue ?? ""
        let input = hookInput["tool_input"] ?? .object([:])
        let isQuestion = tool == ClaudeCode.questionTool
        if let id = hookInput["tool_use_id"]?.stringValue, let decision = approvals.calls[id] {
            let context = id == approvals.resumesCall ? approvals.context.map { "Also sent while you waited:\n\n\($0)" } : nil
            guard decision.allows(questionTool: isQuestion) else {
                let reason = [decision.explanation, context].compactMap { $0 }.joined(separator: "\n\n")
                return output("deny", reason: reason)
            }
            // An approval's comment and the messages that came with it reach the agent as context.
            let notes = [decision.kind == .approve && decision.text != nil ? decision.explanation : nil, context].compactMap { $0 }
            return output(
                "allow", reason: decision.explanation, updatedInput: isQuestion ? answered(input, decision: decision) : nil,
                context: notes.isEmpty ? nil : notes.joined(separator: "\n\n"))
        }
        if isQuestion { return output("defer", reason: "Nightshift asks a person to answer") }
        if let rule = approvals.allow.first(where: { matches($0, tool: tool, input: input) }) {
            return output("allow", reason: "allowed by Nightshift (\(rule))")
        }
        return output("defer", reason: "Nightshift asks a person to approve \(tool)")
    }

    /// The `AskUserQuestion` input with its `answers`: each question's answer from the decision's
    /// own `answers` (by the question's text), else the decision's text.
    static func answered(_ input: JSONValue, decision: ToolApprovals.Decision) -> JSONValue {
        var fields = input.objectValue ?? [:]
        var answers: [String: JSONValue] = fields["answers"]?.objectValue ?? [:]
        for question in fields["questions"]?.arrayValue ?? [] {
            guard let text = question["question"]?.stringValue, answers[text] == nil else { continue }
            if let answer = decision.answers?[text] ?? decision.text { answers[text] = .string(answer) }
        }
        fields["answers"] = .object(answers)
        return .object(fields)
    }

    /// A `PreToolUse` answer.
    static func output(_ decision: String, reason: String, updatedInput: JSONValue? = nil, context: String? = nil) -> JSONValue {
        var fields: [String: JSONValue] = [
            "hookEventName": "PreToolUse", "permissionDecision": .string(decision), "permissionDecisionReason": .string(reason),
        ]
        if let updatedInput { fields["updatedInput"] = updatedInput }
        if let context { fields["additionalContext"] = .string(context) }
        return ["hookSpecificOutput": .object(fields)]
    }

    /// Whether the permission rule `rule` (Claude Code's syntax) allows a call of `tool` with
    /// `input`. Understood: `Tool` and `Tool(*)` (any call), `mcp__server` (every tool of that MCP
    /// server), a `*` glob in the tool name, and a specifier matched against the call's main
    /// argument: `Bash(npm test:*)` (a command prefix), `Bash(git * main)`, `Read(src/**)`
    /// (globs, `*` spanning `/`), `WebFetch(domain:example.com)`. A rule it cannot read allows
    /// nothing: the call is deferred to a person, never let through.
    static func matches(_ rule: String, tool: String, input: JSONValue) -> Bool {
        guard let open = rule.firstIndex(of: "("), rule.hasSuffix(")") else {
            if rule == tool || tool.hasPrefix(rule + "__") && rule.hasPrefix("mcp__") { return true }
            return rule.contains("*") && glob(rule, tool)
        }
        let name = String(rule[..<open])
        let specifier = String(rule[rule.index(after: open)..<rule.index(before: rule.endIndex)])
        guard name == tool || name.contains("*") && glob(name, tool) else { return false }
        if specifier == "*" || specifier.isEmpty { return true }
        if specifier.hasPrefix("domain:") {
            guard let url = input["url"]?.stringValue, let host = URLComponents(string: url)?.host else { return false }
            return host == specifier.dropFirst("domain:".count)
        }
        guard let argument = mainArgument(tool: tool, input: input) else { return false }
        if specifier.hasSuffix(":*") {
            let prefix = String(specifier.dropLast(2))
            return argument == prefix || argument.hasPrefix(prefix + " ")
        }
        return glob(specifier.replacingOccurrences(of: "**", with: "*"), argument)
    }

    /// The input a specifier is matched against: the command, the file path, the URL, the
    /// pattern; else the input as compact JSON.
    static func mainArgument(tool: String, input: JSONValue) -> String? {
        for key in ["command", "file_path", "notebook_path", "path", "url", "pattern"] {
            if let value = input[key]?.stringValue { return value }
        }
        return input.objectValue == nil ? nil : input.jsonText
    }

    /// `fnmatch(3)` without flags: `*` and `?` match any character, `/` too.
    static func glob(_ pattern: String, _ text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }

    /// The hook command: reads the `PreToolUse` input from `stdin`, answers with the JSON line it
    /// writes to stdout. A bad input defers (a person decides), never allows.
    public static func runHook(stdin: Data, approvals encoded: String) throws(NightshiftError) -> String {
        let approvals = try decode(encoded)
        let input = (try? JSONValue(jsonText: String(decoding: stdin, as: UTF8.self))) ?? .object([:])
        return answer(input, approvals: approvals).jsonText
    }
}
