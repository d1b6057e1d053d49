import AsyncHTTPClient
import Foundation
import Logging
import Nightshift
import NightshiftPostgres
import NightshiftTestSupport
import Synchronization
import Testing

/// `serve --store postgres://…`: start-up errors, a database that goes away, and several
/// daemons on one database.
@Suite("serve on PostgreSQL", .serialized, .enabled(if: TestPostgres.enabled, Comment(rawValue: TestPostgres.skipNote)))
struct PostgresServeTests {
    /// The test server's URL with a fresh schema: an empty store of the test's own.
    static func freshURL() throws -> PostgresURL {
        var url = try PostgresURL(parsing: try TestPostgres.requireURL())
        url.schema = TestPostgres.freshSchema()
        return url
    }

    /// A store on `url` for the test process itself, its pool running while `body` uses it.
    static func withStore<T: Sendable>(_ url: PostgresURL, _ body: @Sendable (PostgresTaskStore) async throws -> T) async throws -> T {
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .critical
        let store = try PostgresTaskStore(url: url, configuration: .init(maximumConnections: 4), logger: logger)
        try await store.migrate()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await store.runPool() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }

    /// The HTTP status of `GET url`, or nil if nothing answers.
    static func status(_ url: String) async -> Int? {
        guard let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5)) else { return nil }
        return Int(response.status.code)
    }

    /// Waits for `daemon` to exit (at most 30 s) and returns its status and log.
    static func exit(of daemon: DaemonProcess) async -> (Int32?, String) {
        _ = await eventually(timeout: .seconds(30), poll: .milliseconds(20)) { !daemon.process.isRunning }
        if daemon.process.isRunning {
            await daemon.stop(SIGKILL)
            return (nil, daemon.output)
        }
        return (daemon.process.terminationStatus, daemon.output)
    }

    @Test("an unreachable server, a wrong database or a malformed URL stops serve, naming host and port and the server's message, never the password")
    func badURL() async throws {
        let server = try PostgresURL(parsing: try TestPostgres.requireURL())
        let closed = try freePort()
        let unreachable = try DaemonProcess(home: try makeHome(), arguments: [
            "--listen", "127.0.0.1:\(try freePort())", "--store", "postgres://nightshift:s3cretpw@127.0.0.1:\(closed)/nightshift",
        ])
        let (status, log) = await Self.exit(of: unreachable)
        #expect(status == 1, "\(log)")
        #expect(log.contains("cannot connect to PostgreSQL at 127.0.0.1:\(closed)"), "\(log)")
        #expect(!log.contains("s3cretpw"), "the password leaked: \(log)")

        let wrongDatabase = "postgres://\(server.username):s3cretpw@\(server.host):\(server.port)/no_such_database"
        let missing = try DaemonProcess(home: try makeHome(), arguments: [
            "--listen", "127.0.0.1:\(try freePort())", "--store", wrongDatabase,
        ])
        let (missingStatus, missingLog) = await Self.exit(of: missing)
        #expect(missingStatus == 1, "\(missingLog)")
        #expect(missingLog.contains("\(server.host):\(server.port)"), "\(missingLog)")
        #expect(missingLog.contains("database \"no_such_database\" does not exist"), "the server's own message: \(missingLog)")
        #expect(!missingLog.contains("s3cretpw"), "the password leaked: \(missingLog)")

        let malformed = try DaemonProcess(home: try makeHome(), arguments: ["--store", "postgres://127.0.0.1/nightshift"])
        let (malformedStatus, malformedLog) = await Self.exit(of: malformed)
        #expect(malformedStatus == 2, "\(malformedLog)")
        #expect(malformedLog.contains("--store") && malformedLog.contains("the user is missing"), "\(malformedLog)")
    }

    @Test("when the database goes away /healthz answers, /readyz says not ready, and work carries on when it is back, nothing lost")
    func databaseOutage() async throws {
        let direct = try Self.freshURL()
        let proxy = TCPProxy(to: direct.host, port: direct.port)
        try await proxy.start()
        var proxied = direct
        proxied.port = proxy.port
        let throughProxy = proxied
        try await Self.withStore(direct) { store in
            try await store.saveAgent(Agent(
                name: "work", runner: .command, config: ["command": ["/bin/sh", "-c", "sleep 0.3; echo \"did $NIGHTSHIFT_TASK_ID\""]],
                retry: RetryPolicy(maxAttempts: 5, initialBackoff: 0.1, maxBackoff: 0.5)))
            let port = try freePort()
            let base = "http://127.0.0.1:\(port)"
            let daemon = try DaemonProcess(home: try makeHome(), arguments: [
                "--listen", "127.0.0.1:\(port)", "--store", throughProxy.description, "--workers", "2", "--poll-interval", "0.5",
                "--lease-duration", "6", "--shutdown-grace", "1", "--log-level", "warning",
            ])
            #expect(await eventually(timeout: .seconds(30)) { await Self.status(base + "/readyz") == 200 }, "\(daemon.output)")
            var acknowledged: [TaskID] = []
            for index in 0..<4 {
                acknowledged.append(try await store.submit(NewTask(agent: "work", prompt: "before \(index)"), now: Date()).task.id)
            }
            #expect(try await eventually { try await store.countsByState()[.running, default: 0] >= 1 }, "runs in flight at the outage")

            await proxy.stop()
            #expect(await eventually(timeout: .seconds(10)) { await Self.status(base + "/readyz") == 503 }, "\(daemon.output)")
            #expect(await Self.status(base + "/healthz") == 200, "the daemon itself is alive")
            // Submits the daemon cannot take are refused, not acknowledged; the database still takes them.
            for index in 0..<4 {
                acknowledged.append(try await store.submit(NewTask(agent: "work", prompt: "during \(index)"), now: Date()).task.id)
            }
            try await Task.sleep(for: .seconds(1))
            #expect(await Self.status(base + "/readyz") == 503)

            try await proxy.start()
            #expect(await eventually(timeout: .seconds(20)) { await Self.status(base + "/readyz") == 200 }, "\(daemon.output)")
            let finished = try await eventually(timeout: .seconds(60), poll: .milliseconds(100)) {
                try await store.countsByState()[.done, default: 0] == acknowledged.count
            }
            var states: [String] = []
            for id in acknowledged {
                if let task = try await store.task(id), task.state != .done {
                    let runs = try await store.runs(task: id).map { "\($0.attempt):\($0.outcome ?? "-"):\($0.error ?? "")" }
                    states.append("\(id) \(task.state) \(runs)")
                }
            }
            #expect(finished, "every acknowledged task ends done after the outage: \(states); daemon log:\n\(daemon.output)")
            for id in acknowledged {
                let task = try #require(try await store.task(id), "acknowledged task \(id) lost")
                #expect(task.state == .done && task.result == "did \(id)")
                let terminal = try await store.events(task: id, after: 0, limit: 1000)
                    .filter { $0.type == "state" && TaskState(rawValue: $0.data["to"]?.stringValue ?? "")?.isTerminal == true }
                #expect(terminal.count == 1, "task \(id) settled \(terminal.count) times")
            }
            #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)")
        }
        await proxy.stop()
    }

    @Test("a node that rescues a killed node's run on the same machine kills what its agent left; the task runs once more, charged no attempt")
    func rescueKillsLeftovers() async throws {
        let url = try Self.freshURL()
        try await Self.withStore(url) { store in
            try await store.saveAgent(Agent(
                name: "stuck", runner: .command,
                config: ["command": ["/bin/sh", "-c", "if [ \"$NIGHTSHIFT_ATTEMPT\" = 1 ]; then sleep 300 & sleep 300; fi; echo ran"]],
                retry: RetryPolicy(maxAttempts: 1)))
            let id = try await store.submit(NewTask(agent: "stuck", prompt: "x"), now: Date()).task.id
            let homes = try (0..<2).map { _ in try makeHome() }
            let daemons = try homes.map { home in
                try DaemonProcess(home: home, arguments: [
                    "--listen", "127.0.0.1:\(try freePort())", "--store", url.description, "--poll-interval", "0.2",
                    "--lease-duration", "2", "--shutdown-grace", "0.5", "--log-level", "warning",
                ])
            }
            #expect(try await eventually(timeout: .seconds(30)) { try await store.task(id)?.state == .running })
            let run = try #require(try await store.runs(task: id).last)
            #expect(try await eventually(timeout: .seconds(20)) { AgentProcesses.of(run: run.id).count == 3 })
            // What a node killed before it wrote down its agent's process cannot be found again:
            // kill it only once the record is in the store.
            #expect(try await eventually(timeout: .seconds(20)) { try await store.runs(task: id).last?.agentProcess != nil })
            // Both daemons have made their node ids (one may have claimed the task before the other started).
            let files = homes.map { $0.appendingPathComponent("node_id").path }
            #expect(try await eventually(timeout: .seconds(20)) { files.allSatisfy { FileManager.default.fileExists(atPath: $0) } })
            let nodes = try homes.map { try String(contentsOf: $0.appendingPathComponent("node_id"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) }
            let holder = try #require(nodes.firstIndex(of: run.workerID))
            #expect(await daemons[holder].stop(SIGKILL) != nil)
            // The other node rescues the run once its lease expires, and kills what is left of it.
            let done = try await eventually(timeout: .seconds(60)) { try await store.task(id)?.state == .done }
            #expect(done, "\(daemons[1 - holder].output)")
            #expect(try await eventually(timeout: .seconds(20)) { AgentProcesses.of(run: run.id).isEmpty }, "no process of the lost run remains")
            let task = try #require(try await store.task(id))
            #expect(task.result == "ran" && task.failures == 0 && task.interruptions == 1)
            #expect(try await store.runs(task: id).map(\.outcome) == ["lost", "succeeded"])
            #expect(await daemons[1 - holder].stop(SIGTERM) == 0)
        }
    }

    @Test("three daemons on one database run 2,000 tasks under a concurrency limit; one is killed; the others take over its runs")
    func threeNodes() async throws {
        let url = try Self.freshURL()
        let limit = 4
        try await Self.withStore(url) { store in
            try await store.saveAgent(Agent(
                name: "limited", runner: .command, config: ["command": ["/bin/sh", "-c", "sleep 0.02"]], concurrency: limit,
                retry: RetryPolicy(maxAttempts: 3, initialBackoff: 0.05, maxBackoff: 0.05)))
            var ids: [TaskID] = []
            for chunk in 0..<4 {
                let tasks = (0..<500).map { NewTask(agent: "limited", prompt: "task \(chunk * 500 + $0)") }
                ids += try await store.submitAll(tasks, now: Date()).map(\.task.id)
            }
            let homes = try (0..<3).map { _ in try makeHome() }
            let daemons = try homes.map { home in
                try DaemonProcess(home: home, arguments: [
                    "--listen", "127.0.0.1:\(try freePort())", "--store", url.description, "--workers", "3", "--poll-interval", "0.5",
                    "--lease-duration", "3", "--shutdown-grace", "1", "--log-level", "warning",
                ])
            }
            // Sample the running count throughout: the limit must hold across the nodes.
            let samples = Mutex<[Int]>([])
            let sampler = Task {
                while !Task.isCancelled {
                    if let running = try? await store.countsByState()[.running, default: 0] { samples.withLock { $0.append(running) } }
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            defer { sampler.cancel() }
            #expect(try await eventually(timeout: .seconds(60), poll: .milliseconds(20)) {
                try await store.countsByState()[.done, default: 0] >= 300
            })
            let victim = daemons[0]
            let victimNode = try String(contentsOf: homes[0].appendingPathComponent("node_id"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            // Kill it while it holds runs, so their leases are left to expire. It is frozen
            // (SIGSTOP) before looking: a frozen node cannot settle, so a run it holds then is
            // still held when it is killed (its runs take 20 ms, less than the look). If it holds
            // none, it goes on and is looked at again.
            #expect(try await eventually(timeout: .seconds(30), poll: .milliseconds(2)) {
                kill(victim.pid, SIGSTOP)
                var query = TaskQuery()
                query.states = [.running]
                let running = try await store.listTasks(query).tasks
                var held = 0
                for task in running where try await store.runs(task: task.id).last?.workerID == victimNode { held += 1 }
                if held == 0 { kill(victim.pid, SIGCONT) }
                return held > 0
            }, "the victim holds a run")
            #expect(await victim.stop(SIGKILL) != nil)
            let killedAt = Date()

            let finished = try await eventually(timeout: .seconds(240), poll: .milliseconds(200)) {
                try await store.countsByState()[.done, default: 0] == ids.count
            }
            sampler.cancel()
            #expect(finished, "every task done; logs:\n\(daemons[1].output)\n\(daemons[2].output)")
            let observed = samples.withLock { $0 }
            #expect(observed.count > 100, "sampled throughout (\(observed.count) samples)")
            #expect(observed.max() ?? 0 <= limit, "the concurrency limit \(limit) held across nodes: max \(observed.max() ?? 0)")
            #expect(observed.max() ?? 0 >= 2, "tasks ran concurrently")

            var takenOver = 0
            for id in ids {
                let events = try await store.events(task: id, after: 0, limit: 1000)
                let terminal = events.filter { $0.type == "state" && TaskState(rawValue: $0.data["to"]?.stringValue ?? "")?.isTerminal == true }
                #expect(terminal.count == 1, "task \(id) settled \(terminal.count) times")
                let runs = try await store.runs(task: id)
                #expect(runs.filter { $0.outcome == "succeeded" }.count == 1)
                if let lost = runs.firstIndex(where: { $0.outcome == "lost" }) {
                    #expect(runs[lost].workerID == victimNode, "only the killed node's runs are lost")
                    #expect(runs[lost].error?.contains("lease expired") == true)
                    #expect(runs[lost].finishedAt.map { $0 >= killedAt.addingTimeInterval(2) } == true, "rescued after its lease expired")
                    let next = try #require(runs.last)
                    #expect(next.outcome == "succeeded" && next.workerID != victimNode, "a surviving node ran it again")
                    takenOver += 1
                }
            }
            #expect(takenOver >= 1, "the surviving nodes took over the dead node's runs")
            for daemon in daemons.dropFirst() { #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)") }
        }
    }

    @Test("the config file's [subtasks] limits and blocked_stale_after reach a PostgreSQL store and its engine; ask always holds a task")
    func subtaskSettings() async throws {
        let home = try makeHome()
        try "[server]\nblocked_stale_after = 0\n[subtasks]\nmax_depth = 1\nmax_children = 1\n"
            .write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let port = try freePort()
        let daemon = try DaemonProcess(home: home, arguments: [
            "--listen", "127.0.0.1:\(port)", "--store", try Self.freshURL().description, "--poll-interval", "0.2",
            "--shutdown-grace", "0.5", "--log-level", "warning",
        ])
        let cli = CLIRunner(url: "http://127.0.0.1:\(port)", home: home)
        do {
            let up = try await eventually(timeout: .seconds(30)) {
                guard daemon.process.isRunning else { return true }
                return try await cli.run(["status", "--json"]).status == 0
            }
            try #require(up && daemon.process.isRunning, "\(daemon.output)")
            let top = try #require(try await cli.json(["submit", "top", "--delay", "3600", "--json"])["id"]?.stringValue)
            let child = try await cli.json(["submit", "child", "--parent", top, "--ask", "always", "--json"])
            let childID = try #require(child["id"]?.stringValue)
            #expect(child["state"] == "waiting" && child["subtask_depth"] == 1, "\(child)")
            let second = try await cli.run(["submit", "another", "--parent", top])
            #expect(second.status == 2 && second.stderr.contains("the limit is 1"), "\(second)")
            let deeper = try await cli.run(["submit", "deeper", "--parent", childID])
            #expect(deeper.status == 2 && deeper.stderr.contains("at most 1 deep"), "\(deeper)")
            #expect(try await eventually {
                guard case .array(let blocked)? = try await cli.json(["status", "--json"])["blocked_stale"] else { return false }
                return blocked.map { $0["task_id"] } == [.string(childID)]
            }, "the waiting subtask is blocked at once (blocked_stale_after = 0)")
        } catch {
            await daemon.stop(SIGTERM)
            throw error
        }
        #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)")
    }

    /// `GET /metrics` on `base`, read by the official Python client's parser.
    static func metrics(_ base: String) async throws -> [String: PrometheusPeer.Family] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + "/metrics"), timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 16 << 20))
        try #require(response.status.code == 200, "\(response.status): \(text)")
        return try PrometheusPeer.parse(text)
    }

    @Test(
        "two daemons on one PostgreSQL each serve the whole store's task counts at /metrics (each node's census follows the other's moves) and their own runs; read by prometheus_client",
        .enabled(if: PythonPeer.enabled))
    func metricsAcrossNodes() async throws {
        let url = try Self.freshURL()
        let homes = try (0..<2).map { _ in try makeHome() }
        let ports = try (0..<2).map { _ in try freePort() }
        let daemons = try (0..<2).map { node in
            try DaemonProcess(home: homes[node], arguments: [
                "--listen", "127.0.0.1:\(ports[node])", "--store", url.description, "--poll-interval", "0.2",
                "--shutdown-grace", "0.5", "--log-level", "warning",
            ])
        }
        let clis = (0..<2).map { CLIRunner(url: "http://127.0.0.1:\(ports[$0])", home: homes[$0]) }
        do {
            for (daemon, cli) in zip(daemons, clis) {
                let up = try await eventually(timeout: .seconds(30)) {
                    guard daemon.process.isRunning else { return true }
                    return try await cli.run(["status", "--json"]).status == 0
                }
                try #require(up && daemon.process.isRunning, "\(daemon.output)")
            }
            // Six tasks through node A, run by either node; one held for an hour.
            var ids: [String] = []
            for index in 0..<6 {
                ids.append(try #require(try await clis[0].json(["submit", "echo \(index)", "--json"])["id"]?.stringValue))
            }
            _ = try await clis[0].json(["submit", "echo later", "--delay", "3600", "--json"])
            for id in ids {
                #expect(try await eventually(timeout: .seconds(60)) { try await clis[0].json(["show", id, "--json"])["state"] == "done" }, "\(id)")
            }
            var runs = 0.0
            for cli in clis {
                let settled = try await eventually(timeout: .seconds(30)) {
                    let tasks = try await Self.metrics(cli.url)["nightshift_tasks"]
                    return tasks?.value("nightshift_tasks", ["agent": "shell", "state": "done"]) == 6
                        && tasks?.value("nightshift_tasks", ["agent": "shell", "state": "queued"]) == 1
                }
                let families = try await Self.metrics(cli.url)
                #expect(settled, "\(cli.url): \(families["nightshift_tasks"].map { "\($0.samples)" } ?? "no nightshift_tasks")")
                // A node that settled no run has no runs counter yet.
                #expect(families["nightshift_tasks"]?.type == "gauge" && (families["nightshift_runs"].map { $0.type == "counter" } ?? true))
                runs += families["nightshift_runs"]?.value("nightshift_runs_total", ["agent": "shell", "outcome": "succeeded"]) ?? 0
            }
            #expect(runs == 6, "each run is counted by the node that settled it, once")
        } catch {
            for daemon in daemons { await daemon.stop(SIGTERM) }
            throw error
        }
        for daemon in daemons { #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)") }
    }
}
