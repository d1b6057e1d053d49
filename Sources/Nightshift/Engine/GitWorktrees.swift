import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A task's git worktree (an agent with ``GitWorkspace``): made from the agent's base on branch
/// `nightshift/<task id>` before the task's first run, reused by its retries, diffed after each
/// run, removed (its branch kept) when the task ends. Every `git` command that changes the
/// repository's worktrees holds the repository's lock (`flock` on `nightshift.lock` in its common
/// git directory), so no two run at once, whichever daemon on the machine runs them.
/// See docs/worktrees.md.
package enum GitWorktrees {
    /// The most bytes of a run's patch kept in its `diff` event: 512 KiB.
    package static let patchCap = 512 << 10

    /// Where `git` is.
    static let executable: String? = ["/usr/bin/git", "/bin/git", "/usr/local/bin/git"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// A `git` command that failed.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        /// The command, and what git said.
        package var description: String
    }

    /// Runs `git arguments` in `directory`; its stdout, or ``Failure`` with its stderr. Runs on a
    /// thread of its own, not the concurrency pool.
    @discardableResult
    package static func git(_ arguments: [String], in directory: String, environment: [String: String] = [:]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try gitNow(arguments, in: directory, environment: environment) })
            }
        }
    }

    private static func gitNow(_ arguments: [String], in directory: String, environment: [String: String]) throws -> String {
        guard let executable else { throw Failure(description: "git is not installed") }
        var variables = ProcessInfo.processInfo.environment
        // No prompt, no pager, no user config that changes output.
        variables["GIT_TERMINAL_PROMPT"] = "0"
        variables["GIT_PAGER"] = "cat"
        variables["LC_ALL"] = "C"
        variables.merge(environment) { _, new in new }
        let outcome: ShortCommand.Outcome
        do {
            outcome = try ShortCommand.run(executable, ["-C", directory] + arguments, environment: variables)
        } catch {
            throw Failure(description: "git \(arguments.joined(separator: " ")) could not start in \(directory): \(error)")
        }
        guard outcome.status == 0 else {
            let said = outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            throw Failure(description: "git \(arguments.joined(separator: " ")) failed (exit \(outcome.status))" + (said.isEmpty ? "" : ": \(said)"))
        }
        return String(decoding: outcome.stdout, as: UTF8.self)
    }

    /// The repository's common git directory (shared by its worktrees); throws naming why `repo`
    /// is not a git repository.
    package static func commonDirectory(of repo: String) async throws -> String {
        try await resolve(repo, revision: nil).common
    }

    /// One `git`: `repo`'s common git directory and, when asked, the commit `revision` names;
    /// throws naming why `repo` is not a git repository or `revision` no commit.
    static func resolve(_ repo: String, revision: String?) async throws -> (common: String, commit: String?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: repo, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Failure(description: "\(repo) is not a directory")
        }
        let found = try await git(["rev-parse", "--git-common-dir"] + (revision.map { [$0 + "^{commit}"] } ?? []), in: repo)
            .split(separator: "\n").map(String.init)
        guard found.count == (revision == nil ? 1 : 2) else { throw Failure(description: "git rev-parse in \(repo) answered \(found)") }
        return (absolute(found[0], from: repo), found.count == 2 ? found[1] : nil)
    }

    /// A path git printed (relative to `directory`, or absolute), made absolute.
    static func absolute(_ path: String, from directory: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: directory).appendingPathComponent(path).standardizedFileURL.path
    }

    /// The commit `workspace`'s tasks start from, and its repository's common git directory.
    static func resolveBase(_ workspace: GitWorkspace) async throws -> (common: String, base: String) {
        let found = try await resolve(workspace.repo, revision: workspace.base ?? "HEAD")
        return (found.common, found.commit ?? "")
    }

    /// Throws, naming the agent, when its `repo` is not a git repository (checked when the agent is
    /// loaded from the config file or written through the API).
    package static func verify(_ agent: Agent) throws(NightshiftError) {
        guard let repo = agent.git?.repo else { return }
        do {
            _ = try gitNow(["rev-parse", "--git-common-dir"], in: repo, environment: [:])
        } catch {
            throw .invalid("repo", "agent \(agent.name): \(repo) is not a git repository (\(error))")
        }
    }

    /// Runs `body` holding `repo`'s lock: `flock` on `<common dir>/nightshift.lock`, which excludes
    /// every other holder, in this process (each holder opens its own descriptor) or another.
    package static func withLock<T: Sendable>(commonDirectory: String, _ body: () async throws -> T) async throws -> T {
        let descriptor = open(commonDirectory + "/nightshift.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw Failure(description: "cannot open \(commonDirectory)/nightshift.lock: errno \(errno)") }
        defer { close(descriptor) }
        var wait = Duration.milliseconds(1)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            try await Task.sleep(for: wait)
            wait = min(wait * 2, .milliseconds(50))
        }
        defer { flock(descriptor, LOCK_UN) }
        return try await body()
    }

    /// What ``prepare(_:task:at:)`` made or found.
    package struct Prepared: Sendable {
        /// The worktree's path (the run's workspace).
        package var path: String
        /// The repository's common git directory (writable to the agent, for its commits).
        package var commonDirectory: String
        /// The commit the task's branch started from.
        package var base: String
        /// Whether this run made it (false: a retry reusing it).
        package var created: Bool
        /// Whether it was a spare of the pool (moved, not checked out).
        package var fromSpare = false
    }

    /// The worktree of `task` at `path`: reused when it is there, else a spare of the pool beside
    /// `path` (``fillSpare(_:in:)``) moved there, else made; either way on the task's branch
    /// (made from the agent's base, or reused when an earlier worktree of the task left it).
    package static func prepare(_ workspace: GitWorkspace, task: TaskID, at path: String) async throws -> Prepared {
        if FileManager.default.fileExists(atPath: path + "/.git"), let base = try? await recordedBase(worktree: path) {
            return Prepared(path: path, commonDirectory: try await commonDirectory(of: workspace.repo), base: base, created: false)
        }
        let (common, base) = try await resolveBase(workspace)
        let branch = GitWorkspace.branch(for: task)
        let pool = poolDirectory(in: (path as NSString).deletingLastPathComponent)
        let (fromSpare, coldBranchExisted) = try await withLock(commonDirectory: common) { () async throws -> (Bool, Bool) in
            // What a crash left half made goes first.
            if FileManager.default.fileExists(atPath: path) { try? FileManager.default.removeItem(atPath: path) }
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // A spare already checked out (at some base) needs only its metadata moved: no file is written.
            if let spare = readySpare(in: pool, commonDirectory: common),
               (try? await git(["worktree", "move", spare, path], in: workspace.repo)) != nil
            {
                return (true, false)
            }
            try await git(["worktree", "prune"], in: workspace.repo)
            if (try? await git(["worktree", "add", "--quiet", "-b", branch, path, base], in: workspace.repo)) == nil {
                // The branch is there from an earlier worktree of the task: check it out again.
                if FileManager.default.fileExists(atPath: path) { try? FileManager.default.removeItem(atPath: path) }
                try await git(["worktree", "add", "--quiet", path, branch], in: workspace.repo)
                return (false, true)
            }
            return (false, false)
        }
        guard let privateDirectory = privateDirectory(of: path) else { throw Failure(description: "\(path) is not a git worktree") }
        var branchExisted = coldBranchExisted
        if fromSpare {
            // Inside the task's own worktree, outside the repository's lock. A spare at the base
            // only needs its branch (no file is written, the index is not even read); otherwise
            // only the files that differ between the spare's commit and the branch's are written.
            try? FileManager.default.removeItem(atPath: privateDirectory + "/" + readyMarker)
            let spareHead = try? String(contentsOfFile: privateDirectory + "/HEAD", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            if spareHead == base, (try? await git(["branch", "--no-track", branch, base], in: path)) != nil {
                try await git(["symbolic-ref", "HEAD", "refs/heads/" + branch], in: path)
            } else if (try? await git(["checkout", "--quiet", "-b", branch, base], in: path)) == nil {
                try await git(["checkout", "--quiet", branch], in: path)
                branchExisted = true
            }
        }
        // A branch the task had before started where it forked from the base.
        let start = branchExisted
            ? (try? await git(["merge-base", base, "HEAD"], in: path).trimmingCharacters(in: .whitespacesAndNewlines)) ?? base
            : base
        try start.write(toFile: privateDirectory + "/nightshift-base", atomically: true, encoding: .utf8)
        if workspace.keepWorktree { FileManager.default.createFile(atPath: privateDirectory + "/nightshift-keep", contents: nil) }
        return Prepared(path: path, commonDirectory: common, base: start, created: true, fromSpare: fromSpare)
    }

    /// The marker, in a spare's private git directory, of a spare wholly checked out.
    static let readyMarker = "nightshift-spare-ready"

    /// Where the spares of the worktrees in `root` wait: `<root>/.pool`.
    static func poolDirectory(in root: String) -> String {
        (root as NSString).appendingPathComponent(".pool")
    }

    /// The name prefix of a repository's spares in a pool (a hash of its common git directory).
    static func spareKey(_ commonDirectory: String) -> String {
        StableHash.hex(commonDirectory)
    }

    /// A spare of the repository in `pool` that is wholly checked out, if there is one.
    static func readySpare(in pool: String, commonDirectory: String) -> String? {
        let key = spareKey(commonDirectory)
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: pool)) ?? []).filter { $0.hasPrefix(key + "-") }.sorted()
        return names.lazy.map { pool + "/" + $0 }.first { spare in
            guard let directory = privateDirectory(of: spare) else { return false }
            return FileManager.default.fileExists(atPath: directory + "/" + readyMarker)
        }
    }

    /// Whether a spare of `workspace`'s repository waits ready for the worktrees in `root`.
    package static func hasReadySpare(_ workspace: GitWorkspace, in root: String) async -> Bool {
        guard let common = try? await commonDirectory(of: workspace.repo) else { return false }
        return readySpare(in: poolDirectory(in: root), commonDirectory: common) != nil
    }

    /// Makes `workspace.spareWorktrees` spares of its repository wait, checked out at its base,
    /// for the worktrees in `root`, so that the next task's worktree costs a rename, not a checkout.
    /// The worktree is registered under the repository's lock (no files); its files are written
    /// outside it, and it is marked ready once whole. Answers how many it made.
    @discardableResult
    package static func fillSpare(_ workspace: GitWorkspace, in root: String) async -> Int {
        guard workspace.spareWorktrees > 0, let common = try? await commonDirectory(of: workspace.repo) else { return 0 }
        let key = spareKey(common)
        guard filling.withLock({ $0.insert(key).inserted }) else { return 0 }
        defer { _ = filling.withLock { $0.remove(key) } }
        let pool = poolDirectory(in: root)
        var made = 0
        while true {
            let existing = ((try? FileManager.default.contentsOfDirectory(atPath: pool)) ?? []).filter { $0.hasPrefix(key + "-") }
            guard existing.count < workspace.spareWorktrees else { break }
            let spare = pool + "/" + key + "-" + UUID().uuidString.lowercased()
            do {
                try FileManager.default.createDirectory(atPath: pool, withIntermediateDirectories: true)
                let base = try await resolveBase(workspace).base
                try await withLock(commonDirectory: common) {
                    try await git(["worktree", "add", "--quiet", "--no-checkout", "--detach", spare, base], in: workspace.repo)
                }
                try await git(["reset", "--quiet", "--hard", base], in: spare)
                // Files written in the same second as the index are "racily clean" to git, which
                // then reads them all again at the next status: once that second has passed, a
                // refresh writes an index whose entries can be trusted.
                try await Task.sleep(for: .milliseconds(1100))
                try await git(["update-index", "-q", "--refresh"], in: spare)
                guard let privateDirectory = privateDirectory(of: spare) else { throw Failure(description: "\(spare) is not a git worktree") }
                FileManager.default.createFile(atPath: privateDirectory + "/" + readyMarker, contents: nil)
                made += 1
            } catch {
                await remove(worktree: spare, force: true)
                break
            }
        }
        return made
    }

    /// The repositories whose spares this process is filling now.
    private static let filling = Mutex<Set<String>>([])

    /// The commit the worktree's branch started from, as ``prepare(_:task:at:)`` recorded it.
    static func recordedBase(worktree: String) async throws -> String {
        guard let privateDirectory = privateDirectory(of: worktree) else { throw Failure(description: "\(worktree) is not a git worktree") }
        return try String(contentsOfFile: privateDirectory + "/nightshift-base", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A worktree's private git directory, read from its `.git` file (`gitdir: <path>`), without a `git`.
    static func privateDirectory(of worktree: String) -> String? {
        guard let link = try? String(contentsOfFile: worktree + "/.git", encoding: .utf8), link.hasPrefix("gitdir: ") else { return nil }
        return absolute(link.dropFirst(8).trimmingCharacters(in: .whitespacesAndNewlines), from: worktree)
    }

    /// What a run left in the worktree against `base`: the commits made, the diff stat, and the
    /// patch (uncommitted and untracked files included, cut at ``patchCap``), as a `diff` event's data.
    package static func diff(worktree: String, base: String) async throws -> JSONValue {
        let log = try await git(["log", "--format=%H%x09%s", "\(base)..HEAD"], in: worktree)
        let commits: [JSONValue] = log.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            return ["sha": .string(String(parts[0])), "subject": .string(parts.count > 1 ? String(parts[1]) : "")]
        }
        let head = log.isEmpty
            ? try await git(["rev-parse", "HEAD"], in: worktree).trimmingCharacters(in: .whitespacesAndNewlines)
            : String(log.prefix { $0 != "\t" })
        // A copy of the worktree's index with every change staged: the patch then covers what the
        // agent did not commit, new files included, and the worktree's own index is left alone.
        guard let privateDirectory = privateDirectory(of: worktree) else { throw Failure(description: "\(worktree) is not a git worktree") }
        let scratch = NSTemporaryDirectory() + "nightshift-index-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if FileManager.default.fileExists(atPath: privateDirectory + "/index") {
            try FileManager.default.copyItem(atPath: privateDirectory + "/index", toPath: scratch)
        }
        let staged = ["GIT_INDEX_FILE": scratch]
        try await git(["add", "-A"], in: worktree, environment: staged)
        // One pass: the stat (its last line the totals), then the patch from its first `diff --git`.
        let both = try await git(["diff", "--cached", "--stat", "--patch", "--binary", base], in: worktree, environment: staged)
        let patchStart = both.range(of: "\ndiff --git ")?.lowerBound
        let stat = String(both[..<(patchStart ?? both.endIndex)]).trimmingCharacters(in: .newlines)
        let patch = patchStart.map { String(both[both.index(after: $0)...]) } ?? ""
        let totals = stat.split(separator: "\n").last.map(String.init) ?? ""
        let bytes = Array(patch.utf8)
        let cut = bytes.count > patchCap ? String(decoding: bytes[..<UTF8Cut.boundary(in: bytes, atMost: patchCap)], as: UTF8.self) : patch
        func count(_ word: String) -> Int64 {
            guard let range = totals.range(of: " \(word)") else { return 0 }
            let digits = totals[..<range.lowerBound].reversed().prefix { $0.isNumber }
            return Int64(String(digits.reversed())) ?? 0
        }
        return [
            "base": .string(base), "head": .string(head), "commits": .array(commits), "stat": .string(stat.isEmpty ? "" : stat + "\n"),
            "files_changed": .int(count("file")), "insertions": .int(count("insertion")), "deletions": .int(count("deletion")),
            "patch": .string(cut), "patch_bytes": .int(Int64(bytes.count)), "truncated": .bool(bytes.count > patchCap),
            "cap_bytes": .int(Int64(patchCap)),
        ]
    }

    /// Removes the worktree at `path` (its branch stays), unless it was made to be kept and `force`
    /// is false; answers whether it went.
    @discardableResult
    package static func remove(worktree path: String, force: Bool = false) async -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        guard let privateDirectory = privateDirectory(of: path), FileManager.default.fileExists(atPath: privateDirectory) else {
            // Not a worktree any more (half made, or its repository gone): only the directory is left.
            return (try? FileManager.default.removeItem(atPath: path)) != nil
        }
        if !force, FileManager.default.fileExists(atPath: privateDirectory + "/nightshift-keep") { return false }
        guard let common = try? await git(["rev-parse", "--git-common-dir"], in: path).trimmingCharacters(in: .whitespacesAndNewlines) else {
            return false
        }
        let commonPath = absolute(common, from: path)
        let removed = try? await withLock(commonDirectory: commonPath) { () async throws -> Bool in
            if (try? await git(["worktree", "remove", "--force", "--force", path], in: commonPath)) == nil {
                try? FileManager.default.removeItem(atPath: path)
                try await git(["worktree", "prune"], in: commonPath)
            }
            return true
        }
        return removed ?? false
    }
}
