import Foundation
import Logging
import Nightshift

/// A short command the daemon runs for itself (an agent CLI's `--version`, a detector's scan or
/// process command), run as an agent's command is (``CommandExecution``) rather than through
/// swift-subprocess's collected output: cancelling a run whose output is collected as a string
/// traps in swift-subprocess ("FileDescriptor … was not closed"), and a timeout cancels.
enum HelperCommand {
    /// Runs `arguments` as an agent's command runs (``CommandExecution``: its own session, the
    /// daemon's environment and directory, its group killed once it exits, when `timeout` cuts it
    /// off or when the calling task is cancelled, dying with the daemon), `input` on stdin; its
    /// output's lines, or an error with its exit status and the end of its standard error.
    /// Without `timeout`, the caller bounds it (by cancelling).
    static func run(_ arguments: [String], input: String?, timeout: Duration?, what: String) async throws -> [OutputLine] {
        let command = arguments.joined(separator: " ")
        let environment = ProcessInfo.processInfo.environment
        let directory = FileManager.default.currentDirectoryPath
        guard let program = arguments.first,
            let path = CommandInvocation.resolveExecutable(program, searchPath: environment["PATH"] ?? "/usr/bin:/bin", relativeTo: directory)
        else {
            throw NightshiftError(.invalidInput, "\(what) \(command): no such program", field: "command")
        }
        let execution = CommandExecution(
            invocation: CommandInvocation(executablePath: path, arguments: arguments, environment: environment, workingDirectory: directory),
            prompt: input ?? "", interpreter: LineCollector(), killGrace: .milliseconds(500), limits: CommandLimits(),
            context: RunContext(logger: Logger(label: "nightshift.detector"), emit: { _, _ in }))
        let report = if let timeout {
            try await withTimeout(timeout, orThrow: NightshiftError(.invalidInput, "\(what) \(command) took longer than \(timeout)")) {
                try await execution.run()
            }
        } else {
            try await execution.run()
        }
        guard report.status == .exited(0) else {
            let stderr = report.stderrTail.trimmingCharacters(in: .whitespacesAndNewlines)
            throw NightshiftError(.invalidInput, "\(what) \(command) ended \(report.status)\(stderr.isEmpty ? "" : ": \(stderr)")")
        }
        guard !report.stdout.overflowed else {
            throw NightshiftError(.invalidInput, "\(what) \(command) printed more than \(LineCollector.maxBytes >> 20) MiB")
        }
        return report.stdout.lines
    }
}

/// Runs the command of a workflow's command step (``WorkflowSpec/Step/Action/command(_:)``).
public enum CommandStep {
    /// Runs `arguments` as the daemon's other short commands are (``HelperCommand``): in the
    /// daemon's directory and environment, its process group killed when the step's timeout
    /// cancels it. Answers its standard output without the last newline; throws, with the exit
    /// status and the end of its standard error, when it fails.
    public static func run(_ arguments: [String]) async throws -> String {
        try await HelperCommand.run(arguments, input: nil, timeout: nil, what: "the step's command").map(\.text).joined(separator: "\n")
    }
}

/// Keeps a command's output lines, up to ``maxBytes`` of them.
struct LineCollector: LineInterpreter {
    /// The most output kept: 16 MiB.
    static let maxBytes = 16 << 20
    /// The lines, in order.
    var lines: [OutputLine] = []
    /// Whether more than ``maxBytes`` came (the rest is dropped).
    var overflowed = false
    private var bytes = 0

    mutating func handle(_ line: OutputLine, now: Date) -> [(type: String, data: JSONValue)] {
        bytes += line.text.utf8.count + 1
        if bytes > Self.maxBytes { overflowed = true } else { lines.append(line) }
        return []
    }
}
