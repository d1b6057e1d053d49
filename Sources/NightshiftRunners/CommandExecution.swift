import Foundation
import Nightshift
import Subprocess

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns an agent's stdout lines into task events, remembering what decides the run's outcome.
protocol LineInterpreter: Sendable {
    /// Handles one line read at `now`; returns the events (type, data) to emit for it, in order.
    mutating func handle(_ line: OutputLine, now: Date) -> [(type: String, data: JSONValue)]
}

/// How an agent process ended and what its output said.
struct ProcessReport<Interpreter: LineInterpreter>: Sendable {
    /// Its termination.
    var status: ExitStatus
    /// Why the run broke a limit of its policy (memory, processes, output), if it did: its error.
    var limitExceeded: String? = nil
    /// What its stdout said.
    var stdout: Interpreter
    /// The end of its stderr.
    var stderrTail: String
}

/// How a process terminated.
enum ExitStatus: Sendable, Hashable {
    /// It exited with this code.
    case exited(Int32)
    /// A signal killed it.
    case signaled(Int32)
}

/// Starts one agent process and supervises it to the end: prompt on stdin, both output pipes read
/// concurrently, the whole process group signalled on cancellation and killed once the leader exits.
/// The agent dies with the daemon (see ``ParentDeath``).
struct CommandExecution<Interpreter: LineInterpreter>: Sendable {
    /// What to start.
    var invocation: CommandInvocation
    /// Written to stdin, which is then closed (after ``liveInputs`` ends, when there are some).
    var prompt: String
    /// Reads stdout.
    var interpreter: Interpreter
    /// Time between SIGTERM and SIGKILL on cancellation.
    var killGrace: Duration
    /// Size and time limits.
    var limits: CommandLimits
    /// Where events and the pid go.
    var context: RunContext
    /// Inputs to write to stdin while the agent runs, if it takes them live.
    var liveInputs: AsyncStream<TaskInput>? = nil
    /// How a live input is written: one line, without its newline (default: an `input` line).
    var liveLine: @Sendable (TaskInput) -> String = { CommandLineProtocol.inputLine($0) }
    /// The sandbox and limits it runs under, if any (``RunIsolation``).
    var isolation: RunIsolation? = nil
    /// Names its cgroup, when its limits need one (unique among live processes).
    var cgroupName = "nightshift-\(UUID().uuidString)"

    private typealias AgentProcess = Execution<CustomWriteInput, SequenceOutput, SequenceOutput>

    /// Runs the process to its end. Throws only if it could not be started (``SandboxUnavailable``
    /// when its policy asks for a sandbox this machine cannot give).
    ///
    /// On cancellation of the calling task, swift-subprocess runs the teardown set here:
    /// SIGTERM to the process group, then SIGKILL to the group after `killGrace` if the leader
    /// is still alive. Whatever ends the leader, ``supervise(_:)`` then SIGKILLs the group.
    func run() async throws -> ProcessReport<Interpreter> {
        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: killGrace)]
        var environment: [Environment.Key: String] = [:]
        for (name, value) in invocation.environment {
            environment[Environment.Key(stringLiteral: name)] = value
        }
        let cgroup = isolation.flatMap { RunCgroup.make(name: cgroupName, policy: $0.policy) }
        defer { cgroup?.remove() }
        let (isolatedPath, isolatedArgv) = try isolation?.wrap(invocation.executablePath, invocation.arguments, cgroup: cgroup)
            ?? (invocation.executablePath, invocation.arguments)
        let (executable, argv) = ParentDeath.wrap(isolatedPath, isolatedArgv)
        let meter = isolation?.policy.maxOutputBytes.map(OutputMeter.init(limit:))
        // Forked from the spawning thread (see `ParentDeath`); supervised on the global executor.
        // A start failure is typed, so the engine can tell the node's fault (no descriptors left)
        // from the agent's.
        let result = try await Self.typingStartFailure {
            try await withTaskExecutorPreference(SpawnExecutor.shared) {
                try await Subprocess.run(
                    .path(.init(executable)),
                    arguments: Arguments(executablePathOverride: argv[0], remainingValues: Array(argv.dropFirst())),
                    environment: .custom(environment),
                    workingDirectory: .init(invocation.workingDirectory),
                    platformOptions: options,
                    input: .inputWriter,
                    output: .sequence,
                    error: .sequence
                ) { process in
                    await withTaskExecutorPreference(globalConcurrentExecutor) { await supervise(process, meter: meter) }
                }
            }
        }
        let status: ExitStatus = switch result.terminationStatus {
        case .exited(let code): .exited(code)
        case .signaled(let signal): .signaled(signal)
        }
        var report = ProcessReport(status: status, stdout: result.closureResult.0, stderrTail: result.closureResult.1.text)
        if let policy = isolation?.policy {
            report.limitExceeded = Self.limitExceeded(policy, status: status, stderr: report.stderrTail, cgroup: cgroup, meter: meter)
        }
        return report
    }

    /// The error of a process that broke a limit of `policy`: output past its cap, memory past its
    /// limit (the kernel's kill in the cgroup, or an allocation refused under `prlimit`), or a fork
    /// refused at its process cap.
    private static func limitExceeded(
        _ policy: ExecutionPolicy.Resolved, status: ExitStatus, stderr: String, cgroup: RunCgroup?, meter: OutputMeter?
    ) -> String? {
        if let meter, meter.exceeded {
            return "output limit exceeded: more than \(meter.limit) bytes on stdout and stderr (max_output_bytes); the run was stopped"
        }
        guard status != .exited(0) else { return nil }
        let events = cgroup?.events() ?? (outOfMemory: false, forkRefused: false)
        if let bytes = policy.memoryBytes {
            let refused = ["MemoryError", "Cannot allocate memory", "out of memory", "bad_alloc", "heap out of memory"]
            if events.outOfMemory || (cgroup?.holdsMemory != true && refused.contains { stderr.contains($0) }) {
                return "memory limit exceeded: the run's processes needed more than \(ByteCount.text(bytes)) (memory) and were "
                    + (events.outOfMemory ? "killed by the kernel" : "refused memory")
            }
        }
        if let count = policy.maxProcesses {
            let refused = ["Resource temporarily unavailable", "Cannot fork", "BlockingIOError"]
            if events.forkRefused || (cgroup?.holdsProcesses != true && refused.contains { stderr.contains($0) }) {
                return "process limit reached: the run may have at most \(count) processes (max_processes) and a fork was refused"
            }
        }
        return nil
    }

    /// Runs `body`, turning swift-subprocess's start failure into ``AgentStartFailure`` with its errno.
    private static func typingStartFailure<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as SubprocessError {
            throw AgentStartFailure("\(error)", errno: error.underlyingError?.rawValue)
        }
    }

    private enum Part: Sendable {
        case stdinClosed
        case stdout(Interpreter)
        case stderr(TailBuffer)
        case leaderExited
        case watchStopped
    }

    /// Feeds stdin, reads both pipes and watches the leader; returns once both pipes are done and
    /// the leader has exited, having SIGKILLed its group (before the leader is reaped, so the
    /// group id cannot have been reused).
    private func supervise(_ process: AgentProcess, meter: OutputMeter?) async -> (Interpreter, TailBuffer) {
        let pid = process.processIdentifier.value
        context.processStarted(pid)
        var stdout = interpreter
        var stderr = TailBuffer(capacity: limits.stderrTailBytes)
        let (prompt, limits, context, initial, liveInputs, liveLine) = (prompt, limits, context, interpreter, liveInputs, liveLine)
        await withTaskGroup(of: Part.self) { group in
            group.addTask {
                let writer = process.standardInputWriter
                if !prompt.isEmpty { _ = try? await writer.write(Array(prompt.utf8)) }
                // Live input: stdin stays open until the stream ends (with the run, or when the
                // runner ends live input) or this task is cancelled once the agent exits; a write
                // the agent no longer reads ends it too.
                if let liveInputs {
                    for await input in liveInputs {
                        guard (try? await writer.write(Array((liveLine(input) + "\n").utf8))) != nil else { break }
                    }
                }
                try? await writer.finish()
                return .stdinClosed
            }
            group.addTask {
                .stdout(await StreamReader.readStdout(process.standardOutput, into: initial, leader: pid, limits: limits, context: context, meter: meter))
            }
            group.addTask {
                .stderr(await StreamReader.readStderr(process.standardError, leader: pid, limits: limits, context: context, meter: meter))
            }
            group.addTask { await Self.watchLeader(pid) }
            var readersLeft = 2
            while let part = await group.next() {
                switch part {
                case .stdout(let value):
                    stdout = value
                    readersLeft -= 1
                case .stderr(let value):
                    stderr = value
                    readersLeft -= 1
                case .leaderExited:
                    // Grandchildren must not outlive the agent, nor keep the pipes open. Cancelling
                    // tells the readers to drain what is buffered and stop.
                    ProcessGroup.signalGroup(pid, SIGKILL)
                    group.cancelAll()
                case .stdinClosed, .watchStopped:
                    break
                }
                if readersLeft == 0 { group.cancelAll() }
            }
        }
        await ProcessGroup.waitForExit(pid)
        ProcessGroup.signalGroup(pid, SIGKILL)
        context.processStarted(nil)
        return (stdout, stderr)
    }

    /// Polls (up to every 250 ms) until the leader exits or the task is cancelled.
    private static func watchLeader(_ pid: pid_t) async -> Part {
        var interval = Duration.milliseconds(5)
        while !Task.isCancelled {
            if ProcessGroup.hasExited(pid) { return .leaderExited }
            try? await Task.sleep(for: interval)
            interval = min(interval * 2, .milliseconds(250))
        }
        return .watchStopped
    }
}
