import Foundation
import Nightshift

/// An agent CLI stream of one JSON event object a line, each with a string `type`.
protocol AgentJSONStreamInterpreter: AgentStreamInterpreter {
    /// The line length over which the reader cuts lines (named in the warning for a cut line).
    var lineLimit: Int { get }
    /// The task events of one event object of type `type`.
    mutating func handle(event type: String, _ object: [String: JSONValue]) -> [(type: String, data: JSONValue)]
}

extension AgentJSONStreamInterpreter {
    /// A task event: its type and data.
    typealias Event = (type: String, data: JSONValue)

    /// The events of one stdout line (``events(of:)``).
    mutating func handle(_ line: OutputLine, now: Date) -> [Event] {
        events(of: line)
    }

    /// The events of one stdout line: none for a blank line, a `log` warning for a line that is no
    /// JSON object (a cut line is never parsed: its JSON is incomplete), a `log` info for an object
    /// without a string `type`, else those of ``handle(event:_:)``.
    mutating func events(of line: OutputLine) -> [Event] {
        if line.truncated { return [("log", AgentEventData.unparsed(line, reason: "line longer than \(lineLimit) bytes was cut"))] }
        if line.text.allSatisfy(\.isWhitespace) { return [] }
        let value: JSONValue
        do { value = try JSONValue(jsonText: line.text) } catch {
            return [("log", AgentEventData.unparsed(line, reason: "invalid JSON: \(error)"))]
        }
        guard let object = value.objectValue else { return [("log", AgentEventData.unparsed(line, reason: "not a JSON object"))] }
        guard let type = object["type"]?.stringValue else { return [("log", AgentEventData.unknownType("(none)", object))] }
        return handle(event: type, object)
    }
}

/// The data of events every agent CLI dialect emits alike, so the UI reads all CLIs the same way.
enum AgentEventData {
    /// The type of a quota status an interpreter hands on: ``AgentCLIRunner`` passes it to
    /// ``RunContext/quotaObserved(_:)`` rather than to the task's log.
    static let quotaSignal = "quota"

    /// The most of a stream line a `log` event quotes: 2 KiB.
    static let quotedLineBytes = 2 << 10
    /// The most of a tool's output a `tool_result` event carries: 4 KiB.
    static let toolContentBytes = 4 << 10

    /// `log` {level: warning, message: "unparsed stream line: <reason>", line, truncated?}.
    static func unparsed(_ line: OutputLine, reason: String) -> JSONValue {
        let (text, cut) = cut(line.text, toBytes: quotedLineBytes)
        var data: [String: JSONValue] = [
            "level": "warning", "message": .string("unparsed stream line: \(reason)"), "line": .string(text),
        ]
        if cut || line.truncated { data["truncated"] = true }
        return .object(data)
    }

    /// `log` {level: info, message, data}.
    static func info(_ message: String, data: JSONValue) -> JSONValue {
        ["level": "info", "message": .string(message), "data": data]
    }

    /// `log` {level: info, message: "unknown event type X", data}: never dropped, in case it matters.
    static func unknownType(_ type: String, _ object: [String: JSONValue]) -> JSONValue {
        info("unknown event type \(type)", data: .object(object))
    }

    /// `log` {level: warning, message, data}: a known event missing what it should carry.
    static func malformed(_ type: String, _ problem: String, _ object: [String: JSONValue]) -> JSONValue {
        ["level": "warning", "message": .string("\(type) event \(problem)"), "data": .object(object)]
    }

    /// `tool_call` {id?, name, input} plus `extra` members.
    static func toolCall(id: String?, name: String, input: JSONValue, extra: [String: JSONValue] = [:]) -> JSONValue {
        var data = extra
        data["name"] = .string(name)
        data["input"] = input
        if let id { data["id"] = .string(id) }
        return .object(data)
    }

    /// `tool_result` {id?, name?, is_error, content (cut to 4 KiB), truncated?} plus `extra` members.
    static func toolResult(
        id: String?, name: String?, isError: Bool, content: String, extra: [String: JSONValue] = [:]
    ) -> JSONValue {
        let (text, cut) = cut(content, toBytes: toolContentBytes)
        var data = extra
        data["is_error"] = .bool(isError)
        data["content"] = .string(text)
        if let id { data["id"] = .string(id) }
        if let name { data["name"] = .string(name) }
        if cut { data["truncated"] = true }
        return .object(data)
    }

    /// `value` as an `Int`, if it is a finite number (a fraction is dropped).
    static func int(_ value: JSONValue?) -> Int? {
        switch value {
        case .int(let number)?: Int(number)
        case .double(let number)? where number.isFinite && abs(number) < 9.0e18: Int(number)
        default: nil
        }
    }

    /// `text` cut to at most `limit` UTF-8 bytes on a character boundary, and whether it was cut.
    static func cut(_ text: String, toBytes limit: Int) -> (text: String, cut: Bool) {
        guard text.utf8.count > limit else { return (text, false) }
        let bytes = Array(text.utf8)
        return (String(decoding: bytes[..<UTF8Cut.boundary(in: bytes, atMost: limit)], as: UTF8.self), true)
    }
}
