import Foundation

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var variables = ProcessInfo.processInfo.environment
        // No prompt, no pager, no user config that changes output.
        variables["GIT_TERMINAL_PROMPT"] = "0"
        variables["GIT_PAGER"] = "cat"
        variables["LC_ALL"] = "C"
        variables.merge(environment) { _, new in new }
        process.environment = variables
        let output = Pipe()
        let errors = try? FileHandle.temporaryErrorFile()
        process.standardOutput = output
        process.standardError = errors ?? FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            var said = ""
            if let errors {
                try? errors.seek(toOffset: 0)
                said = String(decoding: errors.readDataToEndOfFile().prefix(4096), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            throw Failure(description: "git \(arguments.joined(separator: " ")) failed (exit \(process.terminationStatus))"
                + (said.isEmpty ? "" : ": \(said)"))
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The repository's common git directory (shared by its worktrees); throws naming why `repo`
    /// is not a git repository.
    package static func commonDirectory(of repo: String) async throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: repo, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw Failure(description: "\(repo) is not a directory")
        }
        let path = try await git(["rev-parse", "--git-common-dir"], in: repo).trimmingCharacters(in: .whitespacesAndNewlines)
        return path.hasPrefix("/") ? path : URL(fileURLWithPath: repo).appendingPathComponent(path).standardizedFileURL.path
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
    }

    /// The worktree of `task` at `path`: reused when it is there, else made on the task's branch
    /// (which is made from the agent's base, or reused when an earlier worktree of the task left it).
    package static func prepare(_ workspace: GitWorkspace, task: TaskID, at path: String) async throws -> Prepared {
        let common = try await commonDirectory(of: workspace.repo)
        let baseFile = path + "/.git"
        if FileManager.default.fileExists(atPath: baseFile), let base = try? await recordedBase(worktree: path) {
            return Prepared(path: path, commonDirectory: common, base: base, created: false)
        }
        let branch = GitWorkspace.branch(for: task)
        return try await withLock(commonDirectory: common) {
            // What a crash left half made goes first.
            if FileManager.default.fileExists(atPath: path) { try? FileManager.default.removeItem(atPath: path) }
            try await git(["worktree", "prune"], in: workspace.repo)
            let base = try await git(["rev-parse", "--verify", (workspace.base ?? "HEAD") + "^{commit}"], in: workspace.repo)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let branchExists = (try? await git(["rev-parse", "--verify", "refs/heads/" + branch], in: workspace.repo)) != nil
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if branchExists {
                try await git(["worktree", "add", "--quiet", path, branch], in: workspace.repo)
            } else {
                try await git(["worktree", "add", "--quiet", "-b", branch, path, base], in: workspace.repo)
            }
            let start = branchExists
                ? (try? await git(["merge-base", base, branch], in: workspace.repo).trimmingCharacters(in: .whitespacesAndNewlines)) ?? base
                : base
            let privateDirectory = try await git(["rev-parse", "--absolute-git-dir"], in: path).trimmingCharacters(in: .whitespacesAndNewlines)
            try start.write(toFile: privateDirectory + "/nightshift-base", atomically: true, encoding: .utf8)
            if workspace.keepWorktree { FileManager.default.createFile(atPath: privateDirectory + "/nightshift-keep", contents: nil) }
            return Prepared(path: path, commonDirectory: common, base: start, created: true)
        }
    }

    /// The commit the worktree's branch started from, as ``prepare(_:task:at:)`` recorded it.
    static func recordedBase(worktree: String) async throws -> String {
        let privateDirectory = try await git(["rev-parse", "--absolute-git-dir"], in: worktree).trimmingCharacters(in: .whitespacesAndNewlines)
        return try String(contentsOfFile: privateDirectory + "/nightshift-base", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What a run left in the worktree against `base`: the commits made, the diff stat, and the
    /// patch (uncommitted and untracked files included, cut at ``patchCap``), as a `diff` event's data.
    package static func diff(worktree: String, base: String) async throws -> JSONValue {
        let head = try await git(["rev-parse", "HEAD"], in: worktree).trimmingCharacters(in: .whitespacesAndNewlines)
        let log = try await git(["log", "--format=%H%x09%s", "\(base)..HEAD"], in: worktree)
        let commits: [JSONValue] = log.split(separator: "\n").map { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            return ["sha": .string(String(parts[0])), "subject": .string(parts.count > 1 ? String(parts[1]) : "")]
        }
        // A copy of the worktree's index with every change staged: the patch then covers what the
        // agent did not commit, new files included, and the worktree's own index is left alone.
        let index = try await git(["rev-parse", "--git-path", "index"], in: worktree).trimmingCharacters(in: .whitespacesAndNewlines)
        let indexPath = index.hasPrefix("/") ? index : worktree + "/" + index
        let scratch = NSTemporaryDirectory() + "nightshift-index-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        if FileManager.default.fileExists(atPath: indexPath) { try FileManager.default.copyItem(atPath: indexPath, toPath: scratch) }
        let staged = ["GIT_INDEX_FILE": scratch]
        try await git(["add", "-A"], in: worktree, environment: staged)
        let stat = try await git(["diff", "--cached", "--stat", base], in: worktree, environment: staged)
        let numbers = try await git(["diff", "--cached", "--shortstat", base], in: worktree, environment: staged)
        let patch = try await git(["diff", "--cached", "--binary", base], in: worktree, environment: staged)
        let bytes = Array(patch.utf8)
        let cut = bytes.count > patchCap ? String(decoding: bytes[..<UTF8Cut.boundary(in: bytes, atMost: patchCap)], as: UTF8.self) : patch
        func count(_ word: String) -> Int64 {
            guard let range = numbers.range(of: " \(word)") else { return 0 }
            let digits = numbers[..<range.lowerBound].reversed().prefix { $0.isNumber }
            return Int64(String(digits.reversed())) ?? 0
        }
        return [
            "base": .string(base), "head": .string(head), "commits": .array(commits), "stat": .string(stat),
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
        guard let privateDirectory = try? await git(["rev-parse", "--absolute-git-dir"], in: path)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        else {
            // Not a worktree any more (half made, or its repository gone): only the directory is left.
            return (try? FileManager.default.removeItem(atPath: path)) != nil
        }
        if !force, FileManager.default.fileExists(atPath: privateDirectory + "/nightshift-keep") { return false }
        guard let common = try? await git(["rev-parse", "--git-common-dir"], in: path).trimmingCharacters(in: .whitespacesAndNewlines) else {
            return false
        }
        let commonPath = common.hasPrefix("/") ? common : URL(fileURLWithPath: path).appendingPathComponent(common).standardizedFileURL.path
        let removed = try? await withLock(commonDirectory: commonPath) { () async throws -> Bool in
            if (try? await git(["worktree", "remove", "--force", "--force", path], in: commonPath)) == nil {
                try? FileManager.default.removeItem(atPath: path)
                try await git(["worktree", "prune"], in: commonPath)
            }
            return true
        }
        return removed ?? false
    }

    /// Whether the worktree at `path` was made to be kept after its task ends.
    package static func isKept(worktree path: String) async -> Bool {
        guard let privateDirectory = try? await git(["rev-parse", "--absolute-git-dir"], in: path)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        else { return false }
        return FileManager.default.fileExists(atPath: privateDirectory + "/nightshift-keep")
    }
}

extension FileHandle {
    /// An unlinked temporary file open for reading and writing (a child's stderr, read back after).
    static func temporaryErrorFile() throws -> FileHandle {
        var template = Array((NSTemporaryDirectory() + "nightshift-git-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        let path = String(cString: template)
        unlink(path)
        return FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }
}
