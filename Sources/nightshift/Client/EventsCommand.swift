import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift events`: every task's lifecycle changes, from the global hook stream.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print every task's lifecycle changes (hook events); --follow keeps printing them as they happen.",
        discussion: CLIExitCodes.discussion("""
            One line per hook event: seq, time, type, task id, agent and the move ("queued → running"). \
            With --json, one hook event object per line. --follow never ends on its own (Ctrl-C ends it); \
            it reconnects after the daemon restarts without losing or repeating an event.
            """))

    @Flag(name: [.short, .long], help: "Keep printing new events as they happen.")
    var follow = false

    @Option(help: "Only events after this hook sequence number.")
    var after: Int64 = 0

    @Option(help: "Only this task's events.")
    var task: String?

    @Option(help: "Only events of this agent's tasks.")
    var agent: String?

    @Option(help: ArgumentHelp("Only moves into these states, comma-separated (e.g. done,error).", valueName: "states"))
    var state: String?

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if after < 0 { throw ValidationError("--after: expected a sequence number ≥ 0") }
    }

    func run() async throws {
        let client = options.client()
        let json = options.json
        let filter = NightshiftClient.HookFilter(task: task, agent: agent, states: state.map { $0.split(separator: ",").map(String.init) })
        let print: (WireHookEvent) -> Void = { event in CLIOutput.liveLine(json ? event.json.jsonText : Self.line(event)) }
        if follow {
            for try await event in client.hookEvents(after: after, filter: filter, onInterruption: { error in
                if !json { CLIOutput.note("lost the daemon (\(error)); waiting for it") }
            }) {
                print(event)
            }
            return
        }
        var cursor = after
        while true {
            let page = try await client.hookEventPage(after: cursor, filter: filter, limit: 1000)
            page.events.forEach(print)
            guard page.nextAfter > cursor else { return }
            cursor = page.nextAfter
        }
    }

    /// `SEQ  TIME  TYPE  TASK  AGENT  FROM → TO`.
    static func line(_ event: WireHookEvent) -> String {
        let type = event.type
        let data = event.data
        let move = [data["from"]?.stringValue, data["to"]?.stringValue].compactMap { $0 }.joined(separator: " → ")
        return [
            CLIOutput.dim(String(event.seq)), CLIOutput.dim(CLIOutput.clock(event.time)),
            CLIOutput.bold(type.padding(toLength: max(type.count, 15), withPad: " ", startingAt: 0)),
            event.taskID, data["agent"]?.stringValue ?? "", move,
        ].joined(separator: "  ")
    }
}
