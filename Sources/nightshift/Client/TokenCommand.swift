import ArgumentParser
import Foundation
import NightshiftDaemon

/// `nightshift token`: the API token of a data directory.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Manage the API token.",
        subcommands: [TokenRotateCommand.self])
}

/// `nightshift token rotate`: a new token, in force at once.
struct TokenRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace the API token with a new random one.",
        discussion: """
            Writes a new token to <home>/token and its hash to <home>/token.sha256 (both 0600). A \
            running daemon on that data directory accepts only the new token from its next request \
            on; no restart is needed. Writing a token into <home>/token by hand does the same.
            """)

    @Option(help: "Data directory (default: $NIGHTSHIFT_HOME, else $XDG_DATA_HOME/nightshift, else ~/.local/share/nightshift).")
    var home: String?

    func run() async throws {
        let directory = try DataDirectory(home: home)
        try TokenAuthority.rotate(home: directory.url)
        CLIOutput.line("rotated: the new token is in \(directory.url.appendingPathComponent("token").path)")
    }
}
