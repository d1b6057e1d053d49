import Foundation
import Nightshift

/// The fake Claude Code CLI of `Tests/Fixtures/claude` as an agent: its scenario and record
/// directory, the environment its runner passes it, and what its hooks answered.
public struct FakeClaude: Sendable {
    /// Where the fake records its argv, stdin and hook runs (and keeps a deferred call).
    public let recordDirectory: URL
    /// The environment of the runner (the daemon's, as far as the agent's allowlist goes).
    public let environment: [String: String]

    /// A fake replaying `scenario`, recording into a fresh directory.
    public init(scenario: String) throws {
        recordDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("fake-claude-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: recordDirectory, withIntermediateDirectories: true)
        environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "FAKE_CLAUDE_SCENARIO": scenario,
            "FAKE_CLAUDE_RECORD_DIR": recordDirectory.path,
        ]
    }

    /// The fake's path, made executable (a checkout may lose the bit).
    public static var path: String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/claude").path
        try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    /// A `claude_code` agent named `name` running the fake, with `extra` config keys.
    public func agent(_ name: String, ask: AskPolicy = .off, extra: [String: JSONValue] = [:]) -> Agent {
        var config = extra
        config["executable"] = .string(Self.path)
        config["env"] = .array(environment.keys.sorted().map(JSONValue.string))
        return Agent(name: name, runner: .claudeCode, config: .object(config), retry: RetryPolicy(maxAttempts: 3, initialBackoff: 0.05, maxBackoff: 0.05), ask: ask)
    }

    /// The hook runs recorded so far (`{"input": …, "output": …}`), in order.
    public func hooks() throws -> [JSONValue] {
        let text = (try? String(contentsOf: recordDirectory.appendingPathComponent("hooks.jsonl"), encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
    }

    /// What the fake's last run read on stdin.
    public var lastStdin: String? {
        try? String(contentsOf: recordDirectory.appendingPathComponent("stdin"), encoding: .utf8)
    }

    /// Removes the record directory.
    public func cleanup() { try? FileManager.default.removeItem(at: recordDirectory) }
}
