import Foundation
import Logging
import Nightshift
import NightshiftRunners

extension Bench {
    /// The variants W8 compares, each an agent of the same trivial command.
    private static let isolationVariants: [(name: String, sandbox: Bool, worktree: Bool, cold: Bool)] = [
        ("plain", false, false, false), ("bubblewrap", true, false, false), ("worktree", false, true, false),
        ("bubblewrap_worktree", true, true, false), ("worktree_cold", false, true, true),
    ]

    /// Cold worktree runs (a full checkout each): at most this many, they take seconds on a slow disk.
    private static let coldRuns = 3

    /// W8: what isolation costs a run. `runs` tasks of a trivial command agent (it prints one
    /// result line), each submitted after the previous one settled, for each variant: plain, under
    /// bubblewrap, in a fresh git worktree of a repository of `files` files (taken from the spare
    /// the pool keeps checked out: the bench waits until one is ready, outside the timing), both,
    /// and ``coldRuns`` worktrees checked out with no spare (`worktree_cold`, on a clone of the
    /// repository with `spare_worktrees = 0`). The variants take turns task by task, so drift on the
    /// machine touches them alike. Reports each variant's median and p90 latency from submit to
    /// done (spawn, parse, settle, and the worktree's add and diff), and its overhead over plain
    /// (the difference of the medians). A worktree's removal after its task ended, and the spare's
    /// refill, are not in the latency (they run after the settle, in the background).
    func w8(runs: Int, files: Int) async throws -> [(String, JSONValue)] {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-bench-w8-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(at: scratch) } }
        let repo = scratch.appendingPathComponent("repo")
        let made = ContinuousClock.now
        try await Self.makeRepository(at: repo, files: files)
        let repoSeconds = (ContinuousClock.now - made).seconds
        let coldRepo = scratch.appendingPathComponent("repo-cold")
        try await GitWorktrees.git(["clone", "--quiet", "--no-checkout", repo.path, coldRepo.path], in: scratch.path)
        let sandboxed = SandboxCheck.problem() == nil
        return try await withStore { bench in
            let store = bench.store
            for variant in Self.isolationVariants {
                var agent = Agent(
                    name: variant.name, runner: .command,
                    config: ["command": ["/bin/sh", "-c", #"echo '{"type":"result","text":"ok"}'"#]], retry: RetryPolicy(maxAttempts: 1))
                if variant.sandbox { agent.policy = ExecutionPolicy(network: false, sandbox: .bubblewrap) }
                if variant.worktree {
                    agent.git = variant.cold
                        ? GitWorkspace(repo: coldRepo.path, base: "main", spareWorktrees: 0) : GitWorkspace(repo: repo.path, base: "main")
                }
                try await store.saveAgent(agent)
            }
            var logger = Logger(label: "nightshift.bench")
            logger.logLevel = .error
            let engine = Engine(
                store: store, runners: RunnerRegistry([CommandRunner(killGrace: .seconds(1))]),
                configuration: EngineConfiguration(
                    nodeID: "bench", slots: 2, pollInterval: 60, shutdownGrace: 5, workRoot: scratch.appendingPathComponent("work")),
                logger: logger)
            var latencies: [String: [Double]] = [:]
            let root = scratch.appendingPathComponent("work/.worktrees").path
            let warm = GitWorkspace(repo: repo.path, base: "main")
            try await running(engine) {
                try await Task.sleep(for: .milliseconds(50))
                for index in 0..<runs {
                    for variant in Self.isolationVariants where (sandboxed || !variant.sandbox) && (!variant.cold || index < Self.coldRuns) {
                        if variant.worktree, !variant.cold {
                            await GitWorktrees.fillSpare(warm, in: root)
                            let deadline = ContinuousClock.now + .seconds(600)
                            while !(await GitWorktrees.hasReadySpare(warm, in: root)), ContinuousClock.now < deadline {
                                try await Task.sleep(for: .milliseconds(20))
                            }
                        }
                        let submitted = ContinuousClock.now
                        let id = try await engine.submit(NewTask(agent: variant.name, prompt: "run \(index)")).task.id
                        var state = try await store.task(id)?.state
                        while state?.isTerminal != true {
                            try await Task.sleep(for: .microseconds(200))
                            state = try await store.task(id)?.state
                        }
                        guard state == .done else {
                            throw NightshiftError(.storeUnavailable, "bench: a \(variant.name) run ended \(state?.rawValue ?? "?"): \(try await store.task(id)?.error ?? "")")
                        }
                        latencies[variant.name, default: []].append((ContinuousClock.now - submitted).seconds * 1000)
                    }
                }
            }
            var fields: [(String, JSONValue)] = [
                ("workload", "W8"), ("store", .string(storeName)), ("runs", .int(Int64(runs))), ("repo_files", .int(Int64(files))),
                ("repo_setup_s", .double(Self.round(repoSeconds))), ("bubblewrap", .bool(sandboxed)),
            ]
            let plain = Self.median(latencies["plain"] ?? [])
            for variant in Self.isolationVariants {
                guard var values = latencies[variant.name] else { continue }
                values.sort()
                let median = Self.median(values)
                fields.append(("\(variant.name)_p50_ms", .double(Self.round(median))))
                fields.append(("\(variant.name)_p90_ms", .double(Self.round(Self.percentile(values, 0.90)))))
                if variant.name != "plain" { fields.append(("\(variant.name)_overhead_ms", .double(Self.round(median - plain)))) }
            }
            fields.append(bench.durability)
            return fields
        }
    }

    /// A repository at `path` with `files` small files in directories of 100, committed on `main`.
    static func makeRepository(at path: URL, files: Int) async throws {
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        for index in 0..<files {
            let directory = path.appendingPathComponent("d\(index / 100)")
            if index % 100 == 0 { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
            try Data("file \(index)\n".utf8).write(to: directory.appendingPathComponent("f\(index).txt"))
        }
        try await GitWorktrees.git(["init", "-q", "-b", "main"], in: path.path)
        try await GitWorktrees.git(["add", "-A"], in: path.path)
        try await GitWorktrees.git(["-c", "user.email=bench@nightshift", "-c", "user.name=bench", "commit", "-q", "-m", "bench"], in: path.path)
    }
}
