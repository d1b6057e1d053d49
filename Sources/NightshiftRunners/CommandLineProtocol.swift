import Foundation
import Nightshift

/// A recognised line of the command runner's JSON line protocol (see `docs/line-protocol.md`).
public enum CommandProtocolMessage: Sendable, Hashable {
    /// `{"type":"log","message":…,"level":…}`: the event data (the object minus `type`, `level` defaulted).
    case log(JSONValue)
    /// `{"type":"checkpoint",…}`: the event data (the object minus `type`).
    case checkpoint(JSONValue)
    /// `{"type":"result","text":…}`: the task's result; the last one wins.
    case result(String)
    /// `{"type":"wait_for_input","question":…,"options":[…]}`: park the task until someone answers.
    case waitForInput(question: String, options: [String]?)
    /// `{"type":"request_approval","question":…,"tool":…,"input":…}`: park the task until a person
    /// approves or rejects (`question` or `tool` is required).
    case requestApproval(question: String?, tool: String?, input: JSONValue?)
    /// `{"type":"wake","after":…|"at":…,"prompt":…}`: park the task until a time.
    case wake(WakeTime, prompt: String?)
    /// `{"type":"spawn","prompt":…,"agent":…,"labels":[…],"priority":…,"budget_usd":…}`: create a
    /// subtask of this task (agent, origin and budget share default to the parent's); the data is
    /// the line's members (see ``NewTask/subtask(from:)``).
    case spawn(JSONValue)
    /// `{"type":"wait_for_children"}`: park the task until its subtasks have all ended.
    case waitForChildren(message: String?)
    /// `{"type":"emit","event":…,"data":{…}}`: append an application event of type `event` to the
    /// hook stream (see ``NewHookEvent``).
    case emit(event: String, data: JSONValue)
    /// `{"type":"artifact","path":…,"name":…}`: keep a file of the workspace (`path`, relative to
    /// the working directory) as an artifact of the task, under `name` (default: the file's name).
    case artifact(path: String, name: String?)
    /// A line that claims a protocol type but is malformed; the text says what is wrong.
    case invalid(String)
}

/// When a `wake` line asks to be woken.
public enum WakeTime: Sendable, Hashable {
    /// This many seconds after the line was read.
    case after(Double)
    /// At this instant.
    case at(Date)

    /// The instant to wake at, counting `after` from `now`.
    public func date(from now: Date) -> Date {
        switch self {
        case .after(let seconds): now.addingTimeInterval(seconds)
        case .at(let date): date
        }
    }
}

/// Parses stdout lines of command agents into protocol messages. Pure: no I/O, no clock.
public enum CommandLineProtocol {
    /// The `type` values the protocol understands; objects with any other `type` are plain output.
    public static let messageTypes: Set<String> = [
        "log", "checkpoint", "result", "wait_for_input", "wake", "request_approval", "spawn", "wait_for_children", "emit",
        "artifact",
    ]

    /// The level a `log` line gets when it names none.
    public static let defaultLogLevel = "info"

    /// The message `line` carries, or `nil` when it is plain output.
    ///
    /// Only a JSON object whose `type` member is a string in ``messageTypes`` is a protocol line.
    public static func parse(_ line: String) -> CommandProtocolMessage? {
        guard let members = protocolObject(line), case .string(let type)? = members["type"],
              messageTypes.contains(type)
        else { return nil }
        var data = members
        data.removeValue(forKey: "type")
        switch type {
        case "log": return parseLog(data)
        case "checkpoint": return .checkpoint(.object(data))
        case "result": return parseResult(data)
        case "wait_for_input": return parseWaitForInput(data)
        case "request_approval": return parseRequestApproval(data)
        case "spawn": return parseSpawn(data)
        case "emit": return parseEmit(data)
        case "artifact": return parseArtifact(data)
        case "wait_for_children":
            if data["message"] != nil, data["message"]?.stringValue == nil { return .invalid("wait_for_children line with a \"message\" that is not a string") }
            return .waitForChildren(message: data["message"]?.stringValue)
        default: return parseWake(data)
        }
    }

    /// The members of `line` if it is a JSON object (leading and trailing whitespace allowed).
    static func protocolObject(_ line: String) -> [String: JSONValue]? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        guard trimmed.hasPrefix("{"), trimmed.hasSuffix("}") else { return nil }
        return (try? JSONValue(jsonText: trimmed))?.objectValue
    }

    private static func parseLog(_ data: [String: JSONValue]) -> CommandProtocolMessage {
        guard case .string? = data["message"] else {
            return .invalid("log line without a string \"message\"")
        }
        var event = data
        switch data["level"] {
        case nil, .null?: event["level"] = .string(defaultLogLevel)
        case .string?: break
        default: return .invalid("log line with a \"level\" that is not a string")
        }
        return .log(.object(event))
    }

    private static func parseResult(_ data: [String: JSONValue]) -> CommandProtocolMessage {
        guard case .string(let text)? = data["text"] else {
            return .invalid("result line without a string \"text\"")
        }
        return .result(text)
    }

    private static func parseWaitForInput(_ data: [String: JSONValue]) -> CommandProtocolMessage {
        guard case .string(let question)? = data["question"] else {
            return .invalid("wait_for_input line without a string \"question\"")
        }
        var options: [String]?
        switch data["options"] {
        case nil, .null?: options = nil
        case .array(let items)?:
            options = items.compactMap(\.stringValue)
            guard options?.count == items.count else { return .invalid("wait_for_input line with \"options\" that are not all strings") }
        default: return .invalid("wait_for_input line with \"options\" that is not an array of strings")
        }
        return .waitForInput(question: question, options: options)
    }

    private static func parseSpawn(_ data: [String: JSONValue]) -> CommandProtocolMessage {
        switch NewTask.subtask(from: .object(data)) {
        case .success: return .spawn(.object(data))
        case .failure(let problem): return .invalid("spawn line \(problem)")
        }
    }

    private static func parseArtifact(_ data: [String: JSONValue]) -> CommandProtocolMessage {
        guard case .string(let path)? = data["path"], !path.isEmpty else { return .invalid("artifact line without a string \"path\"") }
        if let name = data["name"], name.stringValue == nil { return .invalid("artifact line with a \"name\" that is not a string") }
        return .artifact(path: path, name: data["name"]?.stringValue)
    }

    private static func parseEmit(_ data: [String: JSONValue]) -> CommandProtocolMessage {
        guard case .string(let event)? = data["event"] else { return .invalid("emit line without a string \"event\"") }
        let details = data["data"] ?? .object([:])
        do {
            try NewHookEvent.validate(type: event, data: details)
        } catch {
            return .invalid("emit line: \(error.field.map { "\($0): " } ?? "")\(error.message)")
        }
        return .emit(event: event, data: details)
    }

    private static func parseRequestApproval(_ data: [String: JSONValue]) -> CommandProtocolMessage {
        let question = data["question"]?.stringValue
        let tool = data["tool"]?.stringValue
        if data["question"] != nil, question == nil { return .invalid("request_approval line with a \"question\" that is not a string") }
        if data["tool"] != nil, tool == nil { return .invalid("request_approval line with a \"tool\" that is not a string") }
        guard question != nil || tool != nil else { return .invalid("request_approval line without a \"question\" or a \"tool\"") }
        return .requestApproval(question: question, tool: tool, input: data["input"])
    }

    private static func parseWake(_ data: [String: JSONValue]) -> CommandProtocolMessage {
        switch WakeTime.request(data, delay: .lineAfter) {
        case .success(let request): .wake(request.time, prompt: request.prompt)
        case .failure(let problem): .invalid("wake line \(problem)")
        }
    }

    /// An inbox input as the line written to a command agent's stdin:
    /// `{"type":"input","id":…,"seq":…,"kind":…,"sender":…,"text":…,"decisions":…}`.
    public static func inputLine(_ input: TaskInput) -> String {
        var object: [String: JSONValue] = [
            "type": "input", "id": .string(input.id), "seq": .int(Int64(input.seq)), "kind": .string(input.kind.rawValue),
            "sender": .string(input.sender),
        ]
        if let text = input.text { object["text"] = .string(text) }
        if let decisions = input.decisions { object["decisions"] = decisions }
        return JSONValue.object(object).jsonText
    }

    /// What a command agent reads on stdin first: its prompt, then (when the run delivers inputs
    /// from the task's inbox, or takes them `live`) a newline and one ``inputLine(_:)`` per input.
    public static func stdin(prompt: String, inputs: [TaskInput], live: Bool = false) -> String {
        guard !inputs.isEmpty || live else { return prompt }
        let head = prompt.hasSuffix("\n") ? prompt : prompt + "\n"
        return head + inputs.map { inputLine($0) + "\n" }.joined()
    }

    /// Parses an ISO 8601 date-time with a time zone, with or without fractional seconds.
    static func parseISO8601(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}
