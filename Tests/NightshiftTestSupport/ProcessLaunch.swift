import Foundation

/// Starts the tests' child processes one at a time. Two full runs of the suite crashed inside
/// Foundation's `Process.run()` (a `memcpy` past a mapping while another test started a process
/// at the same moment); launching under one lock keeps Foundation's spawn path from running
/// concurrently with itself. The processes still run side by side.
public enum ProcessLaunch {
    private static let lock = NSLock()

    /// Runs `process.run()` under the launch lock.
    public static func run(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
