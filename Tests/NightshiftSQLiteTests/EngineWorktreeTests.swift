import Foundation
import Nightshift
import NightshiftRunners
import NightshiftTestSupport
import Testing

/// A git worktree per task, through the real `git`, against repositories the tests make; the
/// agent is a real command run under bubblewrap (scripts/test installs both).
@Suite("Engine: git worktrees")
struct EngineWorktreeTests {
    /// bubblewrap when this machine has it (with CI=true it must), else none.
    static let sandbox: ExecutionPolicy.Sandbox = {
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap") { return .bubblewrap }
        if ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI=true and /usr/bin/bwrap is missing") }
        return .none
    }()

    /// A repository with two commits on `main`.
    static func makeRepository() async throws -> String {
        try await TestRepository.make(commits: [["README.md": "# project\n"], ["main.py": "print(1)\n"]])
    }

    static func engine(_ store: any TaskStore, root: URL, slots: Int = 4) -> Engine {
        Engine(
            store: store, runners: RunnerRegistry([CommandRunner(killGrace: .milliseconds(300))]),
            configuration: EngineConfiguration(nodeID: "node-wt", slots: slots, rescueInterval: 0.1, pollInterval: 0.2, shutdownGrace: 1, workRoot: root))
    }

    static func agent(repo: String, script: String, keep: Bool = false, retries: Int = 1) -> Agent {
        var agent = Agent(
            name: "coder", runner: .command, config: ["command": ["/bin/sh", "-c", .string(script)]],
            retry: RetryPolicy(maxAttempts: retries, initialBackoff: 0, maxBackoff: 0))
        agent.git = GitWorkspace(repo: repo, base: "main", keepWorktree: keep)
        agent.policy = ExecutionPolicy(network: false, sandbox: sandbox)
        return agent
    }

    static func events(_ store: any TaskStore, _ id: TaskID, _ type: String) async throws -> [JSONValue] {
        try await store.events(task: id, after: 0, limit: 1000).filter { $0.type == type }.map(\.data)
    }

    @Test("a task works on its own branch and worktree; its retry reuses it; each run's diff is kept; the worktree goes at the end, the branch stays", arguments: StoreKind.allCases)
    func lifecycle(kind: StoreKind) async throws {
        let repo = try await Self.makeRepository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ns-wt-\(UUID().uuidString)")
        // Attempt 1 commits a file, leaves another uncommitted and fails; attempt 2 finds both.
        let script = """
            if [ "$NIGHTSHIFT_ATTEMPT" = 1 ]; then
              echo one > one.txt && git add one.txt && git -c user.email=a@b -c user.name=agent commit -qm 'add one' || exit 8
              echo draft > draft.txt; exit 3
            fi
            test -f one.txt && test -f draft.txt || exit 9
            echo more >> README.md
            git rev-parse --abbrev-ref HEAD
            """
        let store = try await kind.make()
        try await store.saveAgent(Self.agent(repo: repo, script: script, retries: 2))
        try await withEngine(Self.engine(store, root: root)) { engine in
            let id = try await engine.submit(NewTask(agent: "coder", prompt: "work")).task.id
            #expect(try await eventually(timeout: .seconds(30)) { try await store.task(id)?.state.isTerminal == true })
            let task = try #require(try await store.task(id))
            #expect(task.state == .done, "\(task.error ?? "")")
            #expect(task.result == "nightshift/\(id)")

            let worktrees = try await Self.events(store, id, "worktree")
            #expect(worktrees.map { $0["created"] } == [.bool(true), .bool(false)])
            let path = root.appendingPathComponent(".worktrees/\(id)").path
            #expect(Set(worktrees.compactMap { $0["path"]?.stringValue }) == [path])
            #expect(worktrees.first?["branch"] == .string("nightshift/\(id)"))

            let diffs = try await Self.events(store, id, "diff")
            #expect(diffs.count == 2)
            let first = try #require(diffs.first)
            #expect(first["commits"]?.arrayValue?.compactMap { $0["subject"]?.stringValue } == ["add one"])
            let patch = first["patch"]?.stringValue ?? ""
            #expect(patch.contains("+++ b/one.txt") && patch.contains("+++ b/draft.txt"), "\(patch)")
            #expect(first["files_changed"] == .int(2))
            #expect(first["truncated"] == .bool(false))
            #expect(diffs.last?["patch"]?.stringValue?.contains("+more") == true)

            // Ended: the worktree is removed; the branch, with the agent's commit, stays.
            #expect(await eventually(timeout: .seconds(10)) { !FileManager.default.fileExists(atPath: path) })
            let subject = try await GitWorktrees.git(["log", "-1", "--format=%s", "nightshift/\(id)"], in: repo)
            #expect(subject == "add one\n")
            let listed = try await GitWorktrees.git(["worktree", "list", "--porcelain"], in: repo)
            #expect(!listed.contains(path))
            // The repository's own checkout is untouched.
            #expect(try await GitWorktrees.git(["status", "--porcelain"], in: repo).isEmpty)
        }
    }

    @Test("keep_worktree keeps it; the sweep removes the worktrees of ended and unknown tasks, never a live task's")
    func keepAndSweep() async throws {
        let repo = try await Self.makeRepository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ns-wt-\(UUID().uuidString)")
        let store = try await makeStore(Self.agent(repo: repo, script: "echo kept > k.txt", keep: true))
        let engine = Self.engine(store, root: root)
        try await withEngine(engine) { engine in
            let kept = try await engine.submit(NewTask(agent: "coder", prompt: "keep")).task.id
            #expect(try await eventually(timeout: .seconds(30)) { try await store.state(of: kept) == .done })
            // The end of the run does not remove it.
            let keptPath = root.appendingPathComponent(".worktrees/\(kept)").path
            #expect(FileManager.default.fileExists(atPath: keptPath + "/k.txt"))

            // A queued task's worktree (from an earlier attempt) and an unknown task's.
            let live = try await engine.submit(NewTask(agent: "coder", prompt: "later", availableAt: Date().addingTimeInterval(3600))).task.id
            let unknown = TaskID.generate()
            let workspace = GitWorkspace(repo: repo, base: "main")
            for id in [live, unknown] {
                _ = try await GitWorktrees.prepare(workspace, task: id, at: root.appendingPathComponent(".worktrees/\(id)").path)
            }
            _ = try await engine.removeLeftoverDirectories()
            #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent(".worktrees/\(unknown)").path))
            #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(".worktrees/\(live)").path))
            #expect(FileManager.default.fileExists(atPath: keptPath))
            let listed = try await GitWorktrees.git(["worktree", "list", "--porcelain"], in: repo)
            #expect(!listed.contains(unknown.rawValue))
        }
    }

    @Test("tasks started together on one repository each get their worktree: git operations never overlap")
    func concurrentTasks() async throws {
        let repo = try await Self.makeRepository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ns-wt-\(UUID().uuidString)")
        let store = try await makeStore(Self.agent(repo: repo, script: "git rev-parse --abbrev-ref HEAD"))
        try await withEngine(Self.engine(store, root: root, slots: 8)) { engine in
            var ids: [TaskID] = []
            for index in 0..<8 { ids.append(try await engine.submit(NewTask(agent: "coder", prompt: "n\(index)")).task.id) }
            #expect(try await eventually(timeout: .seconds(60)) {
                var ended = 0
                for id in ids where try await store.task(id)?.state.isTerminal == true { ended += 1 }
                return ended == ids.count
            })
            for id in ids {
                let task = try await store.task(id)
                #expect(task?.state == .done, "\(task?.error ?? "")")
                #expect(task?.result == "nightshift/\(id)")
            }
        }
        let branches = try await GitWorktrees.git(["branch", "--list", "nightshift/*"], in: repo)
        #expect(branches.split(separator: "\n").count == 8)
    }

    @Test("repo_concurrency caps the live tasks of a repository, across the agents that share it", arguments: StoreKind.allCases)
    func repoConcurrency(kind: StoreKind) async throws {
        let repo = try await Self.makeRepository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ns-wt-\(UUID().uuidString)")
        let shared = FileManager.default.temporaryDirectory.appendingPathComponent("ns-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: shared, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: shared) }
        // Each run marks itself live, notes how many are, works a moment, and unmarks itself.
        let script = """
            touch \(shared.path)/live-$NIGHTSHIFT_TASK_ID; ls \(shared.path) | grep -c '^live-' >> \(shared.path)/counts
            sleep 0.2; rm \(shared.path)/live-$NIGHTSHIFT_TASK_ID
            """
        let store = try await kind.make()
        for name in ["coder", "reviewer"] {
            var agent = Self.agent(repo: repo, script: script)
            agent.name = name
            agent.policy = ExecutionPolicy()
            agent.git?.repoConcurrency = 1
            let engine = Self.engine(store, root: root)
            try await engine.saveAgent(agent)
        }
        try await withEngine(Self.engine(store, root: root, slots: 6)) { engine in
            var ids: [TaskID] = []
            for index in 0..<6 {
                ids.append(try await engine.submit(NewTask(agent: index % 2 == 0 ? "coder" : "reviewer", prompt: "n\(index)")).task.id)
            }
            #expect(try await store.task(ids[0])?.lane == GitWorkspace(repo: repo).lane)
            #expect(try await eventually(timeout: .seconds(60)) {
                var done = 0
                for id in ids where try await store.task(id)?.state == .done { done += 1 }
                return done == ids.count
            })
        }
        let counts = (try String(contentsOf: shared.appendingPathComponent("counts"), encoding: .utf8)).split(separator: "\n").compactMap { Int($0) }
        #expect(counts.count == 6)
        #expect(counts.allSatisfy { $0 == 1 }, "\(counts)")
    }

    @Test("after a task's worktree is made, a spare is checked out in the background; the next task's worktree is that spare, moved, on its own branch")
    func spareWorktree() async throws {
        let repo = try await Self.makeRepository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ns-wt-\(UUID().uuidString)")
        let store = try await makeStore(Self.agent(repo: repo, script: "echo change >> README.md; git rev-parse --abbrev-ref HEAD"))
        let workspace = GitWorkspace(repo: repo, base: "main")
        let pool = root.appendingPathComponent(".worktrees").path
        try await withEngine(Self.engine(store, root: root)) { engine in
            let first = try await engine.submit(NewTask(agent: "coder", prompt: "one")).task.id
            #expect(try await eventually(timeout: .seconds(30)) { try await store.state(of: first) == .done })
            #expect(try await Self.events(store, first, "worktree").first?["from_spare"] == .bool(false))
            #expect(await eventually(timeout: .seconds(30)) { await GitWorktrees.hasReadySpare(workspace, in: pool) })

            let second = try await engine.submit(NewTask(agent: "coder", prompt: "two")).task.id
            #expect(try await eventually(timeout: .seconds(30)) { try await store.state(of: second) == .done })
            #expect(try await Self.events(store, second, "worktree").first?["from_spare"] == .bool(true))
            #expect(try await store.task(second)?.result == "nightshift/\(second)")
            let diff = try #require(try await Self.events(store, second, "diff").first)
            #expect(diff["files_changed"] == .int(1))
            #expect(diff["patch"]?.stringValue?.contains("+change") == true)
        }
    }

    @Test("a patch over the cap is cut on a character boundary, and the diff says so with the whole patch's size")
    func patchCap() async throws {
        let repo = try await Self.makeRepository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ns-wt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent(".worktrees/t").path
        let worktree = try await GitWorktrees.prepare(GitWorkspace(repo: repo, base: "main", spareWorktrees: 0), task: TaskID.generate(), at: path)
        // 30,000 lines of two-byte characters: a patch of about 900 KiB.
        try String(repeating: "ééééééééééééé\n", count: 30_000).write(toFile: path + "/big.txt", atomically: true, encoding: .utf8)
        let diff = try await GitWorktrees.diff(worktree: path, base: worktree.base)
        let patch = try #require(diff["patch"]?.stringValue)
        #expect(diff["truncated"] == .bool(true))
        #expect(diff["cap_bytes"] == .int(Int64(GitWorktrees.patchCap)))
        #expect(patch.utf8.count <= GitWorktrees.patchCap && patch.utf8.count > GitWorktrees.patchCap - 4)
        #expect(!patch.contains("\u{FFFD}"), "cut inside a character")
        #expect((diff["patch_bytes"]?.doubleValue ?? 0) > Double(GitWorktrees.patchCap))
        #expect(diff["files_changed"] == .int(1) && diff["insertions"] == .int(30_000))
    }
}
