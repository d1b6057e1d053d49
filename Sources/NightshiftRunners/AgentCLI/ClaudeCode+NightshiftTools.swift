import Nightshift

extension ClaudeCode {
    /// The settings with the `nightshift` program that serves Nightshift's tools, when
    /// `nightshift_tools` is on. Without a known program the run cannot have them: it fails for
    /// good, saying how to name the program.
    static func completed(
        _ settings: Settings, for agent: Agent, nightshiftExecutable: String?
    ) throws(NightshiftError) -> Settings {
        guard settings.nightshiftTools else { return settings }
        guard let nightshiftExecutable, !nightshiftExecutable.isEmpty else {
            throw NightshiftError(
                .invalidInput,
                "agent \(agent.name) (\(agent.runner)): config key 'nightshift_tools' needs the nightshift program to serve "
                    + "the tools, and its path is unknown: set NIGHTSHIFT_EXECUTABLE for the daemon",
                field: "nightshift_tools")
        }
        var settings = settings
        settings.nightshiftExecutable = nightshiftExecutable
        return settings
    }

    /// With `nightshift_tools` on: `--mcp-config=` the `nightshift` server (`nightshift mcp` on
    /// stdio; beside the agent's own `mcp_config`, which stays its own flag) and one
    /// `--allowedTools=` per tool, so that a headless run may call them.
    static func nightshiftToolArguments(_ settings: Settings) -> [String] {
        guard settings.nightshiftTools, let program = settings.nightshiftExecutable else { return [] }
        let server: JSONValue = ["type": "stdio", "command": .string(program), "args": ["mcp"]]
        let config: JSONValue = ["mcpServers": .object([NightshiftTools.serverName: server])]
        return [flag("--mcp-config", config.jsonText)]
            + NightshiftTools.tools.map { flag("--allowedTools", NightshiftTools.claudePrefix + $0.name) }
    }
}
