import Nightshift

/// The runners that start agent processes, for a daemon's ``RunnerRegistry``.
public enum AgentRunners {
    /// `command`, `claude_code`, `codex` and `gemini`, giving cancelled agents `killGrace` after
    /// SIGTERM; agents' allowlisted variables come from `environment`, or the daemon's own when `nil`.
    /// `nightshiftExecutable` is the program Claude Code runs back into Nightshift (its tool-approval
    /// hook, the MCP server of ``NightshiftTools``): by default ``NightshiftExecutable/current``.
    public static func all(
        killGrace: Duration = .seconds(5), environment: [String: String]? = nil,
        nightshiftExecutable: String? = NightshiftExecutable.current
    ) -> [any AgentRunner] {
        [
            CommandRunner(killGrace: killGrace, environment: environment),
            AgentCLIRunner<ClaudeCode>(
                killGrace: killGrace, limits: CommandLimits(), environment: environment, nightshiftExecutable: nightshiftExecutable),
            AgentCLIRunner<Codex>(killGrace: killGrace, limits: CommandLimits(), environment: environment),
            AgentCLIRunner<Gemini>(killGrace: killGrace, limits: CommandLimits(), environment: environment),
        ]
    }
}
