import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift diff ID`: what the task's last run left in its git worktree.
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Print the patch a task's last run left in its git worktree, coloured.",
        discussion: CLIExitCodes.discussion("""
            For an agent with a repo (a worktree per task): the commits the run made, then the patch \
            against the task's base, uncommitted and new files included (cut at 512 KiB, which is \
            said). Lines added are green, removed red, hunk headers cyan, when stdout is a terminal. \
            --stat prints the diff stat only. With --json, prints the API's diff object.
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Flag(help: "Print the commits and the diff stat, not the patch.")
    var stat = false

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let diff = try await options.client().request(.GET, "/v1/tasks/\(id)/diff")
        if options.json {
            CLIOutput.json(diff)
            return
        }
        for line in Self.summary(diff) { CLIOutput.line(line) }
        if stat { return }
        CLIOutput.line("")
        for line in (diff["patch"]?.stringValue ?? "").split(separator: "\n", omittingEmptySubsequences: false) {
            CLIOutput.line(Self.paint(String(line)))
        }
        if diff["truncated"] == .bool(true) {
            let cap = diff["cap_bytes"].flatMap { $0.doubleValue }.map { Int($0) >> 10 } ?? 0
            let whole = diff["patch_bytes"].flatMap { $0.doubleValue }.map { Int($0) >> 10 } ?? 0
            CLIOutput.line(CLIOutput.paint("… the patch is cut at \(cap) KiB of \(whole) KiB", "33"))
        }
    }

    /// The commits (short sha and subject) and the stat.
    static func summary(_ diff: JSONValue) -> [String] {
        var lines: [String] = []
        for commit in diff["commits"]?.arrayValue ?? [] {
            let sha = String((commit["sha"]?.stringValue ?? "").prefix(10))
            lines.append(CLIOutput.paint(sha, "33") + " " + (commit["subject"]?.stringValue ?? ""))
        }
        let stat = (diff["stat"]?.stringValue ?? "").trimmingCharacters(in: .newlines)
        lines += stat.isEmpty ? ["no changes against \(String((diff["base"]?.stringValue ?? "").prefix(10)))"] : stat.split(separator: "\n").map(String.init)
        return lines
    }

    /// A patch line in git's colours.
    static func paint(_ line: String) -> String {
        if line.hasPrefix("+++") || line.hasPrefix("---") || line.hasPrefix("diff --git") || line.hasPrefix("index ") {
            return CLIOutput.bold(line)
        }
        if line.hasPrefix("+") { return CLIOutput.paint(line, "32") }
        if line.hasPrefix("-") { return CLIOutput.paint(line, "31") }
        if line.hasPrefix("@@") { return CLIOutput.paint(line, "36") }
        return line
    }
}
