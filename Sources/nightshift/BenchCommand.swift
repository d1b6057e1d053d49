import ArgumentParser
import Foundation
import Nightshift
import NightshiftPostgres
import NightshiftSQLite
import NightshiftRunners

/// `nightshift bench`: measures the engine on a temporary SQLite file (or a throwaway schema in a
/// PostgreSQL database, `--store postgres://…`) and prints one JSON object per line per workload.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the engine; prints one JSON object per line for each workload.",
        // One line per paragraph: ArgumentParser wraps them to the terminal's width.
        discussion: """
            W1: submit --tasks no-op builtin tasks one by one (from --submitters concurrent callers), then drain \
            them with --slots slots; drain rate from the first claim to the last settle.

            W2: --latency-tasks tasks, each submitted after the previous one settled; latency from submit \
            returning to the runner starting.

            W3: --workflows workflow tasks of 10 no-op steps each, every step recorded durably before the \
            next: steps a second; then the time to read and replay a workflow of 1,000 recorded steps.

            W4: claim cost with N tasks queued, for each N in --queued; the cost must not grow with N.

            W5: --question-tasks tasks that each ask one question, answered by a client as soon as it sees \
            the question: latency from the answer to the agent receiving it, delivered live to a running \
            agent and by resuming a waiting one, measured separately.

            W6: --due-schedules schedules due at the same instant: time for the scheduler to fire them all; \
            the cost of an idle scheduler poll with --due-schedules and with --idle-schedules schedules (it \
            must not grow); the fire lag of a schedule firing every second for --lag-seconds seconds (p50, p99).

            W7: --tasks tasks drained --rounds times without a webhook and --rounds times with one \
            subscribed to every event (a receiver on loopback in this process, on a thread of its own at the \
            lowest priority: it stands in for another machine), alternating: the median \
            drain rates and their ratio, the delivery rate, and the lag from an event's commit to the \
            receiver (p50, p99).

            W8: --isolation-runs runs of a trivial command agent for each isolation variant, taking \
            turns: plain, under bubblewrap, in a fresh git worktree of a repository of --repo-files files, \
            and both; each variant's p50 and p90 latency from submit to done and its overhead over plain.

            P: the agent stream parser's throughput on 50 MB of Claude Code stream lines.

            D1: the dashboard's task list with --tasks tasks stored: server time (its Server-Timing) and round \
            trip of the first page, a filtered page and a text search, 200 requests each, on loopback.

            With --http, W1-http and W2-http run the same work through the HTTP API on loopback. With \
            --store postgres://USER@HOST:PORT/DB each workload runs in a schema of its own, dropped \
            afterwards; --nodes N runs W1's drain with N engines in separate processes.
            """
    )

    @Option(help: "Where to run: sqlite (a temporary file, the default) or postgres://USER[:PASSWORD]@HOST:PORT/DB.")
    var store: String = "sqlite"

    @Option(help: "SQLite commit durability: full or normal.")
    var durability: Durability = .full

    @Option(help: "W1 drain engines, each in its own process (PostgreSQL only).")
    var nodes: Int = 1

    @Option(help: "W1 task count.")
    var tasks: Int = 10_000

    @Option(help: "W1 concurrent submitters (each submits one task at a time).")
    var submitters: Int = 1

    @Option(help: "Worker slots.")
    var slots: Int = 8

    @Option(help: "W2 task count.")
    var latencyTasks: Int = 200

    @Option(help: "W5 task count (each way of delivery).")
    var questionTasks: Int = 1000

    @Option(help: "W6 schedules due at the same instant.")
    var dueSchedules: Int = 10_000

    @Option(help: "W6 schedules for the idle poll (none due).")
    var idleSchedules: Int = 100_000

    @Option(help: "W6 seconds of a schedule firing every second, for its fire lag.")
    var lagSeconds: Int = 60

    @Option(help: "W3 workflows (of 10 no-op steps each).")
    var workflows: Int = 1000

    @Option(help: "W7 rounds: drains without and with the webhook, alternating.")
    var rounds: Int = 3

    @Option(help: "W8 runs of each isolation variant.")
    var isolationRuns: Int = 40

    @Option(help: "W8 files in the repository the worktree variants check out.")
    var repoFiles: Int = 10_000

    @Option(help: "W9 SSE clients on the global event feed during the drain (W7's --rounds).")
    var sseClients: Int = 100

    @Option(help: "W10 tasks in the store /metrics is scraped for.")
    var metricsTasks: Int = 1_000_000

    @Option(help: "W10 of those tasks drained to done before the scrapes (the rest stay queued).")
    var metricsDone: Int = 0

    @Option(help: "W4 queue sizes, comma-separated.")
    var queued: String = "1000,100000,1000000"

    @Option(help: "Workloads to run, comma-separated (W1, W2, W3, W4, W5, W6, W7, W8, W9: SSE fan-out, W10: /metrics, P: the agent stream parser, D1: the dashboard; default W1,W2,W4 on SQLite, W1,W2 on PostgreSQL).")
    var workloads: String?

    @Option(help: "Directory for the temporary databases (default: the system temporary directory).")
    var directory: String?

    @Flag(help: "Keep the benchmark databases for inspection.")
    var keep = false

    @Flag(help: "Also run W1-http and W2-http: the same work through the HTTP API on loopback.")
    var http = false

    @Option(help: "Concurrent HTTP clients for W1-http.")
    var clients: Int = 8

    func validate() throws {
        guard tasks > 0, slots > 0, latencyTasks > 0, submitters > 0, questionTasks > 0, dueSchedules > 0, lagSeconds > 0, rounds > 0, workflows > 0 else {
            throw ValidationError(
                "--tasks, --slots, --latency-tasks, --question-tasks, --submitters, --due-schedules, --lag-seconds, --rounds and --workflows must be ≥ 1")
        }
        guard isolationRuns > 0, repoFiles > 0 else { throw ValidationError("--isolation-runs and --repo-files must be ≥ 1") }
        guard idleSchedules >= dueSchedules else {
            throw ValidationError("--idle-schedules: expected at least --due-schedules (\(dueSchedules)), got \(idleSchedules)")
        }
        guard queuedSizes != nil else { throw ValidationError("--queued: expected comma-separated integers ≥ 1, e.g. 1000,100000") }
        guard nodes >= 1 else { throw ValidationError("--nodes: expected an integer ≥ 1, got \(nodes)") }
        if nodes > 1, store == "sqlite" {
            throw ValidationError("--nodes: several nodes need a shared store: use --store postgres://…")
        }
        if store != "sqlite" {
            do { _ = try PostgresURL(parsing: store) } catch { throw ValidationError("--store: \(error.message)") }
        }
    }

    var target: Bench.Target {
        get throws {
            if store == "sqlite" {
                return .sqlite(
                    root: URL(fileURLWithPath: directory ?? FileManager.default.temporaryDirectory.path), durability: durability.value)
            }
            return .postgres(url: try PostgresURL(parsing: store))
        }
    }

    var queuedSizes: [Int]? {
        let sizes = queued.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard sizes.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        return sizes.compactMap { $0 }
    }

    func run() async throws {
        let defaults = store == "sqlite" ? "W1,W2,W4" : "W1,W2"
        let selected = Set((workloads ?? defaults).uppercased().split(separator: ",").map(String.init))
        let bench = Bench(target: try target, keep: keep)
        if selected.contains("W1") {
            emit(try await bench.w1(tasks: tasks, slots: slots, submitters: submitters, nodes: nodes))
        }
        if selected.contains("W2") {
            emit(try await bench.w2(tasks: latencyTasks, slots: slots))
        }
        if http {
            emit(try await bench.w1HTTP(tasks: tasks, slots: slots, clients: clients))
            emit(try await bench.w2HTTP(tasks: latencyTasks, slots: slots))
        }
        if selected.contains("W3") {
            emit(try await bench.w3(workflows: workflows, steps: 10, replaySteps: 1000, slots: slots))
        }
        if selected.contains("W4") {
            for size in queuedSizes ?? [] { emit(try await bench.w4(queued: size)) }
        }
        if selected.contains("W5") {
            emit(try await bench.w5(tasks: questionTasks, slots: slots))
        }
        if selected.contains("W6") {
            emit(try await bench.w6(due: dueSchedules, idle: idleSchedules, lagSeconds: lagSeconds, slots: slots))
        }
        if selected.contains("W7") {
            emit(try await bench.w7(tasks: tasks, slots: slots, rounds: rounds))
        }
        if selected.contains("W8") {
            emit(try await bench.w8(runs: isolationRuns, files: repoFiles))
        }
        if selected.contains("W9") {
            emit(try await bench.w9(tasks: tasks, slots: slots, clients: sseClients, rounds: rounds))
        }
        if selected.contains("W10") {
            emit(try await bench.w10(tasks: metricsTasks, done: min(metricsDone, metricsTasks), scrapes: 200))
        }
        if selected.contains("D1") {
            emit(try await bench.d1(tasks: tasks))
        }
        if selected.contains("P") {
            // The agent stream parser: 50 MB of real-size Claude Code lines, split and parsed.
            let figures = StreamParserBenchmark.claude(bytes: 50_000_000)
            emit([
                ("workload", "P"), ("parser", "claude_code"), ("bytes", .int(Int64(figures.bytes))),
                ("lines", .int(Int64(figures.lines))), ("events", .int(Int64(figures.events))),
                ("seconds", .double(figures.seconds)), ("mb_per_s", .double(Double(figures.bytes) / 1e6 / figures.seconds)),
            ])
        }
    }

    private func emit(_ fields: [(String, JSONValue)]) {
        let line = "{" + fields.map { JSONValue.string($0.0).jsonText + ":" + $0.1.jsonText }.joined(separator: ",") + "}\n"
        FileHandle.standardOutput.write(Data(line.utf8))
    }
}
