import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift logs ID`: a task's event log.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a task's event log; --follow keeps printing until the task ends.",
        discussion: CLIExitCodes.discussion("""
            One line per event: time, type and text (a state change as "queued → running"). With \
            --json, one event object per line. With --follow, exits 1 if the task ended in error, \
            cancelled or dropped.
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Flag(name: [.short, .long], help: "Keep printing new events until the task ends.")
    var follow = false

    @Option(help: "Only events after this sequence number.")
    var after: Int64 = 0

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if after < 0 { throw ValidationError("--after: expected a sequence number ≥ 0") }
    }

    func run() async throws {
        let client = options.client()
        let json = options.json
        let print: (WireEvent) -> Void = { event in
            CLIOutput.liveLine(json ? event.json.jsonText : CLIOutput.eventLine(event))
        }
        if follow {
            let final = try await TaskWatch.follow(client, task: id, after: after, onEvent: print)
            let code = TaskWatch.exitCode(for: final)
            if code != 0 {
                if !json { CLIOutput.error(TaskWatch.failureMessage(final)) }
                throw CLIFailure("", exitCode: code)
            }
            return
        }
        var cursor = after
        // Stored events can be measured first: a type longer than the known ones widens the column.
        var width = CLIOutput.eventTypeWidth
        while true {
            let page = try await client.eventPage(task: id, after: cursor, limit: 1000)
            width = max(width, (page.events.map(\.type.count).max() ?? 0) + 1)
            for event in page.events {
                CLIOutput.liveLine(json ? event.json.jsonText : CLIOutput.eventLine(event, typeWidth: width))
            }
            guard !page.events.isEmpty, page.nextAfter > cursor else { return }
            cursor = page.nextAfter
        }
    }
}
