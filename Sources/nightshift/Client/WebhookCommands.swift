import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift webhooks`: the workspace's webhooks (`list`, the default), making one (`add`),
/// looking at one (`show`), its delivery log (`deliveries`), sending an event again (`redeliver`)
/// and deleting one (`rm`).
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "List, add, show and remove webhooks; read their delivery logs and redeliver events.",
        subcommands: [
            WebhooksListCommand.self, WebhooksAddCommand.self, WebhooksShowCommand.self, WebhooksDeliveriesCommand.self,
            WebhooksRedeliverCommand.self, WebhooksDeleteCommand.self,
        ],
        defaultSubcommand: WebhooksListCommand.self)
}

/// `nightshift webhooks list`.
struct WebhooksListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the webhooks with where their delivery stands.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's answer: {\"webhooks\":[..]}."))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let webhooks = try await options.client().webhooks()
        if options.json {
            CLIOutput.json(WireWebhookList(webhooks: webhooks))
            return
        }
        guard !webhooks.isEmpty else {
            CLIOutput.line("no webhooks")
            return
        }
        var table = CLITable(["WEBHOOK", "URL", "CURSOR", "DELIVERED", "DEAD", "STATE"], rightAligned: [2, 3, 4])
        for webhook in webhooks {
            let state = !webhook.enabled ? "disabled" : webhook.lastError.map { "retrying: \($0)" } ?? "ok"
            table.add([
                .init(webhook.name, style: "1"), .init(webhook.url), .init(String(webhook.cursor)), .init(String(webhook.delivered)),
                .init(String(webhook.dead)), .init(state),
            ])
        }
        table.print()
    }
}

/// `nightshift webhooks add NAME URL --secret S [--events T,…]`.
struct WebhooksAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a webhook: it POSTs each hook event after now to URL, signed with the secret.",
        discussion: CLIExitCodes.discussion("""
            Deliveries carry X-Nightshift-Signature: sha256=HMAC-SHA256(secret, "<X-Nightshift-Timestamp>.<body>") \
            (docs/hooks.md). Exits 2 if the daemon refuses a field, naming it; 1 if the name is taken.
            """))

    @Argument(help: "The webhook's name.")
    var name: String

    @Argument(help: "The receiver: an http(s) URL.")
    var receiver: String

    @Option(help: ArgumentHelp("The signing secret; --secret-env reads it from an environment variable instead.", valueName: "secret"))
    var secret: String?

    @Option(help: ArgumentHelp("The environment variable holding the secret.", valueName: "variable"))
    var secretEnv: String?

    @Option(help: ArgumentHelp("Only these event types, comma-separated (task.done, task.*, review_ready).", valueName: "types"))
    var events: String?

    @Option(help: "Attempts per event before it is dead-lettered.")
    var maxAttempts: Int?

    @Option(help: "Seconds a receiver has to answer.")
    var timeout: Double?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        var key = secret
        if let secretEnv {
            guard key == nil else { throw ValidationError("give --secret or --secret-env, not both") }
            guard let value = ProcessInfo.processInfo.environment[secretEnv], !value.isEmpty else {
                throw ValidationError("--secret-env: \(secretEnv) is not set")
            }
            key = value
        }
        guard let key else { throw ValidationError("--secret or --secret-env is required") }
        let write = WireWebhookWrite(
            name: name, url: receiver, events: events.map { $0.split(separator: ",").map(String.init) }, secret: key, maxAttempts: maxAttempts,
            timeout: timeout)
        let webhook = try await options.client().createWebhook(write)
        CLIOutput.line(options.json ? webhook.json.jsonText : "added webhook \(webhook.name) → \(webhook.url), from seq \(webhook.cursor + 1)")
    }
}

/// `nightshift webhooks show NAME`.
struct WebhooksShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a webhook and its latest deliveries.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such webhook. With --json, prints the webhook object."))

    @Argument(help: "The webhook's name.")
    var name: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let client = options.client()
        let webhook = try await client.webhook(name)
        if options.json {
            CLIOutput.json(webhook)
            return
        }
        let rows: [(String, String)] = [
            ("url", webhook.url), ("events", webhook.events.isEmpty ? "all" : webhook.events.joined(separator: ", ")),
            ("enabled", String(webhook.enabled)), ("cursor", String(webhook.cursor)), ("delivered", String(webhook.delivered)),
            ("dead", String(webhook.dead)), ("attempts", String(webhook.attempts)), ("next_attempt", CLIOutput.timestamp(webhook.nextAttemptAt)),
            ("last_error", CLIOutput.text(webhook.lastError)), ("max_attempts", String(webhook.maxAttempts)),
            ("timeout", "\(webhook.timeout) s"), ("source", webhook.source),
        ]
        CLIOutput.line(CLIOutput.bold(webhook.name))
        for (key, value) in rows { CLIOutput.line("  " + key.padding(toLength: 14, withPad: " ", startingAt: 0) + value) }
        let recent = try await client.webhookDeliveries(name, limit: 10)
        if !recent.isEmpty {
            CLIOutput.line("")
            WebhooksDeliveriesCommand.print(recent)
        }
    }
}

/// `nightshift webhooks deliveries NAME [--dead]`.
struct WebhooksDeliveriesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries", abstract: "A webhook's delivery log, newest first; --dead lists its dead letters.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such webhook. With --json, prints {\"deliveries\":[..]}."))

    @Argument(help: "The webhook's name.")
    var name: String

    @Flag(help: "Only the dead letters.")
    var dead = false

    @Option(help: "At most this many (1 to 1000).")
    var limit: Int = 50

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let deliveries = try await options.client().webhookDeliveries(name, outcome: dead ? "dead" : nil, limit: limit)
        if options.json {
            CLIOutput.json(WireWebhookDeliveryList(deliveries: deliveries))
            return
        }
        guard !deliveries.isEmpty else {
            CLIOutput.line("no deliveries")
            return
        }
        Self.print(deliveries)
    }

    /// A table of `deliveries`.
    static func print(_ deliveries: [WireWebhookDelivery]) {
        var table = CLITable(["SEQ", "EVENT", "ATTEMPT", "OUTCOME", "STATUS", "TIME", "ERROR"], rightAligned: [0, 2, 4])
        for delivery in deliveries {
            table.add([
                .init(String(delivery.seq)), .init(delivery.eventType), .init(String(delivery.attempt)),
                .init(delivery.outcome, style: delivery.outcome == "delivered" ? "32" : "31"), .init(CLIOutput.text(delivery.httpStatus)),
                .init(CLIOutput.timestamp(delivery.time)), .init(CLIOutput.text(delivery.error)),
            ])
        }
        table.print()
    }
}

/// `nightshift webhooks redeliver NAME SEQ`.
struct WebhooksRedeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redeliver", abstract: "Send an event to a webhook again, now, once (a dead letter, or any event the stream holds).",
        discussion: CLIExitCodes.discussion("Exits 1 if the receiver did not take it, 3 if there is no such webhook or event."))

    @Argument(help: "The webhook's name.")
    var name: String

    @Argument(help: "The event's seq.")
    var seq: Int64

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let delivery = try await options.client().redeliver(name, seq: seq)
        CLIOutput.line(options.json ? delivery.json.jsonText : "\(delivery.outcome): seq \(delivery.seq) to \(name)\(delivery.error.map { " (\($0))" } ?? "")")
        if delivery.outcome != "delivered" { throw ExitCode(CLIExitCodes.failure) }
    }
}

/// `nightshift webhooks rm NAME`.
struct WebhooksDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Delete a webhook and its delivery log.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such webhook. With --json, prints {\"deleted\":NAME}."),
        aliases: ["delete"])

    @Argument(help: "The webhook's name.")
    var name: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.client().deleteWebhook(name)
        if options.json { CLIOutput.json(["deleted": .string(name)]) } else { CLIOutput.line("deleted webhook \(name)") }
    }
}
