import Foundation
import Nightshift
import Testing

/// A task's own execution policy and an agent's isolation settings, on every store kind.
extension StoreConformanceTests {
    @Test("a task's policy is kept with it, answered by every read, and a subtask of its agent keeps it", arguments: StoreKind.allCases)
    func taskPolicy(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let policy = ExecutionPolicy(workspace: .ro, network: false, sandbox: .bubblewrap, memoryBytes: 512 << 20, maxProcesses: 32)
        // Without keys (PostgreSQL's one-statement path) and with one (its checked path).
        let plain = try await store.submit(NewTask(agent: "echo", prompt: "a", policy: policy), now: t0).task
        let keyed = try await store.submit(NewTask(agent: "echo", prompt: "b", idempotencyKey: "k", policy: policy), now: t0).task
        let none = try await store.submit(NewTask(agent: "echo", prompt: "c"), now: t0).task
        for task in [plain, keyed] {
            #expect(task.policy == policy)
            #expect(try await store.task(task.id)?.policy == policy)
        }
        #expect(none.policy == nil)
        #expect(try await store.task(none.id)?.policy == nil)
        #expect(try await store.listTasks(TaskQuery()).tasks.filter { $0.policy == policy }.count == 2)
        let claimed = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        #expect(claimed.task.policy == policy)

        var child = NewTask(agent: "", prompt: "child")
        child.parentID = plain.id
        #expect(try await store.submit(child, now: t0).task.policy == policy)
    }

    @Test("an agent's policy, setup, repository, secrets and artifacts survive a save and a read", arguments: StoreKind.allCases)
    func agentIsolation(kind: StoreKind) async throws {
        let store = try await kind.make()
        var agent = Agent(name: "coder", runner: .command, config: ["command": ["true"]])
        agent.policy = ExecutionPolicy(security: .allowlist, allow: ["Bash(npm test:*)"], network: false, hosts: ["api.github.com"])
        agent.setup = SetupPhase(command: ["npm", "ci"], policy: ExecutionPolicy(network: true), timeout: 600)
        agent.git = GitWorkspace(repo: "/srv/repo", base: "main", keepWorktree: true, repoConcurrency: 2)
        agent.secrets = [AgentSecret(name: "NPM_TOKEN", env: "NPM_TOKEN", phases: [.setup])]
        agent.envFile = EnvFile(path: "/etc/agent.env")
        agent.artifacts = ["out/*.md"]
        try await store.saveAgent(agent)
        let read = try #require(try await store.agent(named: "coder"))
        #expect(read.policy == agent.policy)
        #expect(read.setup == agent.setup)
        #expect(read.git == agent.git)
        #expect(read.secrets == agent.secrets)
        #expect(read.envFile == agent.envFile)
        #expect(read.artifacts == agent.artifacts)
    }
}
