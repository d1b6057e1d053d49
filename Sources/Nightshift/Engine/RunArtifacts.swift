import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Files a run leaves as the task's outputs: those its agent declares (the line protocol's
/// `artifact` line) and those matching its agent's `artifacts` globs, copied after each run from
/// the workspace into `<artifact root>/<task id>/<name>` and served by the API
/// (`/v1/tasks/{id}/artifacts/{name}`). See docs/worktrees.md.
package enum RunArtifacts {
    /// The event an agent's `artifact` line becomes (`path`, optional `name`).
    package static let declaredEvent = "artifact"
    /// The event recorded for each file kept (`name`, `path`, `bytes`).
    package static let savedEvent = "artifact_saved"
    /// The largest file kept: 16 MiB.
    package static let fileCap = 16 << 20
    /// The most files kept per run.
    package static let filesPerRun = 100

    /// The name a file is kept under: `name`, else the file's own name; letters, digits, `.`, `-`
    /// and `_` only, not starting with `.`, at most 128 bytes. `nil` when it cannot be one.
    package static func keptName(_ name: String?, path: String) -> String? {
        let candidate = name ?? (path as NSString).lastPathComponent
        guard !candidate.isEmpty, candidate.utf8.count <= 128, !candidate.hasPrefix("."),
              candidate.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) })
        else { return nil }
        return candidate
    }

    /// Copies the declared files and those matching `globs` from `workspace` into `directory`;
    /// answers the events to record: `artifact_saved` for each file kept, a warning `log` for each
    /// refused (outside the workspace, missing, too big, a bad name).
    package static func collect(
        workspace: URL, globs: [String], declared: [(path: String, name: String?)], into directory: URL
    ) -> [(type: String, data: JSONValue)] {
        var wanted = declared
        if !globs.isEmpty { wanted += matches(globs, in: workspace).map { ($0, nil) } }
        var events: [(type: String, data: JSONValue)] = []
        var kept = Set<String>()
        let root = workspace.resolvingSymlinksInPath().path
        for (path, name) in wanted {
            func refuse(_ why: String) {
                events.append(("log", ["level": "warning", "message": .string("artifact \(path) not kept: \(why)")]))
            }
            guard kept.count < filesPerRun else { refuse("more than \(filesPerRun) artifacts in one run"); break }
            guard let keptName = keptName(name, path: path) else {
                refuse("a name is letters, digits, '.', '-' and '_', not starting with '.'")
                continue
            }
            if kept.contains(keptName) { continue }
            let source = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : workspace.appendingPathComponent(path)).resolvingSymlinksInPath()
            // Only a regular file inside the workspace: a link out of it is not followed.
            guard source.path.hasPrefix(root + "/") else { refuse("outside the workspace"); continue }
            var info = stat()
            guard stat(source.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { refuse("no such file"); continue }
            guard Int(info.st_size) <= fileCap else { refuse("larger than \(fileCap >> 20) MiB"); continue }
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                let target = directory.appendingPathComponent(keptName)
                let staging = directory.appendingPathComponent(".incoming-\(UUID().uuidString)")
                try FileManager.default.copyItem(at: source, to: staging)
                guard rename(staging.path, target.path) == 0 else { throw POSIXError(.EIO) }
                kept.insert(keptName)
                events.append((savedEvent, [
                    "name": .string(keptName), "path": .string(String(source.path.dropFirst(root.count + 1))), "bytes": .int(Int64(info.st_size)),
                ]))
            } catch {
                refuse("\(error)")
            }
        }
        return events
    }

    /// The workspace's regular files (relative paths, `.git` left out) matching any of `globs`
    /// (`fnmatch` with `FNM_PATHNAME`: `*` stays within a directory; `**/` any directories).
    static func matches(_ globs: [String], in workspace: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(at: workspace, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        let root = workspace.resolvingSymlinksInPath().path
        var found: [String] = []
        for case let url as URL in walker {
            let path = String(url.resolvingSymlinksInPath().path.dropFirst(root.count + 1))
            if url.lastPathComponent == ".git" { walker.skipDescendants(); continue }
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            if globs.contains(where: { glob in
                fnmatch(glob, path, FNM_PATHNAME) == 0
                    || (glob.hasPrefix("**/") && (fnmatch(String(glob.dropFirst(3)), path, FNM_PATHNAME) == 0
                        || fnmatch("*/" + glob.dropFirst(3), path, 0) == 0))
            }) {
                found.append(path)
            }
        }
        return found.sorted()
    }
}

/// The `artifact` lines a run's agent declared, collected as they come.
final class ArtifactDeclarations: Sendable {
    private let items = Mutex<[(path: String, name: String?)]>([])

    /// Notes a declaration's event data (`path`, optional `name`).
    func note(_ data: JSONValue) {
        guard let path = data["path"]?.stringValue else { return }
        items.withLock { $0.append((path, data["name"]?.stringValue)) }
    }

    /// What was declared, in order.
    var all: [(path: String, name: String?)] { items.withLock { $0 } }
}
