import Foundation

/// The built `nightshift` binary, run as a child process by tests (the CLI, the daemon, and the
/// hooks an agent CLI runs back into Nightshift).
public enum NightshiftBinary {
    /// `$NIGHTSHIFT_BIN`, else the `nightshift` built beside the test bundle.
    public static var url: URL {
        if let path = ProcessInfo.processInfo.environment["NIGHTSHIFT_BIN"] { return URL(fileURLWithPath: path) }
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !directory.path.isEmpty, directory.path != "/" {
            let candidate = directory.appendingPathComponent("nightshift")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/nightshift").absoluteURL
    }
}
