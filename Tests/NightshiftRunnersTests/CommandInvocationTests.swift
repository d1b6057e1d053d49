import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

@Suite("Command invocation")
struct CommandInvocationTests {
    private func make(_ config: JSONValue, in dir: TempDir, variables: [String: String] = ["PATH": "/usr/bin:/bin"])
        -> Result<CommandInvocation, InvocationError>
    {
        CommandInvocation.make(
            for: Fixture.request(config: config, prompt: "the prompt", directory: dir.url),
            defaultEnvironment: CommandRunner.defaultEnvironment,
            lookup: { variables[$0] }
        )
    }

    @Test("command must be a non-empty array of strings")
    func badCommand() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        for config: JSONValue in [[:], ["command": "sh -c true"], ["command": []], ["command": [""]], ["command": ["sh", 1]]] {
            guard case .failure(.config(let message)) = make(config, in: dir) else {
                Issue.record("accepted \(config)")
                continue
            }
            #expect(message.hasPrefix("agent tester: config key 'command'"))
            #expect(message.contains("expected"))
        }
    }

    @Test("env must be an array of variable names; workdir must be an existing directory")
    func badEnvAndWorkdir() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        for config: JSONValue in [
            ["command": ["sh"], "env": "PATH"], ["command": ["sh"], "env": ["A=B"]], ["command": ["sh"], "env": [1]],
            ["command": ["sh"], "workdir": 5], ["command": ["sh"], "workdir": "missing"],
        ] {
            guard case .failure(.config) = make(config, in: dir) else {
                Issue.record("accepted \(config)")
                continue
            }
        }
    }

    @Test("the environment is the allowlist plus the NIGHTSHIFT_ variables")
    func environment() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let variables = ["PATH": "/usr/bin:/bin", "HOME": "/home/x", "SECRET": "s3cret", "EXTRA": "e"]
        let standard = try make(["command": ["sh"]], in: dir, variables: variables).get()
        #expect(standard.environment["PATH"] == "/usr/bin:/bin")
        #expect(standard.environment["HOME"] == "/home/x")
        #expect(standard.environment["SECRET"] == nil)
        #expect(standard.environment["NIGHTSHIFT_PROMPT"] == "the prompt")
        #expect(standard.environment["NIGHTSHIFT_ATTEMPT"] == "1")
        #expect(standard.environment["NIGHTSHIFT_WORKDIR"] == dir.url.path)
        #expect(Set(standard.environment.keys).isSubset(of: Set(CommandRunner.defaultEnvironment).union([
            "NIGHTSHIFT_PROMPT", "NIGHTSHIFT_TASK_ID", "NIGHTSHIFT_RUN_ID", "NIGHTSHIFT_ATTEMPT", "NIGHTSHIFT_WORKDIR",
        ])))

        let custom = try make(["command": ["sh"], "env": ["EXTRA"]], in: dir, variables: variables).get()
        #expect(custom.environment["EXTRA"] == "e")
        #expect(custom.environment["PATH"] == nil)
        #expect(custom.environment["HOME"] == nil)
        #expect(custom.executablePath.hasSuffix("/sh"))  // still found through the daemon's PATH
    }

    @Test("argv[0] is resolved against PATH, or against the working directory when it has a slash")
    func resolution() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(atPath: dir.path("sub"), withIntermediateDirectories: true)
        let script = dir.path("sub/agent.sh")
        try "#!/bin/sh\necho hi\n".write(toFile: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script)

        let found = try make(["command": ["sh", "-c", "true"]], in: dir).get()
        #expect(found.executablePath == "/usr/bin/sh" || found.executablePath == "/bin/sh")
        #expect(found.arguments == ["sh", "-c", "true"])
        let relative = try make(["command": ["./agent.sh"], "workdir": "sub"], in: dir).get()
        #expect(relative.executablePath == dir.path("sub") + "/./agent.sh")
        #expect(relative.workingDirectory == dir.path("sub"))
        let onPath = try make(["command": ["agent.sh"]], in: dir, variables: ["PATH": "/nowhere:" + dir.path("sub")]).get()
        #expect(onPath.executablePath == script)

        guard case .failure(.notFound(let message)) = make(["command": ["no-such-agent-cli"]], in: dir) else {
            Issue.record("missing program accepted")
            return
        }
        #expect(message == "agent CLI not found: no-such-agent-cli (searched PATH=/usr/bin:/bin)")
        guard case .failure(.notFound) = make(["command": [.string(dir.path("sub"))]], in: dir) else {
            Issue.record("a directory accepted as the program")
            return
        }
    }
}
