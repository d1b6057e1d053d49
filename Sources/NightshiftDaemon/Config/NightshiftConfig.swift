import Foundation
import Nightshift

/// The daemon's settings from its TOML file (`nightshift.toml`): where the API listens, how long
/// failed tasks' work directories are kept, when a waiting task counts as blocked, how deep the
/// queue may get, how subtasks may nest, the agents and the lanes' limits.
///
/// ```toml
/// [server]
/// listen = "127.0.0.1:7777"
/// idle_timeout = "30s"
/// max_connections = 512
/// keep_failed_workdirs = "24h"
/// blocked_stale_after = "1h"
/// stuck_queued_after = "10m"
/// hook_retention = "168h"
/// park_margin = "1m"
/// park_default = "30m"
/// park_max = "8h"
/// [queue]
/// depth = 100000
/// [subtasks]
/// max_depth = 5
/// max_children = 100
/// [agents.build]
/// runner = "command"
/// command = ["/usr/local/bin/build-agent", "--quiet"]
/// timeout = "30m"
/// stall_timeout = "10m"
/// ask = "always"
/// [lanes.deploys]
/// concurrency = 1
/// rate = "30/1h"
/// quota_group = "anthropic"
/// ```
public struct NightshiftConfig: Sendable, Hashable {
    /// Where the HTTP API listens (`server.listen`); `nil` when the file does not say.
    public var listen: ListenAddress?
    /// What the HTTP server grants a connection (`server.idle_timeout`, `server.max_connections`).
    public var connectionLimits = ConnectionLimits()
    /// How long the work directory of a task that ended in error is kept, in seconds
    /// (`server.keep_failed_workdirs`); `nil` when the file does not say.
    public var keepFailedWorkdirs: Double?
    /// How long a task may wait before `GET /v1/status` reports it as `blocked_stale`, in seconds
    /// (`server.blocked_stale_after`); `nil` when the file does not say.
    public var blockedStaleAfter: Double?
    /// How long a task may stay available, unclaimed, before hook consumers get `stuck_queued`, in
    /// seconds (`server.stuck_queued_after`); `nil` when the file does not say.
    public var stuckQueuedAfter: Double?
    /// How long hook events every consumer has acked are kept, in seconds (`server.hook_retention`);
    /// `nil` when the file does not say.
    public var hookRetention: Double?
    /// The daemon's address as people reach it (`server.public_url`): notifications link to its
    /// tasks there; `nil` when the file does not say.
    public var publicURL: String?
    /// Who may read `/metrics` (`server.metrics`: `open`, `token` or `off`); `nil` when the file
    /// does not say: open on a loopback address, a token elsewhere.
    public var metricsAccess: MetricsAccess?
    /// Where the engine's spans are exported (`[tracing]`); `nil`: not traced.
    public var tracing: TracingSettings?
    /// The most tasks that may be queued, waiting or paused at once (`queue.depth`); `nil` when the file does not say.
    public var queueDepth: Int?
    /// How deep subtasks may nest and how many one task may have (`subtasks.max_depth`,
    /// `subtasks.max_children`); the defaults where the file does not say.
    public var subtasks = SubtaskLimits()
    /// How a provider's usage limit parks a quota group (`server.park_margin`, `server.park_default`,
    /// `server.park_max`); the defaults where the file does not say.
    public var parking = ParkPolicy()
    /// The agents (`agents.NAME`), sorted by name, each validated.
    public var agents: [Agent]
    /// The lanes' limits (`lanes.NAME`, each with `concurrency`), sorted by name, in the default
    /// workspace.
    public var lanes: [Lane]
    /// The schedules (`schedules.NAME`), sorted by name, each validated.
    public var schedules: [NewSchedule] = []
    /// The webhooks (`webhooks.NAME`) and the channel bindings (`channels.NAME`), each validated.
    public var webhooks: [NewWebhook] = []
    /// The workflows (`workflows.NAME`), sorted by name, each validated.
    public var workflows: [WorkflowSpec] = []
    /// The command work detectors (`detectors.NAME`), sorted by name, each validated.
    public var detectors: [DetectorSpec] = []

    /// Creates a configuration; with no arguments, the empty one.
    public init(
        listen: ListenAddress? = nil, keepFailedWorkdirs: Double? = nil, blockedStaleAfter: Double? = nil, queueDepth: Int? = nil,
        subtasks: SubtaskLimits = SubtaskLimits(), agents: [Agent] = [], lanes: [Lane] = []
    ) {
        self.listen = listen
        self.keepFailedWorkdirs = keepFailedWorkdirs
        self.blockedStaleAfter = blockedStaleAfter
        self.queueDepth = queueDepth
        self.subtasks = subtasks
        self.agents = agents
        self.lanes = lanes
    }

    /// Reads the file at `path`. A missing file is the empty configuration unless `required`.
    ///
    /// `validate` checks each agent's runner config (the engine's runners know their keys); its
    /// error is reported with the file and the agent's key.
    public static func load(
        path: String, required: Bool, environment: [String: String] = ProcessInfo.processInfo.environment,
        validate: (Agent) throws(NightshiftError) -> Void = { _ in }
    ) throws(NightshiftError) -> NightshiftConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw NightshiftError(.invalidInput, "\(path): configuration file not found") }
            return NightshiftConfig()
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw NightshiftError(.invalidInput, "\(path): cannot read the configuration file as UTF-8 text: \(error.localizedDescription)")
        }
        return try NightshiftConfig(toml: text, path: path, environment: environment, validate: validate)
    }

    /// Parses a TOML document; `path` names the file in error messages, `environment` gives the
    /// variables `secret_env` names (by default this process's).
    public init(
        toml: String, path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        validate: (Agent) throws(NightshiftError) -> Void = { _ in }
    ) throws(NightshiftError) {
        let root = try TOMLSection.parse(toml, path: path)
        try root.checkKeys(["agents", "channels", "detectors", "lanes", "queue", "schedules", "server", "subtasks", "tracing", "webhooks", "workflows"])
        if let server = try root.section("server") {
            try server.checkKeys([
                "blocked_stale_after", "hook_retention", "idle_timeout", "keep_failed_workdirs", "listen", "max_connections", "metrics", "park_default",
                "park_margin", "park_max", "public_url", "stuck_queued_after",
            ])
            listen = try server.value("listen", .listenAddress)
            if let idle = try server.value("idle_timeout", .positiveDuration) { connectionLimits.idleTimeout = idle }
            if let cap = try server.value("max_connections", .positiveInteger) { connectionLimits.maxConnections = cap }
            keepFailedWorkdirs = try server.value("keep_failed_workdirs", .duration)
            blockedStaleAfter = try server.value("blocked_stale_after", .duration)
            stuckQueuedAfter = try server.value("stuck_queued_after", .positiveDuration)
            hookRetention = try server.value("hook_retention", .duration)
            if let url = try server.value("public_url", .string) {
                guard let parts = URLComponents(string: url), ["http", "https"].contains(parts.scheme?.lowercased() ?? ""), parts.host?.isEmpty == false else {
                    throw server.error(key: server.key("public_url"), "expected an http:// or https:// URL, got '\(url)'")
                }
                publicURL = url
            }
            metricsAccess = try server.value("metrics", .oneOf(MetricsAccess.allCases.map(\.rawValue))).flatMap(MetricsAccess.init(rawValue:))
            if let margin = try server.value("park_margin", .duration) { parking.margin = margin }
            if let park = try server.value("park_default", .positiveDuration) { parking.defaultDuration = park }
            if let cap = try server.value("park_max", .positiveDuration) { parking.maxDuration = cap }
            if parking.maxDuration < parking.defaultDuration {
                throw server.error(key: server.key("park_max"), "expected a duration ≥ park_default")
            }
        }
        if let queue = try root.section("queue") {
            try queue.checkKeys(["depth"])
            queueDepth = try queue.value("depth", .positiveInteger)
        }
        if let limits = try root.section("subtasks") {
            try limits.checkKeys(["max_children", "max_depth"])
            if let depth = try limits.value("max_depth", .nonNegativeInteger) { subtasks.maxDepth = depth }
            if let children = try limits.value("max_children", .nonNegativeInteger) { subtasks.maxChildren = children }
        }
        agents = []
        for (name, section) in try root.section("agents")?.sections() ?? [] {
            agents.append(try Self.agent(name: name, section, validate: validate))
        }
        lanes = []
        for (name, section) in try root.section("lanes")?.sections() ?? [] {
            try section.checkKeys(["concurrency"])
            do {
                try Lane.validate(name: name, field: "name")
            } catch {
                throw section.error(key: "lanes.\(name)", "the lane's name: \(error.message)")
            }
            lanes.append(Lane(name: name, concurrency: try section.required("concurrency", .positiveInteger)))
        }
        schedules = try Self.schedules(try root.section("schedules"))
        workflows = try Self.workflows(try root.section("workflows"), agents: agents)
        detectors = try Self.detectors(try root.section("detectors"), agents: agents, workflows: workflows)
        tracing = try TracingSettings.parse(try root.section("tracing"))
        webhooks = try Self.webhooks(try root.section("webhooks"), environment: environment)
        let channels = try Self.channels(try root.section("channels"), environment: environment)
        if let taken = channels.first(where: { channel in webhooks.contains { $0.name == channel.name } }) {
            throw NightshiftError(.invalidInput, "\(path): channels.\(taken.name): a webhook has this name already (webhooks.\(taken.name))")
        }
        webhooks += channels
    }

    /// The runner names an agent may use.
    private static let runners = ["claude_code", "codex", "command", "gemini"]

    /// The keys of an agent section that are not its runner's config.
    private static let agentKeys = [
        "ask", "budget_usd", "concurrency", "initial_backoff", "inject_memories", "max_attempts", "max_backoff", "park_on_limit",
        "quota_group", "rate", "runner", "stall_timeout", "timeout",
    ] + Agent.isolationKeys

    /// Builds and validates the agent in `[agents.NAME]`. For `command` agents the section's other
    /// keys are `command`, `workdir` and `env`; for the agent CLIs every other key is runner config,
    /// which `validate` checks.
    private static func agent(
        name: String, _ section: TOMLSection, validate: (Agent) throws(NightshiftError) -> Void
    ) throws(NightshiftError) -> Agent {
        let runner = RunnerKind(try section.required("runner", .oneOf(runners)))
        var config: [String: JSONValue] = [:]
        if runner == .command {
            try section.checkKeys(agentKeys + ["command", "env", "workdir"])
            config["command"] = .array(try section.required("command", .nonEmptyStrings).map(JSONValue.string))
            config["workdir"] = try section.value("workdir", .string).map(JSONValue.string)
            config["env"] = try section.value("env", .strings).map { .array($0.map(JSONValue.string)) }
        } else {
            let json = (try? JSONValue(jsonText: section.table.convert(to: .json)))?.objectValue ?? [:]
            config = json.filter { !agentKeys.contains($0.key) }
        }
        let defaults = RetryPolicy.default
        var agent = Agent(
            name: name,
            runner: runner,
            config: .object(config),
            concurrency: try section.value("concurrency", .positiveInteger),
            timeout: try section.value("timeout", .positiveDuration),
            stallTimeout: try section.value("stall_timeout", .positiveDuration),
            retry: RetryPolicy(
                maxAttempts: try section.value("max_attempts", .positiveInteger) ?? defaults.maxAttempts,
                initialBackoff: try section.value("initial_backoff", .duration) ?? defaults.initialBackoff,
                maxBackoff: try section.value("max_backoff", .duration) ?? defaults.maxBackoff
            ),
            budgetUSD: try section.value("budget_usd", .positiveNumber),
            injectMemories: try section.value("inject_memories", .bool) ?? false,
            ask: try section.value("ask", .oneOf(AskPolicy.allCases.map(\.rawValue))).flatMap(AskPolicy.init(rawValue:)) ?? .off,
            rate: try section.value("rate", .rate),
            quotaGroup: try section.value("quota_group", .string),
            parkOnLimit: try section.value("park_on_limit", .bool) ?? true
        )
        do {
            let table = (try? JSONValue(jsonText: section.table.convert(to: .json)))?.objectValue ?? [:]
            try agent.readIsolation(table)
            try agent.validate()
            try validate(agent)
        } catch {
            let key = switch error.field {
            case "name"?, nil: "agents.\(name)"
            case let field?: section.key(field)
            }
            throw section.error(key: key, error.message)
        }
        return agent
    }

    /// Seconds in a duration (``DurationText/seconds(_:)``): `"45s"`, `"30m"`, `"2h"`, `"1h30m"`,
    /// `"1.5h"` or a plain number of seconds; `nil` if `text` is none of these.
    public static func parseDuration(_ text: String) -> Double? {
        DurationText.seconds(text)
    }
}
