import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

/// How each agent CLI is told its run's policy (docs/sandbox.md's table).
@Suite("Policy flags")
struct PolicyFlagsTests {
    static func arguments(_ runner: RunnerKind, config: JSONValue = [:], agent: ExecutionPolicy, task: ExecutionPolicy? = nil) throws -> [String] {
        let dir = FileManager.default.temporaryDirectory
        var request = Fixture.request(config: config, directory: dir, runner: runner)
        request.agent.policy = agent
        request.task.policy = task
        switch runner {
        case .claudeCode:
            let settings = try AgentCLIRunner<ClaudeCode>.settings(request.agent)
            return ClaudeCode.invocation(settings.own, common: settings.common, request: request, resume: nil).arguments
        case .codex:
            let settings = try AgentCLIRunner<Codex>.settings(request.agent)
            return Codex.invocation(settings.own, common: settings.common, request: request, resume: nil).arguments
        default:
            let settings = try AgentCLIRunner<Gemini>.settings(request.agent)
            return Gemini.invocation(settings.own, common: settings.common, request: request, resume: nil).arguments
        }
    }

    @Test("an agent without a policy keeps its runner config's flags, and gets none of its own")
    func noPolicy() throws {
        #expect(try Self.arguments(.claudeCode, config: ["permission_mode": "acceptEdits"], agent: ExecutionPolicy())
            == ["-p", "--output-format=stream-json", "--verbose", "--permission-mode=acceptEdits"])
        #expect(try Self.arguments(.codex, agent: ExecutionPolicy()) == ["exec", "--json", "-"])
        #expect(try Self.arguments(.gemini, agent: ExecutionPolicy()) == ["--output-format=stream-json"])
    }

    @Test("Claude Code: security sets the permission mode and tools; an ro workspace and no network deny their tools")
    func claude() throws {
        let full = try Self.arguments(.claudeCode, agent: ExecutionPolicy(security: .full))
        #expect(full.contains("--permission-mode=bypassPermissions"))
        let listed = try Self.arguments(
            .claudeCode, config: ["permission_mode": "bypassPermissions", "allowed_tools": ["Read"]],
            agent: ExecutionPolicy(security: .allowlist, allow: ["Bash(npm test:*)"], workspace: .ro, network: false))
        #expect(listed.contains("--permission-mode=default"), "the policy wins over the config's bypass")
        #expect(listed.filter { $0.hasPrefix("--allowedTools=") } == ["--allowedTools=Read", "--allowedTools=Bash(npm test:*)"])
        #expect(Set(listed.filter { $0.hasPrefix("--disallowedTools=") }) == Set(
            ["Edit", "MultiEdit", "Write", "NotebookEdit", "WebFetch", "WebSearch"].map { "--disallowedTools=\($0)" }))
        let denied = try Self.arguments(.claudeCode, agent: ExecutionPolicy(security: .full), task: ExecutionPolicy(security: .deny))
        #expect(denied.contains("--permission-mode=default") && denied.contains("--disallowedTools=Bash"), "the task's narrowing applies")
        let hosts = try Self.arguments(.claudeCode, agent: ExecutionPolicy(hosts: ["api.github.com"]))
        #expect(hosts.contains("--allowedTools=WebFetch(domain:api.github.com)"))
    }

    @Test("Codex: --sandbox from security and workspace, the network switch from network")
    func codex() throws {
        #expect(try Self.arguments(.codex, agent: ExecutionPolicy(workspace: .ro)).contains("--sandbox=read-only"))
        #expect(try Self.arguments(.codex, agent: ExecutionPolicy(security: .deny)).contains("--sandbox=read-only"))
        let write = try Self.arguments(.codex, config: ["sandbox": "danger-full-access"], agent: ExecutionPolicy(security: .allowlist, network: false))
        #expect(write.contains("--sandbox=workspace-write"))
        #expect(write.contains("sandbox_workspace_write.network_access=false"))
        #expect(try Self.arguments(.codex, agent: ExecutionPolicy(security: .full)).contains("--sandbox=danger-full-access"))
    }

    @Test("Gemini: --approval-mode from security, --allowed-tools from the allowlist")
    func gemini() throws {
        #expect(try Self.arguments(.gemini, agent: ExecutionPolicy(security: .full)).contains("--approval-mode=yolo"))
        let listed = try Self.arguments(.gemini, config: ["approval_mode": "yolo"], agent: ExecutionPolicy(security: .allowlist, allow: ["run_shell_command(git)"]))
        #expect(listed.contains("--approval-mode=default"))
        #expect(listed.contains("--allowed-tools=run_shell_command(git)"))
    }
}
