import Foundation
import Nightshift

/// Git repositories the worktree tests make, through the real `git`.
public enum TestRepository {
    /// A repository at a fresh path (or `path`) with `files` (name → contents) committed on `main`
    /// in one commit per entry of `commits`; its path.
    public static func make(at path: String? = nil, commits: [[String: String]]) async throws -> String {
        let path = path ?? FileManager.default.temporaryDirectory.appendingPathComponent("ns-repo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try await GitWorktrees.git(["init", "-q", "-b", "main"], in: path)
        for (index, files) in commits.enumerated() {
            for (name, contents) in files { try contents.write(toFile: path + "/" + name, atomically: true, encoding: .utf8) }
            try await commit(in: path, "commit \(index + 1)")
        }
        return path
    }

    /// Commits everything in the work tree of `path` as a test user.
    public static func commit(in path: String, _ message: String) async throws {
        try await GitWorktrees.git(["add", "-A"], in: path)
        try await GitWorktrees.git(["-c", "user.email=t@example.com", "-c", "user.name=test", "commit", "-q", "-m", message], in: path)
    }
}
