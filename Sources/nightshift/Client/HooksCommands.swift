import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift hooks`: named consumers of the hook stream, with a durable ack each (`poll`, `ack`,
/// `consumers`, `rm`), and applications' own events (`emit`).
struct HooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hooks",
        abstract: "Read the hook stream as a named consumer with a durable ack; emit an application's event.",
        subcommands: [HooksPollCommand.self, HooksAckCommand.self, HooksConsumersCommand.self, HooksDeleteCommand.self, HooksEmitCommand.self])
}

/// `nightshift hooks poll --consumer NAME`.
struct HooksPollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Print a consumer's events after its ack, and the signals derived now.",
        discussion: CLIExitCodes.discussion("""
            The consumer is created (at ack 0) on first use. One line per event as `nightshift events` prints \
            them, then one per derived signal (seq 0: blocked_stale, stuck_queued, budget_nearly_spent, parked). \
            A poll does not move the ack: --ack moves it past what was printed, or use `nightshift hooks ack`. \
            With --json, prints the API's answer: {"events":[..],"derived":[..],"consumer":{..}}.
            """))

    @Option(help: "The consumer's name.")
    var consumer: String

    @Option(help: "At most this many events (1 to 1000).")
    var limit: Int = 100

    @Option(help: ArgumentHelp("With no event, wait up to this long for one (e.g. 30s; at most 60s).", valueName: "duration"))
    var wait: String?

    @Flag(help: "Ack the events printed.")
    var ack = false

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if let wait, DurationText.seconds(wait) == nil {
            throw ValidationError("--wait: expected a duration such as 30s, got '\(wait)'")
        }
    }

    func run() async throws {
        let client = options.client()
        let seconds = wait.flatMap(DurationText.seconds)
        let poll = try await client.pollHooks(consumer: consumer, limit: limit, wait: seconds)
        var consumer = poll.consumer
        if ack, let last = poll.events.last { consumer = try await client.ackHooks(consumer: self.consumer, seq: last.seq) }
        if options.json {
            var answer = poll
            answer.consumer = consumer
            CLIOutput.json(answer)
            return
        }
        for event in poll.events { CLIOutput.line(EventsCommand.line(event)) }
        for signal in poll.derived {
            let subject = [signal.taskID, signal.agent].compactMap { $0 }.joined(separator: "  ")
            CLIOutput.line([CLIOutput.dim("0"), CLIOutput.dim(CLIOutput.clock(signal.time)), CLIOutput.bold(signal.type), subject, signal.data.jsonText]
                .joined(separator: "  "))
        }
        CLIOutput.note("\(consumer.name): ack \(consumer.ack), lag \(consumer.lag)")
    }
}

/// `nightshift hooks ack --consumer NAME SEQ`.
struct HooksAckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack",
        abstract: "Move a consumer's ack forward to a seq.",
        discussion: CLIExitCodes.discussion("""
            The same seq again is fine; a seq below the ack exits 1 (an ack never moves back), one beyond the \
            stream exits 2, an unknown consumer 3. With --json, prints the consumer.
            """))

    @Option(help: "The consumer's name.")
    var consumer: String

    @Argument(help: "The seq handled up to.")
    var seq: Int64

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let answer = try await options.client().ackHooks(consumer: consumer, seq: seq)
        CLIOutput.line(options.json ? answer.json.jsonText : "\(CLIOutput.bold(answer.name))  ack \(answer.ack)  lag \(answer.lag)")
    }
}

/// `nightshift hooks consumers`.
struct HooksConsumersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumers",
        abstract: "List the workspace's hook consumers with their ack and lag.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's answer: {\"consumers\":[..]}."))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let consumers = try await options.client().hookConsumers()
        if options.json {
            CLIOutput.json(WireHookConsumerList(consumers: consumers))
            return
        }
        guard !consumers.isEmpty else {
            CLIOutput.line("no consumers")
            return
        }
        var table = CLITable(["CONSUMER", "ACK", "LAG", "UPDATED"], rightAligned: [1, 2])
        for consumer in consumers {
            table.add([.init(consumer.name, style: "1"), .init(String(consumer.ack)), .init(String(consumer.lag)), .init(CLIOutput.timestamp(consumer.updatedAt))])
        }
        table.print()
    }
}

/// `nightshift hooks rm NAME`.
struct HooksDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Forget a consumer: it no longer holds events back from pruning.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such consumer. With --json, prints {\"deleted\":NAME}."))

    @Argument(help: "The consumer's name.")
    var name: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.client().deleteHookConsumer(name)
        if options.json { CLIOutput.json(["deleted": .string(name)]) } else { CLIOutput.line("deleted consumer \(name)") }
    }
}

/// `nightshift hooks emit TASK TYPE [--data JSON]`.
struct HooksEmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emit", abstract: "Append an application's event on a task to the hook stream.",
        discussion: CLIExitCodes.discussion("""
            TYPE is the application's own: a lowercase letter, then lowercase letters, digits, '_', '-', '.' or \
            ':' (the task. prefix is the lifecycle's). Exits 2 for a bad type or data, 3 for an unknown task.
            """))

    @Argument(help: "The task it is about.")
    var task: String

    @Argument(help: "The event's type, e.g. feature_review_ready.")
    var type: String

    @Option(help: ArgumentHelp("Its details: a JSON object.", valueName: "json"))
    var data: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        var details: JSONValue?
        if let data {
            guard let parsed = try? JSONValue(jsonText: data) else { throw ValidationError("--data: expected a JSON object, got '\(data)'") }
            details = parsed
        }
        let accepted = try await options.client().emitEvent(task: task, type: type, data: details)
        CLIOutput.line(options.json ? accepted.json.jsonText : "emitted \(accepted.type) on \(accepted.taskID)")
    }
}
