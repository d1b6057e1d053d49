import Foundation
import Nightshift

/// `[webhooks.NAME]` and `[channels.NAME]`: webhooks and channel bindings the file declares, in
/// the default workspace. `serve` reconciles
/// them at start (``WebhookReconciliation``). The secret is best read from the environment
/// (`secret_env`) rather than written in the file.
///
/// ```toml
/// [webhooks.ci]
/// url = "https://ci.example.com/nightshift"
/// events = ["task.done", "task.error", "feature_review_ready"]
/// secret_env = "NIGHTSHIFT_CI_WEBHOOK_SECRET"
/// max_attempts = 8
/// timeout = "10s"
/// ```
///
/// A channel binding tells the tasks whose origin is its channel (`origin.channel` = NAME, unless
/// `channel` says otherwise) when they start, end, wait for a person or are parked:
///
/// ```toml
/// [channels.ops]
/// url = "https://hooks.slack.com/services/T000/B000/XXXX"
/// format = "slack"                       # or "json"
/// events = ["done", "failed", "waiting"] # default: started, done, failed, waiting, parked
/// ```
extension NightshiftConfig {
    /// The keys of a `[channels.NAME]` table.
    static let channelKeys = ["channel", "enabled", "events", "format", "max_attempts", "secret", "secret_env", "timeout", "url"]

    /// The channel bindings of `[channels]`, sorted by name, each checked; an error names
    /// `channels.NAME.KEY`. A channel without a secret gets a random one (Slack checks none).
    static func channels(_ section: TOMLSection?, environment: [String: String]) throws(NightshiftError) -> [NewWebhook] {
        var channels: [NewWebhook] = []
        for (name, table) in try section?.sections() ?? [] {
            try table.checkKeys(channelKeys)
            let format = WebhookFormat(rawValue: try table.value("format", .oneOf(["json", "slack"])) ?? "json") ?? .json
            channels.append(try webhook(
                name: name, table, environment: environment, channel: try table.value("channel", .string) ?? name, format: format,
                prefix: "channels"))
        }
        return channels
    }

    /// The keys of a `[webhooks.NAME]` table.
    static let webhookKeys = ["enabled", "events", "initial_backoff", "max_attempts", "max_backoff", "secret", "secret_env", "timeout", "url"]

    /// The webhooks of `[webhooks]`, sorted by name, each checked; an error names
    /// `webhooks.NAME.KEY`. `environment` gives `secret_env`'s variables.
    static func webhooks(_ section: TOMLSection?, environment: [String: String]) throws(NightshiftError) -> [NewWebhook] {
        var webhooks: [NewWebhook] = []
        for (name, table) in try section?.sections() ?? [] {
            try table.checkKeys(webhookKeys)
            webhooks.append(try webhook(name: name, table, environment: environment, channel: nil, format: .event, prefix: "webhooks"))
        }
        return webhooks
    }

    private static func webhook(
        name: String, _ section: TOMLSection, environment: [String: String], channel: String?, format: WebhookFormat, prefix: String
    ) throws(NightshiftError) -> NewWebhook {
        var secret = try section.value("secret", .string)
        if let variable = try section.value("secret_env", .string) {
            guard secret == nil else { throw section.error(key: section.key("secret_env"), "give secret or secret_env, not both") }
            guard let value = environment[variable], !value.isEmpty else {
                throw section.error(key: section.key("secret_env"), "expected the name of a set environment variable; \(variable) is not set")
            }
            secret = value
        }
        if secret == nil, channel != nil {
            secret = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
        }
        guard let secret else { throw section.error(key: section.key("secret"), "is required (or secret_env, naming an environment variable)") }
        var retry = NewWebhook.defaultRetry
        if let attempts = try section.value("max_attempts", .positiveInteger) { retry.maxAttempts = attempts }
        if let initial = try section.value("initial_backoff", .duration) { retry.initialBackoff = initial }
        if let cap = try section.value("max_backoff", .duration) { retry.maxBackoff = cap }
        let webhook = NewWebhook(
            name: name, url: try section.required("url", .string), events: try section.value("events", .strings) ?? [], secret: secret,
            enabled: try section.value("enabled", .bool) ?? true, retry: retry, timeout: try section.value("timeout", .positiveDuration) ?? 10,
            channel: channel, format: format)
        do {
            try webhook.validate()
        } catch {
            let key = error.field.map { $0 == "name" ? "\(prefix).\(name)" : section.key($0.hasPrefix("events[") ? "events" : $0) } ?? "\(prefix).\(name)"
            throw section.error(key: key, error.message)
        }
        return webhook
    }
}

/// What reconciling the config file's webhooks did: the file is their source of truth at start;
/// those made through the API are left alone.
public struct WebhookReconciliation: Sendable, Hashable {
    /// The names of the webhooks saved (created or replaced).
    public var saved: [String] = []
    /// The names of the webhooks deleted (declared by the file before, not now).
    public var deleted: [String] = []

    /// Nothing done.
    public init() {}

    /// Reconciles `store`'s webhooks in the default workspace with `declared`, at `now`.
    public static func apply(_ declared: [NewWebhook], to store: any WebhookStore, now: Date) async throws -> WebhookReconciliation {
        var result = WebhookReconciliation()
        let existing = try await store.webhooks(workspace: Workspace.defaultID)
        for spec in declared {
            var spec = spec
            spec.workspaceID = Workspace.defaultID
            if let current = existing.first(where: { $0.spec.name == spec.name }), current.spec == spec, current.source == ScheduleReconciliation.source {
                continue
            }
            _ = try await store.saveWebhook(spec, source: ScheduleReconciliation.source, now: now)
            result.saved.append(spec.name)
        }
        let names = Set(declared.map(\.name))
        for webhook in existing where webhook.source == ScheduleReconciliation.source && !names.contains(webhook.spec.name) {
            if try await store.deleteWebhook(webhook.spec.name, workspace: Workspace.defaultID) { result.deleted.append(webhook.spec.name) }
        }
        return result
    }
}
