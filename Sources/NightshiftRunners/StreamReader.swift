import Foundation
import Nightshift
import Subprocess
import Synchronization

/// Reads a child's output pipe as lines, split from raw bytes so no line length can make it throw.
enum StreamReader {
    /// Calls `body` with each line of `sequence`; a last line without a newline is delivered too.
    ///
    /// Reading ends at end of file or on a read error. Once the task is cancelled (the run was
    /// cancelled, or the supervisor saw the leader exit) it goes on while `leader` is alive, so an
    /// agent that writes while it handles SIGTERM does not block on a full pipe and its last lines
    /// (a final checkpoint, say) are recorded; after the leader exited it reads what is still
    /// buffered, for at most `drainWindow` (a process that left the group may write forever).
    static func forEachLine(
        of sequence: SubprocessOutputSequence,
        limit: Int,
        leader: pid_t,
        drainWindow: Duration,
        meter: OutputMeter? = nil,
        _ body: (OutputLine) -> Void
    ) async {
        var splitter = LineSplitter(limit: limit)
        var iterator = sequence.makeAsyncIterator()
        var drainDeadline: ContinuousClock.Instant?
        do {
            while true {
                let buffer = try await iterator.next()
                if let buffer {
                    // Past the policy's output cap, the group is killed and reading ends.
                    if let meter, meter.add(buffer.count) {
                        ProcessGroup.signalGroup(leader, SIGKILL)
                        break
                    }
                    let lines = buffer.withUnsafeBytes { splitter.append($0) }
                    lines.forEach(body)
                    // A read that finds data does not suspend: without this, a child that writes
                    // without pause would hold a cooperative thread and starve other tasks.
                    await Task.yield()
                }
                guard Task.isCancelled else {
                    if buffer == nil { break }  // end of file
                    continue
                }
                // Cancelled: `nil` now only means that nothing is buffered at the moment.
                if drainDeadline == nil, ProcessGroup.hasExited(leader) {
                    drainDeadline = .now + drainWindow
                }
                if let drainDeadline {
                    if buffer == nil || ContinuousClock.now >= drainDeadline { break }
                } else if buffer == nil {
                    await ProcessGroup.sleepIgnoringCancellation(.milliseconds(20))
                }
            }
        } catch {
            // A read error ends the stream like end of file; the exit status tells how the run went.
        }
        if let last = splitter.finish() { body(last) }
    }

    /// Reads stdout: emits its events through `context` and returns what it learned.
    static func readStdout<Interpreter: LineInterpreter>(
        _ sequence: SubprocessOutputSequence,
        into interpreter: Interpreter,
        leader: pid_t,
        limits: CommandLimits,
        context: RunContext,
        meter: OutputMeter? = nil
    ) async -> Interpreter {
        var interpreter = interpreter
        await forEachLine(of: sequence, limit: limits.lineBytes, leader: leader, drainWindow: limits.drainWindow, meter: meter) { line in
            for event in interpreter.handle(line, now: Date()) {
                context.emit(event.type, event.data)
            }
        }
        return interpreter
    }

    /// Reads stderr: emits a `stderr` event per line and returns its tail.
    static func readStderr(
        _ sequence: SubprocessOutputSequence,
        leader: pid_t,
        limits: CommandLimits,
        context: RunContext,
        meter: OutputMeter? = nil
    ) async -> TailBuffer {
        var tail = TailBuffer(capacity: limits.stderrTailBytes)
        await forEachLine(of: sequence, limit: limits.lineBytes, leader: leader, drainWindow: limits.drainWindow, meter: meter) { line in
            tail.append(line: line.text)
            context.emit("stderr", StdoutInterpreter.lineData(line))
        }
        return tail
    }
}

/// Counts the bytes a process writes on stdout and stderr together, against its policy's cap.
final class OutputMeter: Sendable {
    /// The most bytes allowed.
    let limit: Int64
    private let written = Atomic<Int64>(0)
    private let over = Atomic<Bool>(false)

    /// A meter for `limit` bytes.
    init(limit: Int64) { self.limit = limit }

    /// Counts `count` more bytes; answers whether the cap is now passed.
    func add(_ count: Int) -> Bool {
        let total = written.wrappingAdd(Int64(count), ordering: .relaxed).newValue
        if total > limit { over.store(true, ordering: .relaxed) }
        return total > limit
    }

    /// Whether the cap was passed.
    var exceeded: Bool { over.load(ordering: .relaxed) }
}

/// Size and time limits of a command run.
struct CommandLimits: Sendable, Hashable {
    /// The longest output line kept (longer lines are cut and marked `truncated`): 1 MiB.
    var lineBytes = 1 << 20
    /// The most stdout kept as the result when no `result` line came: 64 KiB.
    var outputBytes = 64 << 10
    /// How much of the end of stderr a failure message quotes: 2 KiB.
    var stderrTailBytes = 2 << 10
    /// How long to keep reading after the leader exited (and its group was killed), for output
    /// still buffered; bounds the wait on a process that left the group and keeps writing.
    var drainWindow: Duration = .seconds(1)
}
