import Nightshift

/// Agents that exist without any configuration.
enum BuiltinAgents {
    /// `shell`: runs the prompt as a `/bin/sh` script (the prompt arrives on standard input).
    static let shell = Agent(
        name: "shell", runner: .command,
        config: ["command": ["/bin/sh"], "env": ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "TERM"]],
        concurrency: nil, timeout: 3600)
}
