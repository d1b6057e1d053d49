import Foundation
import Nightshift
import Testing

/// Workspaces, per-workspace agents and tokens, and agents stored as documents, on every store.
@Suite("Workspace conformance")
struct WorkspaceConformanceTests {
    /// An agent whose every field differs from a default agent's.
    static let fullAgent = Agent(
        workspaceID: "team-a", name: "full", runner: .claudeCode, config: ["model": "opus", "args": ["--x", 1, true, .null]],
        concurrency: 3, timeout: 12.5, stallTimeout: 42, retry: RetryPolicy(maxAttempts: 5, initialBackoff: 0.25, maxBackoff: 90),
        budgetUSD: 7.75, spentUSD: 0, injectMemories: true, ask: .always, rate: AgentRate(limit: 30, window: 3_600),
        quotaGroup: "anthropic", parkOnLimit: false, policy: ExecutionPolicy(network: false, sandbox: .bubblewrap, memoryBytes: 1 << 30),
        setup: SetupPhase(command: ["npm", "ci"], policy: ExecutionPolicy(network: true), timeout: 300),
        git: GitWorkspace(repo: "/srv/repo", base: "main", keepWorktree: true, spareWorktrees: 2),
        secrets: [AgentSecret(name: "TOKEN", file: "/run/secrets/token", phases: [.setup, .agent])],
        envFile: EnvFile(path: "/etc/agent.env", phases: [.setup]), artifacts: ["out/*.md"])

    @Test("every field of an agent survives the store (a new field is carried by its document)", arguments: StoreKind.allCases)
    func agentRoundTrip(kind: StoreKind) async throws {
        // The fixture must set every stored field away from its default, so that a field added
        // to Agent and lost by a store fails this test (spentUSD is the store's, checked below).
        let plain = Agent(name: "plain", runner: .builtin)
        let unset = zip(Mirror(reflecting: Self.fullAgent).children, Mirror(reflecting: plain).children)
            .filter { "\($0.0.value)" == "\($0.1.value)" }.compactMap(\.0.label)
        #expect(unset == ["spentUSD"], "set every field of fullAgent to a non-default value")

        let store = try await kind.make()
        _ = try await store.createWorkspace("team-a", now: t0)
        try await store.saveAgent(Self.fullAgent)
        #expect(try await store.agent(named: "full", workspace: "team-a") == Self.fullAgent)
        #expect(try await store.agents(workspace: "team-a") == [Self.fullAgent])

        // What runs spend is the store's: a task of the agent settled with a cost adds to it.
        let task = try await store.submit(NewTask(agent: "full", prompt: "p", workspaceID: "team-a", ask: .off), now: t0).task
        #expect(task.timeout == 12.5 && task.retry == Self.fullAgent.retry, "submit takes the agent's defaults")
        let claimed = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 60, now: t0).first)
        var usage = RunUsage()
        usage.costUSD = 1.5
        _ = try await store.settle(claimed.lease, outcome: .succeeded("ok", usage: usage), now: t0)
        var spent = Self.fullAgent
        spent.spentUSD = 1.5
        #expect(try await store.agent(named: "full", workspace: "team-a") == spent)
        // Replacing the agent keeps what it spent.
        try await store.saveAgent(Self.fullAgent)
        #expect(try await store.agent(named: "full", workspace: "team-a")?.spentUSD == 1.5)
    }

    @Test("two workspaces each have their own agent of one name; a task claims under its own", arguments: StoreKind.allCases)
    func agentsPerWorkspace(kind: StoreKind) async throws {
        let store = try await kind.make()
        _ = try await store.createWorkspace("a", now: t0)
        _ = try await store.createWorkspace("b", now: t0)
        try await store.saveAgent(Agent(workspaceID: "a", name: "claude", runner: .builtin, concurrency: 1, timeout: 10))
        try await store.saveAgent(Agent(workspaceID: "b", name: "claude", runner: .command, config: ["command": ["/bin/true"]], timeout: 20))
        #expect(try await store.agents(workspace: "a").map(\.runner) == [.builtin])
        #expect(try await store.agents(workspace: "b").map(\.runner) == [.command])
        #expect(try await store.agents(workspace: nil).count == 2)
        #expect(try await store.agent(named: "claude", workspace: Workspace.defaultID) == nil)

        var ids: [String: [TaskID]] = [:]
        for workspace in ["a", "b"] {
            for index in 0..<2 {
                let task = try await store.submit(NewTask(agent: "claude", prompt: "\(index)", workspaceID: workspace), now: t0).task
                #expect(task.timeout == (workspace == "a" ? 10 : 20), "the default comes from the workspace's own agent")
                ids[workspace, default: []].append(task.id)
            }
        }
        // a's claude runs one at a time; b's has no limit: the limit is not shared by name.
        let claimed = try await store.claim(worker: "w", limit: 10, leaseDuration: 60, now: t0)
        #expect(claimed.filter { $0.task.workspaceID == "a" }.count == 1)
        #expect(claimed.filter { $0.task.workspaceID == "b" }.count == 2)
        #expect(try await store.deleteAgent(named: "claude", workspace: "a"))
        #expect(try await store.agent(named: "claude", workspace: "b") != nil, "deleting a's agent leaves b's")
        let error = await #expect(throws: NightshiftError.self) {
            try await store.submit(NewTask(agent: "claude", prompt: "x", workspaceID: "a"), now: t0)
        }
        #expect(error?.field == "agent")
    }

    @Test("reads, actions and listings answer only their workspace's rows", arguments: StoreKind.allCases)
    func scopedReads(kind: StoreKind) async throws {
        let store = try await kind.make()
        _ = try await store.createWorkspace("b", now: t0)
        try await store.saveAgent(echoAgent)
        try await store.saveAgent(Agent(workspaceID: "b", name: "echo", runner: .builtin))
        let mine = try await store.submit(NewTask(agent: "echo", prompt: "a"), now: t0).task
        let theirs = try await store.submit(NewTask(agent: "echo", prompt: "b", workspaceID: "b"), now: t0).task
        let claimed = try await store.claim(worker: "w", limit: 2, leaseDuration: 60, now: t0)
        #expect(claimed.count == 2)
        for run in claimed { _ = try await store.settle(run.lease, outcome: .succeeded("ok"), now: t0) }

        let a = Workspace.defaultID
        #expect(try await store.task(theirs.id, workspace: a) == nil)
        #expect(try await store.task(theirs.id, workspace: "b")?.id == theirs.id)
        #expect(try await store.runs(task: theirs.id, workspace: a).isEmpty)
        #expect(try await store.runs(task: theirs.id, workspace: "b").count == 1)
        #expect(try await store.events(task: theirs.id, after: 0, limit: 100, workspace: a).isEmpty)
        #expect(try await store.events(task: theirs.id, after: 0, limit: 100, workspace: "b").count == 3)
        var query = TaskQuery()
        query.workspace = a
        #expect(try await store.listTasks(query).tasks.map(\.id) == [mine.id])
        query.workspace = "b"
        #expect(try await store.listTasks(query).tasks.map(\.id) == [theirs.id])
        #expect(try await store.countsByState(workspace: "b")[.done] == 1)
        #expect(try await store.countsByState(workspace: nil)[.done] == 2)
        #expect(try await store.agentStats(workspace: "b").map(\.tasks) == [1])
        #expect(try await store.recentRuns(limit: 10, workspace: "b").map(\.taskID) == [theirs.id])
        #expect(try await store.recentRuns(limit: 10, workspace: nil).count == 2)

        for action in [{ try await store.archive(theirs.id, now: t0, workspace: a) }, { try await store.transition(theirs.id, .retry, now: t0, workspace: a) }] {
            let error = await #expect(throws: NightshiftError.self) { try await action() }
            #expect(error?.code == .notFound)
        }
        #expect(try await store.task(theirs.id)?.archivedAt == nil, "nothing changed")
        #expect(try await store.archive(theirs.id, now: t0, workspace: "b").archivedAt != nil)
    }

    @Test("checkpoints and quarantined files belong to a workspace", arguments: StoreKind.allCases)
    func scopedCheckpoints(kind: StoreKind) async throws {
        let store = try await kind.make()
        let saved = try await store.saveCheckpoint(SessionCheckpoint(agent: "claude", phase: "plan", createdAt: t0), workspace: "b")
        #expect(try await store.checkpoint(id: saved.id, workspace: "b") == saved)
        #expect(try await store.checkpoint(id: saved.id, workspace: Workspace.defaultID) == nil)
        #expect(try await store.checkpoints(CheckpointQuery(workspace: Workspace.defaultID)).isEmpty)
        #expect(try await store.checkpoints(CheckpointQuery(workspace: "b")).map(\.id) == [saved.id])
        #expect(try await store.latestActiveCheckpoint(agent: "claude", taskID: nil, sessionID: nil, workspace: "b")?.id == saved.id)
        #expect(try await store.latestActiveCheckpoint(agent: "claude", taskID: nil, sessionID: nil, workspace: "c") == nil)
        let missing = await #expect(throws: NightshiftError.self) {
            try await store.resolveCheckpoint(id: saved.id, now: t0, workspace: Workspace.defaultID)
        }
        #expect(missing?.code == .notFound)
        let taken = await #expect(throws: NightshiftError.self) {
            try await store.saveCheckpoint(SessionCheckpoint(id: saved.id, agent: "x", phase: "p", createdAt: t0), workspace: "c")
        }
        #expect(taken?.code == .conflict)
        #expect(try await store.checkpoint(id: saved.id)?.agent == "claude", "the other workspace's save changed nothing")
        #expect(try await store.cleanupCheckpoints(olderThanDays: 1, now: t0.addingTimeInterval(5 * 86_400), workspace: "c") == 0)
        #expect(try await store.cleanupCheckpoints(olderThanDays: 1, now: t0.addingTimeInterval(5 * 86_400), workspace: "b") == 1)

        let file = QuarantinedCheckpoint(fileName: "x.json", quarantinedPath: "/q/x.json", error: "bad", agent: "claude", taskID: nil, time: t0)
        try await store.recordQuarantined(file, workspace: "b")
        #expect(try await store.quarantinedCheckpoints(limit: 10, workspace: Workspace.defaultID).isEmpty)
        #expect(try await store.quarantinedCheckpoints(limit: 10, workspace: "b").map(\.fileName) == ["x.json"])
    }

    @Test("workspaces are created once; tokens are stored by digest, listed and revoked per workspace", arguments: StoreKind.allCases)
    func tokens(kind: StoreKind) async throws {
        let store = try await kind.make()
        #expect(try await store.workspaces().map(\.id) == [Workspace.defaultID], "the migration creates default")
        _ = try await store.createWorkspace("team-a", now: t0)
        let again = await #expect(throws: NightshiftError.self) { try await store.createWorkspace("team-a", now: t0) }
        #expect(again?.code == .conflict && again?.field == "id")
        let bad = await #expect(throws: NightshiftError.self) { try await store.createWorkspace("no spaces", now: t0) }
        #expect(bad?.code == .invalidInput && bad?.field == "id")
        #expect(try await store.workspaces().map(\.id) == ["default", "team-a"])
        #expect(try await store.workspace("team-a")?.createdAt == t0)
        #expect(try await store.workspace("nope") == nil)

        let digest = Array(repeating: UInt8(0xab), count: 32)
        let token = AccessToken(id: "tok-1", workspaceID: "team-a", role: .member, name: "ci", digest: digest, createdAt: t0)
        try await store.saveToken(token)
        let orphan = await #expect(throws: NightshiftError.self) {
            try await store.saveToken(AccessToken(id: "tok-2", workspaceID: "nope", role: .admin, name: "", digest: [1, 2], createdAt: t0))
        }
        #expect(orphan?.code == .invalidInput && orphan?.field == "workspace")
        #expect(try await store.token(digest: digest) == token)
        #expect(try await store.token(digest: Array(repeating: 0xac, count: 32)) == nil)
        #expect(try await store.tokens(workspace: "team-a") == [token])
        #expect(try await store.tokens(workspace: Workspace.defaultID).isEmpty)

        #expect(try await store.revokeToken(id: "tok-1", workspace: Workspace.defaultID, now: t0) == nil, "another workspace's token is not found")
        #expect(try await store.token(digest: digest)?.revokedAt == nil)
        let later = t0.addingTimeInterval(60)
        #expect(try await store.revokeToken(id: "tok-1", workspace: "team-a", now: later)?.revokedAt == later)
        #expect(try await store.revokeToken(id: "tok-1", workspace: nil, now: later.addingTimeInterval(60))?.revokedAt == later)
        #expect(try await store.token(digest: digest)?.revokedAt == later)
    }

    @Test("a revocation is seen at once by another store on the same database", arguments: StoreKind.allCases)
    func revocationShared(kind: StoreKind) async throws {
        let stores = try await kind.makeShared(2)
        let digest = Array(repeating: UInt8(7), count: 32)
        try await stores[0].saveToken(AccessToken(id: "t", workspaceID: "default", role: .readOnly, name: "", digest: digest, createdAt: t0))
        #expect(try await stores[1].token(digest: digest)?.revokedAt == nil)
        _ = try await stores[0].revokeToken(id: "t", workspace: nil, now: t0)
        #expect(try await stores[1].token(digest: digest)?.revokedAt == t0)
    }
}
