import Foundation
import Nightshift

/// What an agent asked for on stdout to end its run by waiting.
enum WaitRequest: Sendable, Hashable {
    /// `wait_for_input`: a question for a person, with the answers offered, if any.
    case input(question: String, options: [String]?)
    /// `request_approval`: something for a person to approve or reject.
    case approval(question: String?, tool: String?, input: JSONValue?)
    /// `wait_for_children`: the task's subtasks to end.
    case children(message: String?)
    /// `wake`: a time and the prompt to continue with.
    case wake(at: Date, prompt: String?)
}

/// Turns an agent's stdout lines into events and remembers what decides the outcome:
/// the last `result`, the last wait request, and the plain output (capped).
struct StdoutInterpreter: LineInterpreter {
    /// The plain stdout lines, joined and capped.
    private(set) var output: HeadBuffer
    /// The text of the last `result` line.
    private(set) var result: String?
    /// The last `wait_for_input` or `wake` line.
    private(set) var waitRequest: WaitRequest?

    /// An interpreter keeping at most `outputLimit` bytes of plain output.
    init(outputLimit: Int) {
        output = HeadBuffer(capacity: outputLimit)
    }

    /// Handles one line read at `now`; returns the events (type, data) to emit for it, in order.
    mutating func handle(_ line: OutputLine, now: Date) -> [(type: String, data: JSONValue)] {
        // A cut line is never a protocol line: its JSON would be incomplete anyway.
        let message = line.truncated ? nil : CommandLineProtocol.parse(line.text)
        switch message {
        case nil:
            output.append(line: line.text)
            return [("stdout", Self.lineData(line))]
        case .log(let data):
            return [("log", data)]
        case .checkpoint(let data):
            return [("checkpoint", data)]
        case .result(let text):
            result = text
            return [("result", ["text": .string(text)])]
        case .waitForInput(let question, let options):
            waitRequest = .input(question: question, options: options)
            return []
        case .requestApproval(let question, let tool, let input):
            waitRequest = .approval(question: question, tool: tool, input: input)
            return []
        case .wake(let time, let prompt):
            waitRequest = .wake(at: time.date(from: now), prompt: prompt)
            return []
        case .spawn(let data):
            // The engine submits the subtask with the run's next write, fenced by its lease.
            return [("spawn", data)]
        case .waitForChildren(let message):
            waitRequest = .children(message: message)
            return []
        case .emit(let event, let data):
            // The engine appends it to the hook stream with the run's next write, fenced by its lease.
            return [("emit", ["event": .string(event), "data": data])]
        case .artifact(let path, let name):
            // The engine copies the file into the data directory once the run has ended.
            var data: [String: JSONValue] = ["path": .string(path)]
            if let name { data["name"] = .string(name) }
            return [(RunArtifacts.declaredEvent, .object(data))]
        case .invalid(let reason):
            return [("log", Self.warning(reason, line: line.text))]
        }
    }

    /// The data of a `stdout` or `stderr` event.
    static func lineData(_ line: OutputLine) -> JSONValue {
        line.truncated ? ["line": .string(line.text), "truncated": true] : ["line": .string(line.text)]
    }

    /// The data of the warning logged for an invalid protocol line (the line shortened to 200 characters).
    static func warning(_ reason: String, line: String) -> JSONValue {
        let shown = line.count > 200 ? String(line.prefix(200)) + "…" : line
        return [
            "level": "warning",
            "message": .string("invalid protocol line ignored: \(reason)"),
            "line": .string(shown),
        ]
    }
}
