import Foundation

/// Starts the tests' child processes one at a time. Two full runs of the suite crashed inside
/// Foundation's `Process.run()` (a `memcpy` past a mapping while another test started a process
/// at the same moment); launching under one lock keeps Foundation's spawn path from running
/// concurrently with itself. The processes still run side by side.
public enum ProcessLaunch {
    private static let lock = NSLock()

    /// Runs `process.run()` under the launch lock; a process given no environment gets
    /// ``environment``.
    public static func run(_ process: Process) throws {
        if process.environment == nil { process.environment = environment }
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}

extension ProcessLaunch {
    /// This process's environment, every name and value copied into a string of its own (read
    /// from `environ` with `String(cString:)`). Children get this rather than what Foundation's
    /// `ProcessInfo` answers: full runs crashed in `Process.run()` copying 1,355 bytes (an
    /// `LS_COLORS`-sized value) past the end of a mapping.
    public static var environment: [String: String] {
        var variables: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            entry += 1
        }
        return variables
    }
}
