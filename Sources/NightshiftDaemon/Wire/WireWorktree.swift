import Foundation
import Nightshift

/// A commit a run made in its worktree.
public struct WireCommit: WireValue, Hashable {
    /// Its full hash.
    public var sha: String
    /// Its subject line.
    public var subject: String
}

/// What a task's last run left in its git worktree (`GET /v1/tasks/{id}/diff`, docs/worktrees.md).
public struct WireDiff: WireValue, Hashable {
    /// The commit the task's branch started from.
    public var base: String
    /// The branch's commit after the run.
    public var head: String
    /// The commits the run's branch has over the base, newest first.
    public var commits: [WireCommit]
    /// `git diff --stat` against the base, uncommitted and new files included.
    public var stat: String
    /// Files changed.
    public var filesChanged: Int
    /// Lines added.
    public var insertions: Int
    /// Lines removed.
    public var deletions: Int
    /// The patch against the base, cut at ``capBytes``.
    public var patch: String
    /// The whole patch's size in bytes.
    public var patchBytes: Int
    /// Whether ``patch`` was cut.
    public var truncated: Bool
    /// The most bytes of a patch kept.
    public var capBytes: Int
    /// The seq of its `diff` event.
    public var seq: Int64
    /// When it was recorded.
    public var time: Date

    enum CodingKeys: String, CodingKey {
        case base, head, commits, stat, insertions, deletions, patch, truncated, seq, time
        case filesChanged = "files_changed", patchBytes = "patch_bytes", capBytes = "cap_bytes"
    }
}

extension WireDiff {
    /// The wire form of a `diff` event.
    public init(_ event: TaskEvent) {
        let data = event.data
        func int(_ key: String) -> Int { data[key]?.doubleValue.map { Int($0) } ?? 0 }
        self.init(
            base: data["base"]?.stringValue ?? "", head: data["head"]?.stringValue ?? "",
            commits: (data["commits"]?.arrayValue ?? []).map {
                WireCommit(sha: $0["sha"]?.stringValue ?? "", subject: $0["subject"]?.stringValue ?? "")
            },
            stat: data["stat"]?.stringValue ?? "", filesChanged: int("files_changed"), insertions: int("insertions"),
            deletions: int("deletions"), patch: data["patch"]?.stringValue ?? "", patchBytes: int("patch_bytes"),
            truncated: data["truncated"] == .bool(true), capBytes: int("cap_bytes"), seq: event.seq, time: event.time)
    }
}

/// A file a task's run kept as an artifact.
public struct WireArtifact: WireValue, Hashable {
    /// The name it is served under.
    public var name: String
    /// Its path in the workspace.
    public var path: String
    /// Its size.
    public var bytes: Int
    /// When it was kept.
    public var time: Date
}

/// The body of `GET /v1/tasks/{id}/artifacts`.
public struct WireArtifactList: WireValue, Hashable {
    /// Newest first, one per name.
    public var artifacts: [WireArtifact]
}
