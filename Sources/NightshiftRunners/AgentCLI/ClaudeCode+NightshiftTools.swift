import Nightshift

extension ClaudeCode {
    /// `ask = "on-miss"` (its approval hook) and `nightshift_tools` (its MCP server) run the
    /// `nightshift` program.
    static func needsNightshift(_ settings: Settings, request: RunRequest) -> String? {
        if request.approvals != nil { return "ask \"on-miss\"" }
        if settings.nightshiftTools { return "config key 'nightshift_tools'" }
        return nil
    }

    /// With `nightshift_tools` on: `--mcp-config=` the `nightshift` server (`nightshift mcp --run-tools`
    /// on stdio; beside the agent's own `mcp_config`, which stays its own flag) and one
    /// `--allowedTools=` per tool, so that a headless run may call them.
    static func nightshiftToolArguments(_ settings: Settings, program: String?) -> [String] {
        guard settings.nightshiftTools, let program else { return [] }
        let server: JSONValue = ["type": "stdio", "command": .string(program), "args": ["mcp", "--run-tools"]]
        let config: JSONValue = ["mcpServers": .object([NightshiftTools.serverName: server])]
        return [flag("--mcp-config", config.jsonText)]
            + NightshiftTools.tools.map { flag("--allowedTools", NightshiftTools.claudePrefix + $0.name) }
    }
}
