import Foundation
import Nightshift

/// Maps how an agent process ended to the run's outcome.
enum CommandOutcome {
    /// The outcome of a process that ended with `report` (cancellation is decided by the caller).
    ///
    /// - exit 0 with a wait request: waiting (for input, or until the wake time);
    /// - exit 0: succeeded, with the last `result` text, else the plain stdout (capped);
    /// - non-zero exit or a signal: a retryable failure quoting the end of stderr.
    static func outcome(of report: ProcessReport<StdoutInterpreter>) -> RunOutcome {
        switch report.status {
        case .exited(0):
            let usage = RunUsage(exitCode: 0)
            switch report.stdout.waitRequest {
            case .input(let question, let options)?:
                var outcome = RunOutcome.waitingForInput(question, usage: usage)
                if let options { outcome.waitingFor = WaitingFor(kind: .input, question: question, options: options) }
                return outcome
            case .approval(let question, let tool, let input)?:
                return .approvalRequested(question, tool: tool, input: input, usage: usage)
            case .children(let message)?:
                return .waitingForChildren(message, usage: usage)
            case .wake(let date, let prompt)?:
                return .wake(at: date, prompt: prompt, usage: usage)
            case nil:
                return .succeeded(report.stdout.result ?? report.stdout.output.text, usage: usage)
            }
        case .exited(let code):
            return .failed(message("exit status \(code)", report.stderrTail), retryable: true, usage: RunUsage(exitCode: Int(code)))
        case .signaled(let signal):
            return .failed(message("killed by signal \(signal)", report.stderrTail), retryable: true)
        }
    }

    private static func message(_ reason: String, _ stderrTail: String) -> String {
        stderrTail.isEmpty ? reason : "\(reason): \(stderrTail)"
    }
}
