import Foundation
import Nightshift

/// The daemon's data directory: `--home`, else `$NIGHTSHIFT_HOME`, else `$XDG_DATA_HOME/nightshift`,
/// else `~/.local/share/nightshift`. Holds `nightshift.db`, `node_id` and per-task work directories.
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
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var databasePath: String { url.appendingPathComponent("nightshift.db").path }
    var workRoot: URL { url.appendingPathComponent("work", isDirectory: true) }

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
