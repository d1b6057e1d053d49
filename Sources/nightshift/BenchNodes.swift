import ArgumentParser
import Foundation
import Logging
import Nightshift
import NightshiftPostgres

/// W1 with several nodes: the drain runs in `nightshift bench-node` child processes, one engine
/// each, all on the benchmark's PostgreSQL schema.
enum BenchNodes {
    /// Starts `nodes` children on `url` and waits until every one has seen `tasks` tasks done.
    static func drain(url: PostgresURL, nodes: Int, slots: Int, tasks: Int) async throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var environment = ProcessInfo.processInfo.environment
        if let password = url.password { environment["PGPASSWORD"] = password }
        let processes = try (0..<nodes).map { node in
            let process = Process()
            process.executableURL = executable
            process.arguments = [
                "bench-node", "--store", url.description, "--slots", "\(slots)", "--tasks", "\(tasks)", "--node-id", "bench-\(node)",
            ]
            process.environment = environment
            try process.run()
            return process
        }
        var failed: [String] = []
        for (node, process) in processes.enumerated() {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async {
                    process.waitUntilExit()
                    continuation.resume()
                }
            }
            if process.terminationStatus != 0 { failed.append("bench-\(node) exited with \(process.terminationStatus)") }
        }
        guard failed.isEmpty else { throw NightshiftError(.storeUnavailable, "bench: " + failed.joined(separator: "; ")) }
    }
}

/// `nightshift bench-node` (hidden): one engine of a multi-node benchmark. Drains no-op tasks from
/// the benchmark's store until `--tasks` are done, then exits.
struct BenchNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-node", abstract: "One engine of `bench --nodes` (internal).", shouldDisplay: false)

    @Option(help: "The benchmark store's PostgreSQL URL, with its schema.")
    var store: String

    @Option(help: "Worker slots.")
    var slots: Int

    @Option(help: "Stop once this many tasks are done.")
    var tasks: Int

    @Option(help: "This engine's node id.")
    var nodeID: String

    func run() async throws {
        var logger = Logger(label: "nightshift.bench.node")
        logger.logLevel = .error
        let bench = Bench(target: .postgres(url: try PostgresURL(parsing: store)), keep: true)
        try await PostgresTaskStore.withStore(url: store, logger: logger) { store in
            try await bench.drain(store, slots: slots, tasks: tasks, nodeID: nodeID)
        }
    }
}
