import Foundation
import Logging
import Nightshift
import NightshiftTestSupport
import Synchronization
import Testing

@testable import NightshiftRunners

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Collects what a runner reports through its context.
final class EventRecorder: Sendable {
    /// One emitted event.
    struct Event: Sendable, Hashable {
        var type: String
        var data: JSONValue
    }

    private let events = Mutex<[Event]>([])
    private let pids = Mutex<[Int32?]>([])
    private let quotaReports = Mutex<[JSONValue]>([])

    /// A context whose events and pids land here.
    var context: RunContext { context(live: nil) }

    /// A context whose events and pids land here, handing the run `live`'s inputs as the engine would.
    func context(live: LiveFeed?) -> RunContext {
        RunContext(
            logger: Logger(label: "test"),
            emit: { type, data in self.events.withLock { $0.append(Event(type: type, data: data)) } },
            process: { pid in self.pids.withLock { $0.append(pid) } },
            quota: { status in self.quotaReports.withLock { $0.append(status) } },
            liveInputs: live?.inputs,
            endLiveInputs: { live?.end() }
        )
    }

    /// The quota statuses reported, in order.
    var quotas: [JSONValue] { quotaReports.withLock { $0 } }

    /// Everything emitted, in order.
    var all: [Event] { events.withLock { $0 } }

    /// The events of `type`, in order.
    func events(_ type: String) -> [Event] { all.filter { $0.type == type } }

    /// The `line` members of the events of `type` (`stdout`, `stderr`), in order.
    func lines(_ type: String) -> [String] { events(type).compactMap { $0.data["line"]?.stringValue } }

    /// The pids reported, in order (`nil` when the process ended).
    var reportedPIDs: [Int32?] { pids.withLock { $0 } }
}

/// Live inputs for a run, handed over as the engine does: in order, until the runner ends them.
final class LiveFeed: Sendable {
    /// The stream the run reads.
    let inputs: AsyncStream<TaskInput>
    private let continuation: AsyncStream<TaskInput>.Continuation
    /// Handed over when the runner ends live input, before the stream ends: a delivery under way then.
    private let underWay: [TaskInput]
    private let ends = Mutex(0)

    /// A feed that hands over `underWay` when the runner ends it.
    init(underWay: [TaskInput] = []) {
        (inputs, continuation) = AsyncStream.makeStream(of: TaskInput.self)
        self.underWay = underWay
    }

    /// Hands `input` to the run.
    func send(_ input: TaskInput) {
        continuation.yield(input)
    }

    /// What ``RunContext/endLiveInputs()`` does: the delivery under way, then the end of the stream.
    func end() {
        let first = ends.withLock { count in
            count += 1
            return count == 1
        }
        guard first else { return }
        for input in underWay { continuation.yield(input) }
        continuation.finish()
    }

    /// How often the runner ended live input.
    var endCount: Int { ends.withLock { $0 } }
}

/// A fresh directory under the temporary directory, removed by `cleanup`.
struct TempDir: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("nightshift-runner-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// The path of `name` inside it.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// The contents of file `name` inside it, if it exists.
    func read(_ name: String) -> String? { try? String(contentsOfFile: path(name), encoding: .utf8) }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Builds run requests for a `command` agent.
enum Fixture {
    /// A request for an agent of `runner` with `config`, a task with `prompt`, working in `directory`;
    /// `attempt` > 1 with `resume` makes it a retry resuming that session.
    static func request(
        config: JSONValue, prompt: String = "hello", directory: URL, runner: RunnerKind = .command,
        attempt: Int = 1, resume: ResumeContext? = nil, budgetUSD: Double? = nil
    ) -> RunRequest {
        let now = Date()
        let id = TaskID.generate()
        let task = AgentTask(
            id: id, workspaceID: "default", agent: "tester", prompt: prompt, payload: [:], priority: 0,
            lane: nil, labels: [], origin: nil, idempotencyKey: nil, dedupKey: nil, budgetUSD: budgetUSD,
            timeout: nil, retry: .default, availableAt: now, state: .running, attempt: attempt, failures: attempt - 1,
            createdAt: now, updatedAt: now, finishedAt: nil, result: nil, error: nil, costUSD: 0
        )
        let run = Run(
            id: UUIDv7.generate(), taskID: id, attempt: attempt, workerID: "worker-1", leaseToken: "token",
            leaseExpiresAt: now.addingTimeInterval(60), heartbeatAt: now, startedAt: now
        )
        let agent = Agent(name: "tester", runner: runner, config: config)
        return RunRequest(
            task: task, run: run, agent: agent, workingDirectory: directory, resume: resume, remainingBudgetUSD: budgetUSD)
    }

    /// A request running `script` with `/bin/sh -c`, plus extra config members.
    static func shell(
        _ script: String, prompt: String = "hello", directory: URL, extra: [String: JSONValue] = [:]
    ) -> RunRequest {
        var config: [String: JSONValue] = ["command": ["/bin/sh", "-c", .string(script)]]
        config.merge(extra) { _, new in new }
        return request(config: .object(config), prompt: prompt, directory: directory)
    }
}

/// Whether no process `pid` exists any more (`kill(pid, 0)` fails with `ESRCH`; a zombie still exists).
func processIsGone(_ pid: Int32) -> Bool {
    kill(pid, 0) == -1 && errno == ESRCH
}

/// The pid written in file `name` of `dir`, once it is there.
func pid(in dir: TempDir, _ name: String) async -> Int32? {
    var found: Int32?
    _ = await eventually(timeout: .seconds(10)) {
        found = dir.read(name).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return found != nil
    }
    return found
}
