import ArgumentParser
import Foundation
import Logging
import Hummingbird
import Nightshift
import NightshiftDaemon
import NightshiftPostgres
import NightshiftRunners
import NightshiftSQLite
import NIOCore
import ServiceLifecycle
import Synchronization

/// `nightshift serve`: runs the engine and the HTTP API on the data directory until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Nightshift daemon: the engine and the HTTP API.",
        discussion: """
            By default the daemon keeps its tasks in nightshift.db in the data directory (SQLite). With \
            --store postgres://USER@HOST:PORT/DB several daemons share one PostgreSQL database; each keeps \
            its node id and agents' work directories in its own data directory.

            Exits 78 (EX_CONFIG) when the config file is missing (--config) or invalid, printing what is \
            wrong and where; 2 for bad options; 1 when the daemon cannot start or fails.
            """
    )

    @Option(help: "Where tasks are kept: sqlite (the data directory's nightshift.db) or postgres://USER[:PASSWORD]@HOST:PORT/DB[?schema=NAME] (the password may come from PGPASSWORD).")
    var store: String = "sqlite"

    @Option(help: "Data directory (default: $NIGHTSHIFT_HOME, else $XDG_DATA_HOME/nightshift, else ~/.local/share/nightshift).")
    var home: String?

    @Option(help: "Address of the HTTP API, HOST:PORT (default: [server] listen in the config file, else 127.0.0.1:7777).")
    var listen: String?

    @Option(help: "Config file (default: nightshift.toml in the data directory; optional there).")
    var config: String?

    @Option(help: "Worker slots: runs in progress at once.")
    var workers: Int = 8

    @Option(help: "SQLite commit durability: full (survives power loss) or normal (survives a process crash).")
    var durability: Durability = .full

    @Option(help: "Safety-net poll interval in seconds (wake-ups are pushed; this only catches work from other processes).")
    var pollInterval: Double = 2

    @Option(help: "Lease duration in seconds.")
    var leaseDuration: Double = 30

    @Option(help: "Seconds running tasks get to finish on shutdown before they are released.")
    var shutdownGrace: Double = 30

    @Option(help: "Hours the work directory of a task that failed is kept, for a look at what its agent left (default: [server] keep_failed_workdirs in the config file, else 24); 0 removes it as the task ends, like those of other tasks.")
    var keepFailedWorkdirs: Double?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard workers >= 1 else { throw ValidationError("--workers: expected an integer ≥ 1, got \(workers)") }
        guard pollInterval > 0 else { throw ValidationError("--poll-interval: expected seconds > 0") }
        guard leaseDuration > 0 else { throw ValidationError("--lease-duration: expected seconds > 0") }
        guard shutdownGrace >= 0 else { throw ValidationError("--shutdown-grace: expected seconds ≥ 0") }
        guard (keepFailedWorkdirs ?? 0) >= 0 else { throw ValidationError("--keep-failed-workdirs: expected hours ≥ 0") }
        if store != "sqlite" {
            do { _ = try PostgresURL(parsing: store) } catch { throw ValidationError("--store: \(error.message)") }
        }
        if let listen {
            do { _ = try ListenAddress.parse(listen) } catch { throw ValidationError("--listen: \(error.message)") }
        }
    }

    func run() async throws {
        // Before anything is created: the database, its WAL, the token, work directories and what
        // agents write in them are the user's alone (files 0600, directories 0700).
        umask(0o077)
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "nightshift")
        let directory = try DataDirectory(home: home)
        try directory.lock()
        let workflows = WorkflowRegistry()
        let runners = RunnerRegistry(AgentRunners.all() + [BuiltinRunner(handlers: [:]), WorkflowRunner(registry: workflows)])
        let settings: NightshiftConfig
        do {
            settings = try NightshiftConfig.load(
                path: config ?? directory.url.appendingPathComponent("nightshift.toml").path, required: config != nil
            ) { (agent: Agent) throws(NightshiftError) in
                try runners.runner(for: agent.runner)?.validate(agent)
                try GitWorktrees.verify(agent)
            }
        } catch {
            // A bad config file is not a usage error: the message alone, and its own exit code.
            throw CLIFailure(error.message, exitCode: CLIExitCodes.config)
        }
        for workflow in settings.workflows {
            do { try workflows.register(workflow.name, steps: workflow.steps.map(\.name), workflow.body(runCommand: CommandStep.run)) } catch { throw CLIFailure(error.message, exitCode: CLIExitCodes.config) }
        }
        let detectors = DetectorRegistry(workflows: workflows)
        for spec in settings.detectors {
            let detector = CommandDetector(
                agent: spec.agent, command: spec.command, prompt: spec.prompt, interval: .seconds(spec.every), process: spec.process,
                timeout: .seconds(spec.timeout))
            do { try detectors.register(spec.name, detector) } catch { throw CLIFailure(error.message, exitCode: CLIExitCodes.config) }
        }
        for (path, mode) in directory.openToOthers() {
            logger.warning(
                "open to other users; left as it is (chmod -R go-rwx the data directory to make it private)",
                metadata: ["nightshift.path": "\(path)", "nightshift.mode": "\(String(format: "%04o", mode))"])
        }
        let listenAddress = try listen.map(ListenAddress.parse) ?? settings.listen ?? ListenAddress(host: "127.0.0.1", port: 7777)
        if store == "sqlite" {
            let sqlite = try SQLiteTaskStore(
                path: directory.databasePath,
                configuration: .init(durability: durability.value, maxQueueDepth: settings.queueDepth, subtasks: settings.subtasks))
            try await serve(sqlite, storeName: "sqlite (\(durability.value))", directory, runners, detectors, settings, listenAddress, logger)
            return
        }
        let postgres = try PostgresTaskStore(
            url: try PostgresURL(parsing: store), configuration: .init(maxQueueDepth: settings.queueDepth, subtasks: settings.subtasks),
            logger: logger)
        // Unreachable, wrong credentials, or a schema newer than this binary: stop here, saying so.
        try await postgres.migrate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The pool outlives the engine and the API: it stops after they drained.
            group.addTask { await postgres.runPool() }
            defer { group.cancelAll() }
            // Let the pool's task start before the first query (PostgresNIO warns about a lease
            // asked for before its run() began; the query would only wait).
            try await Task.sleep(for: .milliseconds(20))
            try await serve(postgres, storeName: "\(postgres.url)", directory, runners, detectors, settings, listenAddress, logger)
        }
    }

    /// Saves the agents and the lanes' limits, then runs the engine and the API on `store` until SIGTERM or SIGINT.
    private func serve(
        _ store: any TaskStore, storeName: String, _ directory: DataDirectory, _ runners: RunnerRegistry, _ detectors: DetectorRegistry,
        _ settings: NightshiftConfig,
        _ listenAddress: ListenAddress, _ logger: Logger
    ) async throws {
        if try await store.agent(named: BuiltinAgents.shell.name) == nil {
            try await store.saveAgent(BuiltinAgents.shell)
        }
        // The config file is the source of truth for the lanes it limits: a limit set through the
        // API for a lane the file does not name stays.
        for lane in settings.lanes { try await store.setLaneLimit(lane.name, concurrency: lane.concurrency) }
        // Likewise for the agents it defines (an agent's repository cap is its repository's lane's
        // limit); others (created through the API) are left alone.
        for agent in settings.agents { try await store.saveAgentAndRepoLane(agent) }
        // Each workflow of the file takes its tasks through an agent of its name.
        for workflow in settings.workflows { try await store.saveAgent(Agent(name: workflow.name, runner: .workflow)) }
        // Likewise for its schedules; those made through the API are left alone.
        let reconciled = try await ScheduleReconciliation.apply(settings.schedules, to: store, now: Date())
        if reconciled != ScheduleReconciliation() {
            logger.info("schedules reconciled with the config file", metadata: [
                "nightshift.created": "\(reconciled.created)", "nightshift.replaced": "\(reconciled.replaced)",
                "nightshift.deleted": "\(reconciled.deleted)",
            ])
        }
        let webhooks = try await WebhookReconciliation.apply(settings.webhooks, to: store, now: Date())
        if webhooks != WebhookReconciliation() {
            logger.info("webhooks reconciled with the config file", metadata: [
                "nightshift.saved": "\(webhooks.saved)", "nightshift.deleted": "\(webhooks.deleted)",
            ])
        }
        let authority = try TokenAuthority.load(home: directory.url)
        var engineConfiguration = EngineConfiguration(
            nodeID: try directory.nodeID(), slots: workers, leaseDuration: leaseDuration,
            heartbeatInterval: leaseDuration / 3, rescueInterval: min(5, leaseDuration / 3),
            pollInterval: pollInterval, shutdownGrace: shutdownGrace, workRoot: directory.workRoot,
            failedWorkdirRetention: keepFailedWorkdirs.map { $0 * 3600 } ?? settings.keepFailedWorkdirs ?? 24 * 3600)
        if let after = settings.blockedStaleAfter { engineConfiguration.blockedStaleAfter = after }
        if let after = settings.stuckQueuedAfter { engineConfiguration.stuckQueuedAfter = after }
        if let retention = settings.hookRetention { engineConfiguration.hookRetention = retention }
        engineConfiguration.publicURL = settings.publicURL
        engineConfiguration.parking = settings.parking
        engineConfiguration.privatePaths = [directory.url]
        engineConfiguration.artifactRoot = directory.url.appendingPathComponent("artifacts", isDirectory: true)
        let access = settings.metricsAccess ?? (listenAddress.isLoopback ? .open : .token)
        let metrics = access == .off ? nil : DaemonMetrics(store: store, access: access)
        if let metrics {
            engineConfiguration.metrics = EngineMetrics(factory: metrics.factory)
            metrics.prime(store: store)
        }
        let tracing = try settings.tracing?.backend()
        if let tracing { engineConfiguration.tracing = EngineTracing(tracer: tracing.tracer) }
        let engine = Engine(
            store: store, runners: runners, configuration: engineConfiguration, webhookSender: WebhookHTTPSender(), detectors: detectors,
            logger: logger)
        let listening = ListeningFlag()
        // The connection cap, not the default soft limit of 1,024 descriptors, bounds the clients.
        let descriptors = ConnectionLimits.raiseDescriptorLimit()
        let server = APIServer(engine: engine, authority: authority, limits: settings.connectionLimits, metrics: metrics).application(
            host: listenAddress.host, port: listenAddress.port, logger: logger
        ) { port in
            listening.set()
            logger.info("nightshift serving", metadata: [
                "nightshift.version": "\(NightshiftCommand.version)",
                "nightshift.listen": "http://\(listenAddress.host):\(port)", "nightshift.home": "\(directory.url.path)",
                "nightshift.node": "\(engine.configuration.nodeID)", "nightshift.workers": "\(workers)",
                "nightshift.store": "\(storeName)", "nightshift.agents": "\(settings.agents.count + 1)",
                "nightshift.max_connections": "\(settings.connectionLimits.maxConnections)",
                "nightshift.descriptors": "\(descriptors)",
            ])
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                // Shut down in reverse order: the engine drains first while the API still answers
                // (503 with Retry-After), then the API stops.
                // The span exporter stops last, so that the spans of the drain are sent.
                services: (tracing.map { [.init(service: $0.service)] } ?? []) + [.init(service: server), .init(service: engine)]
                    + (metrics.map { [.init(service: $0.census)] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let error as IOError where !listening.isSet {
            // NIO says "bind(descriptor:ptr:bytes:): Address already in use"; say which address.
            var reason = String(cString: strerror(error.errnoCode))
            if let first = reason.first { reason = first.lowercased() + reason.dropFirst() }
            throw CLIFailure("cannot listen on \(listenAddress): \(reason)")
        }
        logger.info("nightshift stopped")
    }
}

/// Whether the API's socket is bound yet: an I/O error before then is a failure to listen.
private final class ListeningFlag: Sendable {
    private let value = Mutex(false)

    /// Notes that the socket is bound.
    func set() { value.withLock { $0 = true } }

    /// Whether ``set()`` was called.
    var isSet: Bool { value.withLock { $0 } }
}

/// The `--durability` option.
enum Durability: String, ExpressibleByArgument, CaseIterable {
    case full, normal

    var value: SQLiteTaskStore.Configuration.Durability {
        self == .full ? .full : .normal
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
