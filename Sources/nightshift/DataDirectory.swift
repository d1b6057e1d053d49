import Foundation
import Nightshift

/// The daemon's data directory: `--home`, else `$NIGHTSHIFT_HOME`, else `$XDG_DATA_HOME/nightshift`,
/// else `~/.local/share/nightshift`. Holds `nightshift.db`, `node_id` and per-task work directories.
/// It is the user's alone: made with mode 0700 (the daemon's umask, 077, keeps what it writes there
/// private too).
struct DataDirectory {
    let url: URL

    init(home: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let path: String
        if let home {
            path = home
        } else if let home = environment["NIGHTSHIFT_HOME"], !home.isEmpty {
            path = home
        } else if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty {
            path = xdg + "/nightshift"
        } else {
            path = (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share/nightshift"
        }
        url = URL(fileURLWithPath: path, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// The data directory and the entries directly in it (the work root among them) that other
    /// users may read, write or enter, with their modes. They are reported, not changed: a mode
    /// wider than 0700 on a directory that already existed is someone's choice.
    func openToOthers() -> [(path: String, mode: Int)] {
        let files = FileManager.default
        let entries = ((try? files.contentsOfDirectory(atPath: url.path)) ?? []).sorted().map { url.appendingPathComponent($0).path }
        return ([url.path] + entries).compactMap { path in
            guard let attributes = try? files.attributesOfItem(atPath: path), attributes[.type] as? FileAttributeType != .typeSymbolicLink,
                  let mode = attributes[.posixPermissions] as? Int, mode & 0o077 != 0
            else { return nil }
            return (path, mode)
        }
    }

    var databasePath: String { url.appendingPathComponent("nightshift.db").path }
    var workRoot: URL { url.appendingPathComponent("work", isDirectory: true) }

    /// Takes the data directory for this process alone: an exclusive `flock` on `<home>/lock`
    /// (with this pid written in it), held until the process exits. A second daemon on the same
    /// directory would share the node id and reclaim — and kill the agents of — the first one's
    /// runs, so it must not start.
    func lock() throws {
        let path = url.appendingPathComponent("lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw CLIFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(descriptor)
            throw CLIFailure("another nightshift daemon\(holder.isEmpty ? "" : " (pid \(holder))") is running on the data directory \(url.path)")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.count, 0)
        // The descriptor stays open (and locked) for the life of the process.
    }

    /// This node's stable id, made on first start and kept in `node_id`, so that after a crash the
    /// node knows which runs were its own and reclaims them at once.
    func nodeID() throws -> String {
        let file = url.appendingPathComponent("node_id")
        if let existing = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           !existing.isEmpty
        {
            return existing
        }
        let id = "node-" + UUIDv7.generate()
        try Data((id + "\n").utf8).write(to: file, options: .atomic)
        return id
    }
}
