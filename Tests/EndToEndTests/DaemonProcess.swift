import Foundation
import Logging
import NightshiftPostgres
import NightshiftTestSupport
import Testing

/// A `nightshift serve` child process on a data directory.
final class DaemonProcess: @unchecked Sendable {
    let process: ChildProcess
    let log: URL

    /// Starts `nightshift serve --home HOME ARGUMENTS`; with `home` nil, no `--home` (the data
    /// directory then comes from `environment`) and the log goes to the temporary directory.
    init(home: URL?, arguments: [String] = [], environment: [String: String]? = nil) throws {
        log = (home ?? FileManager.default.temporaryDirectory).appendingPathComponent("daemon-\(UUID().uuidString).log")
        // Private, as the daemon's own files in its data directory are.
        _ = FileManager.default.createFile(atPath: log.path, contents: nil, attributes: [.posixPermissions: 0o600])
        // Under `setpriv --pdeathsig KILL` (util-linux), the daemon dies with this test process
        // even when it crashes, rather than polling on as an orphan that loads the rest of the run
        // (setpriv execs the daemon: the pid is the daemon's).
        let serve = ["serve"] + (home.map { ["--home", $0.path] } ?? []) + arguments
        let viaSetpriv = FileManager.default.isExecutableFile(atPath: Self.setpriv)
        process = try ChildProcess(
            executable: viaSetpriv ? Self.setpriv : NightshiftBinary.url.path,
            arguments: viaSetpriv ? ["--pdeathsig", "KILL", "--", NightshiftBinary.url.path] + serve : serve,
            environment: environment ?? ProcessLaunch.environment, stdout: log.path, stderr: log.path)
    }

    var pid: Int32 { process.processIdentifier }

    /// util-linux's `setpriv`, which sets the parent-death signal before it execs the daemon.
    static let setpriv = "/usr/bin/setpriv"

    /// A test that fails before stopping its daemon does not leave it running.
    deinit {
        if process.isRunning { kill(pid, SIGKILL) }
    }

    /// Sends `signal` and waits (at most `timeout`) for the process to exit; returns its status.
    @discardableResult
    func stop(_ signal: Int32, timeout: Duration = .seconds(30)) async -> Int32? {
        kill(pid, signal)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if process.isRunning {
            kill(pid, SIGKILL)
            return nil
        }
        return process.terminationStatus
    }

    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
}

/// A fresh data directory under the temporary directory.
func makeHome() throws -> URL {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("ns-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    return home
}

/// Starts `serve` on `home` (its config file already written) with a fast poll and a short grace,
/// and waits until the API on `port` answers. `environment` is added to this process's.
func startDaemon(
    home: URL, port: Int, arguments: [String] = [], environment: [String: String] = [:]
) async throws -> (DaemonProcess, CLIRunner) {
    let daemon = try DaemonProcess(
        home: home, arguments: ["--poll-interval", "0.05", "--shutdown-grace", "0.2"] + arguments,
        environment: environment.isEmpty ? nil : ProcessLaunch.environment.merging(environment) { _, new in new })
    let cli = CLIRunner(url: "http://127.0.0.1:\(port)", home: home)
    let up = try await eventually(timeout: .seconds(30)) {
        guard daemon.process.isRunning else { return true }
        return try await cli.run(["status", "--json"]).status == 0
    }
    try #require(up && daemon.process.isRunning, "the daemon answers on port \(port); its log:\n\(daemon.output)")
    return (daemon, cli)
}

/// A store on a fresh schema of the test PostgreSQL server, its pool running (cancel `pool` when
/// done), and the URL a daemon reaches the same schema at.
func freshPostgresStore() async throws -> (store: PostgresTaskStore, url: PostgresURL, pool: Task<Void, Never>) {
    var url = try PostgresURL(parsing: try TestPostgres.requireURL())
    url.schema = TestPostgres.freshSchema()
    var logger = Logger(label: "test.postgres")
    logger.logLevel = .critical
    let store = try PostgresTaskStore(url: url, configuration: .init(maximumConnections: 4), logger: logger)
    try await store.migrate()
    return (store, url, Task { await store.runPool() })
}
