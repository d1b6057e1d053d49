import ArgumentParser

/// The `nightshift` command: runs the daemon and the benchmark.
@main
struct NightshiftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nightshift",
        abstract: "A durable runtime for background AI-agent work.",
        subcommands: [ServeCommand.self, BenchCommand.self]
    )
}
