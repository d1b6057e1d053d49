import ArgumentParser
import NightshiftDaemon

/// The `nightshift` command: runs the daemon and the benchmark, and talks to a running daemon.
@main
struct NightshiftCommand: AsyncParsableCommand {
    /// The version of this build: what `--version` prints and the daemon logs when it starts.
    static let version = NightshiftDaemon.version

    static let configuration = CommandConfiguration(
        commandName: "nightshift",
        abstract: "A durable runtime for background AI-agent work.",
        discussion: CLIExitCodes.discussion("""
            `nightshift serve` runs the daemon; the other commands talk to it over its HTTP API at \
            --url (default $NIGHTSHIFT_URL, else http://127.0.0.1:7777) with the token from \
            $NIGHTSHIFT_TOKEN, else <home>/token.
            """),
        version: version,
        subcommands: [
            ServeCommand.self, BenchCommand.self, BenchNodeCommand.self, MCPCommand.self,
            SubmitCommand.self, ListCommand.self, ShowCommand.self, OpenCommand.self, DiffCommand.self, ArtifactsCommand.self, LogsCommand.self,
            CancelCommand.self, RetryCommand.self, PauseCommand.self, ResumeCommand.self, ArchiveCommand.self,
            PriorityCommand.self, InputCommand.self, ApproveCommand.self, RejectCommand.self, InputsCommand.self,
            WakeCommand.self, DropCommand.self,
            StatusCommand.self, AgentsCommand.self, LanesCommand.self, ScheduleCommand.self, EventsCommand.self,
            CheckpointsCommand.self, MemoryCommand.self, TokenCommand.self, TokensCommand.self, WorkspacesCommand.self,
            HookCommand.self, HooksCommand.self, WebhooksCommand.self, DetectorsCommand.self, DetectCommand.self,
        ]
    )

    /// Tunes the allocator (``MallocTuning``), parses and runs the command; errors print as
    /// `error: MESSAGE` and exit with the documented codes (usage errors with 2, where ArgumentParser would use 64).
    static func main() async {
        MallocTuning.apply()
        do {
            var command = try await asyncParseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            CLIErrorExit.exit(with: error)
        }
    }
}
