import Foundation
import Nightshift
import NightshiftSQLite
import NightshiftTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    @Test("SIGKILL mid-run loses nothing; every task ends exactly once; dead runs retry as new attempts")
    func killAndRestart() async throws {
        let home = try makeHome()
        // The test process writes to the daemon's file directly: SQLite in WAL mode serves several processes.
        let store = try SQLiteTaskStore(path: home.appendingPathComponent("nightshift.db").path)
        // Tasks 0 and 1 finish at once; the others hold their runs until the test opens the gate,
        // so that runs are in flight at the kill however slowly this process, loaded by the rest
        // of the suite, sees the first ones done.
        let gate = home.appendingPathComponent("gate").path
        try await store.saveAgent(Agent(
            name: "slow", runner: .command,
            config: ["command": ["/bin/sh", "-c", .string("""
                case "$NIGHTSHIFT_PROMPT" in "task 0"|"task 1") ;; *) while [ ! -e '\(gate)' ]; do sleep 0.05; done ;; esac
                echo "finished $NIGHTSHIFT_TASK_ID"
                """)]],
            retry: RetryPolicy(maxAttempts: 3, initialBackoff: 0.05, maxBackoff: 0.05)))
        let daemonArguments = ["--workers", "4", "--poll-interval", "0.05", "--lease-duration", "60", "--log-level", "warning"]
        var acknowledged: [TaskID] = []
        for index in 0..<12 {
            acknowledged.append(try await store.submit(NewTask(agent: "slow", prompt: "task \(index)"), now: Date()).task.id)
        }
        let first = try DaemonProcess(home: home, arguments: daemonArguments)
        #expect(try await eventually(timeout: .seconds(20)) { try await store.countsByState()[.done, default: 0] >= 2 })
        #expect(try await eventually(timeout: .seconds(20)) { try await store.countsByState()[.running, default: 0] >= 2 }, "runs in flight at the kill")
        #expect(await first.stop(SIGKILL) != nil)

        // While the node is down, submits are still acknowledged and kept.
        for index in 12..<16 {
            acknowledged.append(try await store.submit(NewTask(agent: "slow", prompt: "task \(index)"), now: Date()).task.id)
        }
        let orphaned = try await store.countsByState()[.running, default: 0]
        #expect(orphaned >= 1, "the dead node still holds leases")

        // The restarted node (same data directory, so the same node id) reclaims its runs at once:
        // the 60 s leases would not have expired within this test's deadline.
        let second = try DaemonProcess(home: home, arguments: daemonArguments)
        #expect(FileManager.default.createFile(atPath: gate, contents: nil))
        let finished = try await eventually(timeout: .seconds(30)) {
            try await store.countsByState()[.done, default: 0] == acknowledged.count
        }
        #expect(finished, "all tasks done; daemon log:\n\(second.output)")
        #expect(await second.stop(SIGTERM) == 0, "graceful exit on SIGTERM")

        var retriedAfterDeath = 0
        for id in acknowledged {
            let task = try #require(try await store.task(id), "acknowledged task \(id) lost")
            #expect(task.state == .done)
            #expect(task.result == "finished \(id)")
            let transitions = try await store.events(task: id, after: 0, limit: 1000).filter { $0.type == "state" }
            let terminal = transitions.filter { TaskState(rawValue: $0.data["to"]?.stringValue ?? "")?.isTerminal == true }
            #expect(terminal.count == 1, "task \(id) settled \(terminal.count) times")
            #expect(transitions.last?.data["to"] == "done")
            let runs = try await store.runs(task: id)
            #expect(runs.filter { $0.outcome == "succeeded" }.count == 1)
            #expect(runs.map(\.attempt) == Array(1...runs.count))
            if let lost = runs.firstIndex(where: { $0.outcome == "lost" }) {
                #expect(runs[lost].error?.contains("restarted") == true)
                #expect(runs.count > lost + 1, "a lost run is retried as a new attempt")
                retriedAfterDeath += 1
            }
        }
        #expect(retriedAfterDeath == orphaned, "every run of the killed node was retried as a new attempt")
    }

    @Test("agents die with a SIGKILLed daemon; the restart kills what they started; lost runs charge no attempt")
    func agentsDieWithTheDaemon() async throws {
        let home = try makeHome()
        let store = try SQLiteTaskStore(path: home.appendingPathComponent("nightshift.db").path)
        // Attempts 1 and 2 hang in a shell with two children (one in the background); attempt 3
        // finishes. One attempt allowed: only runs the agent fails may use it up.
        try await store.saveAgent(Agent(
            name: "stuck", runner: .command,
            config: ["command": ["/bin/sh", "-c", """
                if [ "$NIGHTSHIFT_ATTEMPT" -le 2 ]; then sleep 300 & sleep 300; fi; echo "ran attempt $NIGHTSHIFT_ATTEMPT"
                """]],
            retry: RetryPolicy(maxAttempts: 1)))
        let ids = try await (0..<3).asyncMap { index in
            try await store.submit(NewTask(agent: "stuck", prompt: "task \(index)"), now: Date()).task.id
        }
        let arguments = ["--workers", "4", "--poll-interval", "0.05", "--lease-duration", "60", "--log-level", "warning"]
        var killedRuns: [String] = []
        for attempt in 1...2 {
            let daemon = try DaemonProcess(home: home, arguments: arguments)
            // The tasks are still `running` for the dead node until the new one reclaims them.
            let started = try await eventually(timeout: .seconds(20)) {
                for id in ids where try await store.task(id)?.attempt != attempt { return false }
                return try await store.countsByState()[.running, default: 0] == ids.count
            }
            try #require(started, "attempt \(attempt) started; log:\n\(daemon.output)")
            let runIDs = try await ids.asyncMap { id in try #require(try await store.runs(task: id).last { $0.attempt == attempt }).id }
            // Each run's shell and its two sleeps.
            #expect(try await eventually(timeout: .seconds(20)) { runIDs.allSatisfy { AgentProcesses.of(run: $0).count == 3 } })
            // A run killed before it wrote down its agent's process leaves nothing to find: kill
            // the daemon only once every record is in the store.
            #expect(try await eventually(timeout: .seconds(20)) {
                for id in ids where try await store.runs(task: id).last?.agentProcess == nil { return false }
                return true
            })
            #expect(await daemon.stop(SIGKILL) != nil)
            // The shells die with the daemon (their parent-death signal); what they started lives
            // on in their sessions until a node takes the runs over.
            #expect(
                try await eventually(timeout: .seconds(10)) { runIDs.allSatisfy { AgentProcesses.of(run: $0).count == 2 } },
                "\(runIDs.map { AgentProcesses.of(run: $0) })")
            killedRuns += runIDs
        }
        let last = try DaemonProcess(home: home, arguments: arguments)
        #expect(try await eventually(timeout: .seconds(30)) { try await store.countsByState()[.done, default: 0] == ids.count }, "\(last.output)")
        #expect(await last.stop(SIGTERM) == 0)
        #expect(killedRuns.count == 6)
        for run in killedRuns { #expect(AgentProcesses.of(run: run).isEmpty, "no process of the lost run \(run) remains") }
        for id in ids {
            let task = try #require(try await store.task(id))
            #expect(task.state == .done)
            #expect(task.result == "ran attempt 3", "ran to completion once, after the restarts")
            #expect(task.failures == 0)
            #expect(task.interruptions == 2)
            #expect(try await store.runs(task: id).map(\.outcome) == ["lost", "lost", "succeeded"])
        }
    }

    @Test("SIGTERM shuts down gracefully: a running task is released and finished by the next start")
    func gracefulRelease() async throws {
        let home = try makeHome()
        let store = try SQLiteTaskStore(path: home.appendingPathComponent("nightshift.db").path)
        try await store.saveAgent(Agent(name: "long", runner: .command, config: ["command": ["/bin/sh", "-c", "sleep 30"]]))
        let id = try await store.submit(NewTask(agent: "long", prompt: "x"), now: Date()).task.id
        let daemon = try DaemonProcess(home: home, arguments: ["--poll-interval", "0.05", "--shutdown-grace", "0.2"])
        #expect(try await eventually(timeout: .seconds(20)) { try await store.task(id)?.state == .running })
        #expect(await daemon.stop(SIGTERM, timeout: .seconds(10)) == 0)
        let task = try #require(try await store.task(id))
        #expect(task.state == .queued, "released, not left running")
        #expect(try await store.runs(task: id).map(\.outcome) == ["released"])
    }
}

/// The live processes started for a run, found by the `NIGHTSHIFT_RUN_ID` in their environment
/// (inherited by everything the agent starts).
enum AgentProcesses {
    static func of(run: String) -> [Int32] {
        let marker = Array("NIGHTSHIFT_RUN_ID=\(run)".utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            // A zombie's environment reads empty: only live processes count.
            return read("/proc/\(pid)/environ").split(separator: 0).contains { Array($0) == marker }
        }
    }
}

/// The bytes of a file, read to its end (proc files report a size of 0).
func read(_ path: String) -> [UInt8] {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return [] }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = Glibc.read(descriptor, &buffer, buffer.count)
        if count <= 0 { return bytes }
        bytes += buffer[..<count]
    }
}

extension Sequence {
    /// The results of `transform` on each element, in order, one at a time.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
