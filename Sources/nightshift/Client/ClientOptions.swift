import ArgumentParser
import Foundation
import NightshiftDaemon

/// The options every API command takes: `--json`, `--url` and `--home`.
struct ClientOptions: ParsableArguments {
    @Flag(help: "Print machine-readable JSON (the API's objects, one per line) instead of text.")
    var json = false

    @Option(help: ArgumentHelp(
        "The daemon's base URL (default: $NIGHTSHIFT_URL, else \(NightshiftClient.defaultURL)).",
        valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp(
        "Data directory holding the API token in <home>/token, used unless $NIGHTSHIFT_TOKEN is set "
            + "(default: $NIGHTSHIFT_HOME, else $XDG_DATA_HOME/nightshift, else ~/.local/share/nightshift).",
        valueName: "dir"))
    var home: String?

    func validate() throws {
        let address = resolvedURL()
        guard let parsed = URL(string: address), let scheme = parsed.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
        else {
            throw ValidationError("--url: expected an http:// or https:// URL, got '\(address)'")
        }
    }

    /// `--url`, else `$NIGHTSHIFT_URL`, else the default address.
    func resolvedURL(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let url { return url }
        if let url = environment["NIGHTSHIFT_URL"], !url.isEmpty { return url }
        return NightshiftClient.defaultURL
    }

    /// The data directory, resolved like the daemon's (but never created).
    func resolvedHome(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let home { return home }
        if let home = environment["NIGHTSHIFT_HOME"], !home.isEmpty { return home }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/nightshift" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share/nightshift"
    }

    /// `$NIGHTSHIFT_TOKEN`, else the trimmed contents of `<home>/token`, else nil.
    func token(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let token = environment["NIGHTSHIFT_TOKEN"], !token.isEmpty { return token }
        let file = URL(fileURLWithPath: resolvedHome(environment: environment)).appendingPathComponent("token")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return nil }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }

    /// A client of the daemon these options name.
    func client() -> NightshiftClient {
        NightshiftClient(baseURL: resolvedURL(), token: token())
    }
}

/// The exit codes of the commands, as the help texts give them.
enum CLIExitCodes {
    /// The task ended in error, was cancelled or dropped; or the daemon refused the request.
    static let failure: Int32 = 1
    /// Bad arguments or options, or input the daemon rejected as invalid.
    static let usage: Int32 = 2
    /// No such task or agent.
    static let notFound: Int32 = 3
    /// The daemon could not be reached.
    static let unreachable: Int32 = 4
    /// `serve`'s config file is missing or invalid (sysexits.h's EX_CONFIG).
    static let config: Int32 = 78

    /// The table of exit codes for help texts.
    static let help = """
        Exit codes:
          0  success
          1  the task ended in error, cancelled or dropped (submit --wait/--follow,
             logs --follow), or the daemon refused the request
          2  usage error: bad arguments or options, or input the daemon rejected
          3  not found: no such task or agent (HTTP 404)
          4  the daemon is unreachable (connection refused or timed out)
          78 configuration error: serve's config file is missing or invalid
        """

    /// `discussion` for a command: `text`, a blank line, then the exit codes.
    static func discussion(_ text: String) -> String {
        text.isEmpty ? help : text + "\n\n" + help
    }
}

/// A failure to report as `error: MESSAGE` (when there is a message) with an exit code.
struct CLIFailure: Error, CustomStringConvertible {
    /// The message; empty prints nothing.
    var message: String
    /// The process's exit code.
    var exitCode: Int32

    /// A failure with `message` and `exitCode`.
    init(_ message: String, exitCode: Int32 = CLIExitCodes.failure) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}

/// How the root command ends the process after an error: every message as `error: MESSAGE` on
/// standard error, usage errors with 2 (ArgumentParser would use 64), API errors by kind.
enum CLIErrorExit {
    /// Prints `error` and exits with its code.
    static func exit(with error: any Error) -> Never {
        switch error {
        case let failure as CLIFailure:
            if !failure.message.isEmpty { CLIOutput.error(failure.message) }
            terminate(failure.exitCode)
        case let apiError as NightshiftClient.APIError:
            CLIOutput.error(message(for: apiError))
            terminate(exitCode(for: apiError))
        default:
            let code = NightshiftCommand.exitCode(for: error)
            if code == .success { NightshiftCommand.exit(withError: error) }
            var text = NightshiftCommand.fullMessage(for: error)
            if text.hasPrefix("Error: ") { text = "error: " + text.dropFirst("Error: ".count) }
            if !text.isEmpty {
                CLIOutput.flush()
                FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
            }
            terminate(code == .validationFailure ? CLIExitCodes.usage : code.rawValue)
        }
    }

    /// The exit code for an API error.
    static func exitCode(for error: NightshiftClient.APIError) -> Int32 {
        switch error {
        case .unreachable: return CLIExitCodes.unreachable
        case .http(let status, let code, _, _):
            if status == 404 { return CLIExitCodes.notFound }
            if code == "invalid_input" || status == 400 || status == 422 { return CLIExitCodes.usage }
            return CLIExitCodes.failure
        case .invalidResponse: return CLIExitCodes.failure
        }
    }

    /// The message for an API error, with a hint where one helps.
    static func message(for error: NightshiftClient.APIError) -> String {
        switch error {
        case .unreachable:
            return error.description + "; is `nightshift serve` running? (--url, $NIGHTSHIFT_URL)"
        case .http(401, _, _, _):
            return error.description + "; the token comes from $NIGHTSHIFT_TOKEN, else <home>/token (--home)"
        default:
            return error.description
        }
    }

    private static func terminate(_ code: Int32) -> Never {
        CLIOutput.flush()
        Foundation.exit(code)
    }
}
