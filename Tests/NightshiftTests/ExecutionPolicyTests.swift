import Foundation
import Nightshift
import Testing

@Suite("Execution policy")
struct ExecutionPolicyTests {
    @Test("the wire form reads every key and writes back what it read")
    func roundTrip() throws {
        let json: JSONValue = [
            "security": "allowlist", "allow": ["Bash(npm test:*)"], "workspace": "ro", "network": false, "hosts": ["*.npmjs.org"],
            "sandbox": "bubblewrap", "memory": "2G", "cpu_seconds": 600, "max_processes": 64, "max_output_bytes": 1_000_000,
        ]
        let policy = try ExecutionPolicy(json: json)
        #expect(policy.memoryBytes == 2 << 30)
        #expect(policy.json == json)
        #expect(try ExecutionPolicy(json: [:]).isEmpty)
        #expect(try JSONDecoder().decode(ExecutionPolicy.self, from: Data(json.jsonText.utf8)) == policy)
    }

    @Test("a bad value is refused naming the key and what was expected")
    func errors() {
        let cases: [(JSONValue, String, String)] = [
            (["memory": "lots"], "policy.memory", "\"512M\""),
            (["memory": "512k"], "policy.memory", "at least 1M"),
            (["security": "some"], "policy.security", "\"deny\", \"allowlist\", \"full\""),
            (["workspace": true], "policy.workspace", "\"none\", \"ro\", \"rw\""),
            (["network": "off"], "policy.network", "true or false"),
            (["max_processes": 0], "policy.max_processes", "≥ 1"),
            (["hosts": ["not a host"]], "policy.hosts", "host names"),
            (["security": "deny", "allow": ["Read"]], "policy.allow", "allowlist"),
            (["memroy": "1G"], "policy.memroy", "unknown key"),
            ("deny", "policy", "an object"),
        ]
        for (json, field, expected) in cases {
            #expect(throws: NightshiftError.self) { try ExecutionPolicy(json: json) }
            do {
                _ = try ExecutionPolicy(json: json)
            } catch {
                #expect(error.field == field, "\(json)")
                #expect(error.message.contains(expected), "\(json): \(error.message)")
            }
        }
    }

    @Test("sizes: binary units, plain bytes, and the text of a size")
    func sizes() {
        #expect(ByteCount.parse("512M") == 512 << 20)
        #expect(ByteCount.parse("1.5G") == 3 << 29)
        #expect(ByteCount.parse("64k") == 64 << 10)
        #expect(ByteCount.parse("2GiB") == 2 << 30)
        #expect(ByteCount.parse("1000") == 1000)
        #expect(ByteCount.parse("-1G") == nil)
        #expect(ByteCount.parse("G") == nil)
        #expect(ByteCount.text(2 << 30) == "2G")
        #expect(ByteCount.text(1536 << 20) == "1536M")
        #expect(ByteCount.text(1001) == "1001")
    }

    @Test("a task's policy inherits what it leaves unset; the defaults are what Nightshift did before policies")
    func inheritance() {
        let agent = ExecutionPolicy(workspace: .ro, network: false, memoryBytes: 1 << 30)
        let task = ExecutionPolicy(workspace: ExecutionPolicy.WorkspaceAccess.none)
        let resolved = task.inheriting(agent).resolved
        #expect(resolved.workspace == ExecutionPolicy.WorkspaceAccess.none)
        #expect(resolved.network == false)
        #expect(resolved.memoryBytes == 1 << 30)
        let defaults = ExecutionPolicy().resolved
        #expect(defaults.security == .full && defaults.workspace == .rw && defaults.network && defaults.sandbox == .none)
        #expect(!defaults.limitsResources)
    }

    @Test("widening: each field that allows more than the agent is named, with what the agent allows")
    func widening() {
        let agent = ExecutionPolicy(
            security: .allowlist, allow: ["Read", "Bash(git:*)"], workspace: .ro, network: true, hosts: ["github.com"], sandbox: .bubblewrap,
            memoryBytes: 1 << 30, cpuSeconds: 60, maxProcesses: 32, maxOutputBytes: 1000
        ).resolved
        let wider: [(ExecutionPolicy, String)] = [
            (ExecutionPolicy(security: .full), "security"),
            (ExecutionPolicy(allow: ["Bash"]), "allow"),
            (ExecutionPolicy(workspace: .rw), "workspace"),
            (ExecutionPolicy(hosts: ["evil.example"]), "hosts"),
            (ExecutionPolicy(sandbox: ExecutionPolicy.Sandbox.none), "sandbox"),
            (ExecutionPolicy(memoryBytes: 2 << 30), "memory"),
            (ExecutionPolicy(cpuSeconds: 61), "cpu_seconds"),
            (ExecutionPolicy(maxProcesses: 33), "max_processes"),
            (ExecutionPolicy(maxOutputBytes: 1001), "max_output_bytes"),
        ]
        for (policy, field) in wider { #expect(policy.widening(agent)?.field == field) }
        #expect(ExecutionPolicy(workspace: .rw).widening(agent)?.allowed == "ro")
        #expect(ExecutionPolicy(network: true).widening(ExecutionPolicy(network: false).resolved)?.field == "network")
        let narrower = ExecutionPolicy(
            security: .deny, workspace: ExecutionPolicy.WorkspaceAccess.none, network: false, memoryBytes: 1 << 20, maxProcesses: 4)
        #expect(narrower.widening(agent) == nil)
        #expect(ExecutionPolicy(allow: ["Read"]).widening(agent) == nil)
    }

    @Test("an agent's isolation settings read from their wire form, errors naming the key")
    func isolationSettings() throws {
        var agent = Agent(name: "coder", runner: .command)
        try agent.readIsolation([
            "policy": ["network": false], "setup": ["command": ["npm", "ci"], "timeout": "10m", "policy": ["network": true]],
            "repo": "/srv/app", "base": "main", "keep_worktree": true, "repo_concurrency": 2,
            "secrets": ["TOKEN": ["env": "GH_TOKEN", "phases": ["setup", "agent"]]], "env_file": "/etc/app.env",
            "env_file_phases": ["setup"], "artifacts": ["out/*.md"],
        ])
        #expect(agent.setup?.timeout == 600)
        #expect(agent.git == GitWorkspace(repo: "/srv/app", base: "main", keepWorktree: true, repoConcurrency: 2))
        #expect(agent.secrets == [AgentSecret(name: "TOKEN", env: "GH_TOKEN", phases: [.setup, .agent])])
        #expect(agent.envFile == EnvFile(path: "/etc/app.env", phases: [.setup]))
        try agent.validate()
        var copy = Agent(name: "coder", runner: .command)
        try copy.readIsolation(agent.isolationJSON)
        #expect(copy.isolationJSON == agent.isolationJSON)

        let bad: [([String: JSONValue], String)] = [
            (["setup": ["command": ["x"], "shell": true]], "setup.shell"),
            (["base": "main"], "base"),
            (["secrets": ["T": ["env": "A", "from": "b"]]], "secrets.T.from"),
            (["env_file": "/e", "env_file_phases": ["deploy"]], "env_file_phases"),
            (["repo_concurrency": 2], "repo_concurrency"),
        ]
        for (object, field) in bad {
            var other = Agent(name: "x", runner: .command)
            do {
                try other.readIsolation(object)
                try other.validate()
                Issue.record("\(object) was accepted")
            } catch {
                #expect(error.field == field, "\(object): \(error.message)")
            }
        }
        var relative = Agent(name: "x", runner: .command)
        relative.git = GitWorkspace(repo: "repo")
        #expect(throws: NightshiftError.self) { try relative.validate() }
    }

    @Test("a dotenv file: comments, export, quotes; a line without = is refused naming its line")
    func envFile() throws {
        let variables = try EnvFile.parse("# tokens\nexport A=1\nB = 'two words'\n\nC=\"x=y\"\n", path: "/e")
        #expect(variables.map(\.name) == ["A", "B", "C"])
        #expect(variables.map(\.value) == ["1", "two words", "x=y"])
        #expect(throws: NightshiftError.self) { try EnvFile.parse("A=1\nnonsense\n", path: "/e") }
        do { _ = try EnvFile.parse("A=1\nnonsense\n", path: "/e") } catch { #expect(error.message.contains("/e line 2")) }
    }
}
