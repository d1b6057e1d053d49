import ArgumentParser
import Nightshift
import NightshiftDaemon

/// `nightshift lanes`: the lanes' concurrency limits (`list`, the default), setting one (`set`) and
/// removing one (`delete`, alias `rm`).
struct LanesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lanes",
        abstract: "List, set and remove the lanes' concurrency limits.",
        subcommands: [LanesListCommand.self, LanesSetCommand.self, LanesDeleteCommand.self],
        defaultSubcommand: LanesListCommand.self)
}

/// `nightshift lanes list`: the lanes with a limit or running tasks.
struct LanesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the lanes that have a limit or running tasks, with how many of their tasks run.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's answer: {\"lanes\":[..]}."))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let lanes = try await options.client().lanes()
        if options.json {
            CLIOutput.json(WireLaneList(lanes: lanes))
            return
        }
        guard !lanes.isEmpty else {
            CLIOutput.line("no lanes")
            return
        }
        var table = CLITable(["LANE", "CONCURRENCY", "RUNNING"], rightAligned: [1, 2])
        for lane in lanes {
            table.add([.init(lane.name, style: "1"), .init(CLIOutput.text(lane.concurrency)), .init(String(lane.running))])
        }
        table.print()
    }
}

/// `nightshift lanes set NAME N`.
struct LanesSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Let at most N of a lane's tasks run at once, on all nodes together.",
        discussion: CLIExitCodes.discussion("""
            Exits 2 if the daemon rejects the name or the limit (an integer ≥ 1), naming it. Prints the \
            lane and its limit; with --json, the API's lane object. A lane the config file limits is reset \
            to the file's limit when the daemon restarts.
            """))

    @Argument(help: "The lane's name, as tasks give it (--lane).")
    var name: String

    @Argument(help: "At most this many of its tasks run at once.")
    var concurrency: Int

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let lane = try await options.client().setLane(named: name, concurrency: concurrency)
        CLIOutput.line(options.json ? lane.json.jsonText : "\(CLIOutput.bold(lane.name))  concurrency \(CLIOutput.text(lane.concurrency))")
    }
}

/// `nightshift lanes delete NAME`.
struct LanesDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Remove a lane's concurrency limit.",
        discussion: CLIExitCodes.discussion("""
            Exits 3 if the lane has no limit. With --json, prints {"deleted":NAME}. A lane the config file \
            limits gets its limit back when the daemon restarts.
            """),
        aliases: ["rm"])

    @Argument(help: "The lane's name.")
    var name: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.client().deleteLane(named: name)
        if options.json { CLIOutput.json(["deleted": .string(name)]) } else { CLIOutput.line("deleted the limit of lane \(name)") }
    }
}
