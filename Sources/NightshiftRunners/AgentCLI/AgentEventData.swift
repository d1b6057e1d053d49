import Nightshift

/// One line of an agent CLI's JSON stream, sorted: an event object with its `type`, a blank line,
/// or a line that is no event (with the reason).
enum AgentStreamLine {
    /// An empty or whitespace-only line: nothing to report.
    case blank
    /// A JSON object with a string `type`.
    case event(type: String, object: [String: JSONValue])
    /// Anything else; `log` is the data of the warning to emit for it.
    case unparsed(log: JSONValue)

    /// Sorts `line`. A cut line is never parsed: its JSON is incomplete.
    init(_ line: OutputLine) {
        if line.truncated {
            self = .unparsed(log: AgentEventData.unparsed(line, reason: "line longer than the line limit, cut"))
            return
        }
        if line.text.allSatisfy(\.isWhitespace) {
            self = .blank
            return
        }
        let value: JSONValue
        do { value = try JSONValue(jsonText: line.text) } catch {
            self = .unparsed(log: AgentEventData.unparsed(line, reason: "invalid JSON: \(error)"))
            return
        }
        guard let object = value.objectValue else {
            self = .unparsed(log: AgentEventData.unparsed(line, reason: "not a JSON object"))
            return
        }
        guard let type = object["type"]?.stringValue else {
            self = .unparsed(log: AgentEventData.unparsed(line, reason: "a JSON object without a string 'type'"))
            return
        }
        self = .event(type: type, object: object)
    }
}

/// The data of events every agent CLI dialect emits alike, so the UI reads all CLIs the same way.
enum AgentEventData {
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

    /// `log` {level: info, message: "unknown event type X", data}: never dropped, in case it matters.
    static func unknownType(_ type: String, _ object: [String: JSONValue]) -> JSONValue {
        ["level": "info", "message": .string("unknown event type \(type)"), "data": .object(object)]
    }

    /// `log` {level: warning, message, data}: a known event missing what it should carry.
    static func malformed(_ type: String, _ problem: String, _ object: [String: JSONValue]) -> JSONValue {
        ["level": "warning", "message": .string("\(type) event \(problem)"), "data": .object(object)]
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
