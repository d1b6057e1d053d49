import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `nightshift open ID`: the task's page in the dashboard.
struct OpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Print a task's dashboard URL, and open it in a browser when run in a terminal.",
        discussion: CLIExitCodes.discussion("""
            Prints <url>/tasks/ID (the daemon's --url, or $NIGHTSHIFT_URL) once the daemon has answered \
            that the task exists. On a terminal it also opens the page with xdg-open (open on macOS), \
            when there is one; --print only prints. The dashboard asks for the token once \
            (`nightshift token show`) and keeps it in a cookie.
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Flag(help: "Only print the URL.")
    var print = false

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let task = try await options.client().task(id)
        let url = Self.pageURL(base: options.resolvedURL(), task: task.id)
        if options.json {
            CLIOutput.json(["id": .string(task.id), "url": .string(url)])
        } else {
            CLIOutput.line(url)
        }
        guard !print, isatty(STDOUT_FILENO) != 0, let opener = Self.opener() else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opener)
        process.arguments = [url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
    }

    /// The dashboard's page of `task` on the daemon at `base`.
    static func pageURL(base: String, task: String) -> String {
        (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/tasks/" + task
    }

    /// The desktop's URL opener, if this machine has one on `PATH`.
    static func opener(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        for name in ["xdg-open", "open"] {
            for directory in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return "\(directory)/\(name)"
            }
        }
        return nil
    }
}
