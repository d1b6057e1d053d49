import Foundation
import Nightshift

/// Claude Code (`claude`) run headless: `claude -p --output-format=stream-json --verbose`, the
/// prompt on stdin, one JSON object per stdout line (read by ``ClaudeCodeStreamParser``), and the
/// outcome, usage and cost from the final `result` line.
///
/// Config keys beyond the shared ones (``AgentCLISettings``): `max_turns`, `permission_mode`,
/// `allowed_tools`, `disallowed_tools`, `append_system_prompt`, `mcp_config`, `nightshift_tools`, `input`
/// (see ``liveInputLine(_:)``).
enum ClaudeCode: AgentCLIDialect {
    /// The values `permission_mode` accepts: those of `claude --permission-mode`.
    static let permissionModes = ["default", "acceptEdits", "plan", "auto", "dontAsk", "bypassPermissions"]

    /// The Claude Code keys of an agent's config.
    struct Settings: Sendable, Hashable {
        /// `max_turns`: the most agentic turns (`--max-turns`).
        var maxTurns: Int?
        /// `permission_mode`: one of ``ClaudeCode/permissionModes`` (`--permission-mode`).
        var permissionMode: String?
        /// `allowed_tools`: tool rules allowed without asking (`--allowedTools`, one per rule).
        var allowedTools: [String] = []
        /// `disallowed_tools`: tool rules denied (`--disallowedTools`, one per rule).
        var disallowedTools: [String] = []
        /// `append_system_prompt`: text added to the system prompt (`--append-system-prompt`).
        var appendSystemPrompt: String?
        /// `mcp_config`: a path to an MCP config file, or the JSON text of a table (`--mcp-config`).
        var mcpConfig: String?
        /// `nightshift_tools`: whether the agent gets Nightshift's MCP tools (``NightshiftTools``).
        var nightshiftTools = false
        /// `input = "live"`: inputs sent to the running task reach it on stdin (`--input-format=stream-json`).
        var liveInput = false
    }

    /// The stream reader.
    typealias Interpreter = ClaudeCodeStreamParser

    /// `claude_code`.
    static let kind = RunnerKind.claudeCode
    /// `claude`.
    static let defaultExecutable = "claude"

    /// Reads the Claude Code keys; the error names the agent and the first bad key.
    static func settings(_ reader: inout RunnerConfigReader) throws(NightshiftError) -> Settings {
        var settings = Settings()
        settings.maxTurns = try reader.integer("max_turns", minimum: 1)
        settings.permissionMode = try reader.choice("permission_mode", permissionModes)
        settings.allowedTools = try toolRules("allowed_tools", &reader)
        settings.disallowedTools = try toolRules("disallowed_tools", &reader)
        settings.appendSystemPrompt = try reader.string("append_system_prompt")
        settings.mcpConfig = try mcpConfig(&reader)
        settings.nightshiftTools = try reader.bool("nightshift_tools") ?? false
        settings.liveInput = try reader.choice("input", inputModes) == "live"
        return settings
    }

    /// An array of non-empty tool rules (`Read`, `Bash(git log:*)`), or none.
    private static func toolRules(_ key: String, _ reader: inout RunnerConfigReader) throws(NightshiftError) -> [String] {
        let rules = try reader.strings(key) ?? []
        guard rules.allSatisfy({ !$0.isEmpty }) else { throw reader.problem(key, "an array of non-empty tool names") }
        return rules
    }

    /// `mcp_config`: a path string as given, or a table as compact JSON text.
    private static func mcpConfig(_ reader: inout RunnerConfigReader) throws(NightshiftError) -> String? {
        if case .object? = reader.agent.config["mcp_config"] {
            return try reader.object("mcp_config").map { JSONValue.object($0).jsonText }
        }
        do {
            return try reader.string("mcp_config")
        } catch {
            throw reader.problem("mcp_config", "a path string or a table of MCP servers")
        }
    }

    /// `-p --output-format=stream-json --verbose` (and `--input-format=stream-json` for live input),
    /// then one `--flag=value` token per setting (so a value starting with `--` is never read as a
    /// flag), `--resume=<id>` when resuming, then `extra_args`. Stdin carries the prompt, or the
    /// continuation prompt when resuming (for live input as a user-message line).
    static func invocation(
        _ settings: Settings, common: AgentCLISettings, request: RunRequest, resume: ResumeContext?
    ) -> (arguments: [String], stdin: String) {
        var arguments = ["-p", flag("--output-format", "stream-json"), "--verbose"]
        if settings.liveInput { arguments.append(flag("--input-format", "stream-json")) }
        if let model = common.model { arguments.append(flag("--model", model)) }
        if let maxTurns = settings.maxTurns { arguments.append(flag("--max-turns", String(maxTurns))) }
        if let budget = request.remainingBudgetUSD { arguments.append(flag("--max-budget-usd", dollars(budget))) }
        let policy = PolicyFlags.claude(request.declaredPolicy, configuredMode: settings.permissionMode)
        if let mode = policy.mode { arguments.append(flag("--permission-mode", mode)) }
        arguments += (settings.allowedTools + policy.allowed.filter { !settings.allowedTools.contains($0) }).map { flag("--allowedTools", $0) }
        arguments += (settings.disallowedTools + policy.disallowed.filter { !settings.disallowedTools.contains($0) }).map { flag("--disallowedTools", $0) }
        if let prompt = settings.appendSystemPrompt { arguments.append(flag("--append-system-prompt", prompt)) }
        if let mcp = settings.mcpConfig { arguments.append(flag("--mcp-config", mcp)) }
        if let approvals = request.approvals, let executable = common.nightshiftExecutable {
            arguments.append(flag("--settings", ClaudeToolGate.settings(approvals, allowing: settings.allowedTools, executable: executable)))
        }
        arguments += nightshiftToolArguments(settings, program: common.nightshiftExecutable)
        if let resume { arguments.append(flag("--resume", resume.sessionID)) }
        arguments += common.extraArgs
        // A session stopped at a deferred call resumes at that call, with no new prompt: its hook
        // fires again and now has the person's decision (and the messages that came with it).
        if resume != nil, request.approvals?.resumesCall != nil { return (arguments, "") }
        return (arguments, stdinText(resume?.continuationPrompt ?? request.prompt, settings: settings))
    }

    /// A dollar amount in plain decimal notation (never an exponent), at most 6 decimals.
    static func dollars(_ amount: Double) -> String {
        var text = String(format: "%.6f", amount)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// A fresh stream reader marking lines cut at `limits.lineBytes`.
    static func interpreter(_ settings: Settings, common: AgentCLISettings, limits: CommandLimits) -> Interpreter {
        ClaudeCodeStreamParser(lineLimit: limits.lineBytes, nightshiftTools: settings.nightshiftTools)
    }
}
