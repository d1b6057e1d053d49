import Nightshift

/// Live input to Claude Code (`input = "live"`, docs/runners/claude-code.md): the CLI reads user
/// messages from stdin as JSON lines (`--input-format=stream-json`) until stdin closes, answering
/// each with a turn that ends in a `result` line.
extension ClaudeCode {
    /// The values of the `input` config key: `resume` (the default: inputs sent to the running task
    /// wait and are delivered by resuming the session after the run) or `live`.
    static let inputModes = ["resume", "live"]

    /// For `input = "live"`: an input as a user-message line, its text the input's prompt text.
    static func liveInputLine(_ settings: Settings) -> (@Sendable (TaskInput) -> String)? {
        guard settings.liveInput else { return nil }
        return { input in userMessageLine(input.promptText) }
    }

    /// What stdin carries first: the prompt as it is, or for live input as a user-message line.
    static func stdinText(_ prompt: String, settings: Settings) -> String {
        settings.liveInput ? userMessageLine(prompt) + "\n" : prompt
    }

    /// A user message for `--input-format=stream-json`, shaped as Claude Code's own SDK writes one
    /// (anthropics/claude-agent-sdk-python, `client.py`): `{"type":"user","message":{"role":"user",
    /// "content":<text>},"parent_tool_use_id":null,"session_id":"default"}`. The CLI keeps its own
    /// session id; it ignores the one given here.
    static func userMessageLine(_ text: String) -> String {
        JSONValue.object([
            "type": "user", "message": ["role": "user", "content": .string(text)],
            "parent_tool_use_id": .null, "session_id": "default",
        ]).jsonText
    }
}
