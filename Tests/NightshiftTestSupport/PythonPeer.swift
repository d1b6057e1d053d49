import Foundation

/// The Python interpreter of the virtual environment where scripts/test installs the official
/// Python peers (`mcp`, `prometheus_client`): `NIGHTSHIFT_TEST_PYTHON`. Without it a peer test is
/// left out, except with `CI=true`, where it runs and fails.
public enum PythonPeer {
    /// The variable naming the interpreter.
    public static let variable = "NIGHTSHIFT_TEST_PYTHON"
    /// The interpreter, if named.
    public static let path = ProcessInfo.processInfo.environment[variable]
    /// Whether the peer tests run: an interpreter is named, or CI=true (where they then fail).
    public static let enabled = path != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// The interpreter, or a clear failure (only reached when it is unset and CI=true).
    public static func require() throws -> String {
        guard let path else { throw Missing(description: "\(variable) is not set and CI=true: a Python peer test cannot run (run ./scripts/test)") }
        return path
    }

    /// Runs the fixture `script` (a file of Tests/Fixtures) with `stdin`; its exit status, stdout and stderr.
    public static func run(script: String, arguments: [String] = [], stdin: Data = Data()) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try require())
        process.arguments = [fixture(script).path] + arguments
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try ProcessLaunch.run(process)
        // Read both pipes while the peer runs, so a large answer cannot fill one and stall it.
        let group = DispatchGroup()
        nonisolated(unsafe) var out = Data(), err = Data()
        DispatchQueue.global().async(group: group) { out = output.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { err = errors.fileHandleForReading.readDataToEndOfFile() }
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        group.wait()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    /// A file of Tests/Fixtures.
    public static func fixture(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures").appendingPathComponent(name)
    }

    /// Why a peer test could not run.
    public struct Missing: Error, CustomStringConvertible {
        /// What is missing.
        public var description: String
    }
}
