import Nightshift

/// Agents that exist without any configuration.
enum BuiltinAgents {
    /// `shell`: runs the prompt as a `/bin/sh` script (the prompt arrives on standard input, alone:
    /// the inputs a run delivers are in `NIGHTSHIFT_INPUTS`, not appended to the script).
    static let shell = Agent(
        name: "shell", runner: .command,
        config: ["command": ["/bin/sh"], "env": ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "TERM"], "input": "env"],
        concurrency: nil, timeout: 3600)
}
