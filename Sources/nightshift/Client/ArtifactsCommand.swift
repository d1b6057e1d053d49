import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift artifacts ID [NAME]`: the files a task's runs kept.
struct ArtifactsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "artifacts",
        abstract: "List the files a task's runs kept, or print one.",
        discussion: CLIExitCodes.discussion("""
            Without NAME: each artifact's name, size and when it was kept, newest first (with --json, \
            the API's list). With NAME: the file's bytes on stdout, or into --output. Files are kept \
            from the line protocol's artifact lines and the agent's artifacts globs (docs/worktrees.md), \
            by the node whose run kept them.
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Argument(help: "An artifact's name.")
    var name: String?

    @Option(name: [.short, .long], help: "Write the file here instead of stdout.")
    var output: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = options.client()
        guard let name else {
            let list = try await client.request(.GET, "/v1/tasks/\(id)/artifacts")
            if options.json {
                CLIOutput.json(list)
                return
            }
            var table = CLITable(["NAME", "BYTES", "KEPT", "PATH"], rightAligned: [1])
            let now = Date()
            for artifact in list["artifacts"]?.arrayValue ?? [] {
                let time = artifact["time"].flatMap { try? JSONTime.date($0, field: "time") }
                table.add([
                    .init(artifact["name"]?.stringValue ?? "-"), .init(CLIOutput.text(artifact["bytes"])),
                    .init(time.map { CLIOutput.relative($0, now: now) } ?? "-"), .init(artifact["path"]?.stringValue ?? "-"),
                ])
            }
            table.print()
            return
        }
        let bytes = try await client.download("/v1/tasks/\(id)/artifacts/\(name)")
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(bytes)) else {
                throw CLIFailure("cannot write \(output)")
            }
        } else {
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}
