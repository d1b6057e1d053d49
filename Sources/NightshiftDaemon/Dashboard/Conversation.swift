import Foundation
import Nightshift

/// A task's event log drawn as the agent's session: assistant text as Markdown, tool calls as
/// collapsible blocks holding their input, their result and (for a subagent) the subagent's own
/// events, errors highlighted, and the rest (output lines, state changes, inputs) in between.
///
/// The page draws the whole log at once (``html(_:)``); its script adds each new event as a
/// ``Piece`` from the live stream into the element the piece names, so both follow one rule.
enum Conversation {
    /// One event drawn for the live stream: its markup, and where it goes.
    struct Piece: Sendable {
        /// The id of the element it is appended to: a tool call's body (`in-<call id>`) for a
        /// call's result and a subagent's events, `nil` for the conversation itself.
        var target: String?
        /// The markup (a tool call with an empty body).
        var html: HTML
        /// The tool call (`call-<id>`) a failed result marks as failed, if any.
        var failedCall: String?
    }

    /// The id of the element holding tool call `id`'s result and nested events.
    static func bodyID(_ call: String) -> String { "in-" + idSafe(call) }

    /// The events as one conversation, nested as the live stream nests them.
    static func html(_ events: [TaskEvent]) -> HTML {
        final class Node {
            let piece: Piece
            let call: (name: String, input: JSONValue, id: String)?
            var children: [Node] = []
            var failed = false
            init(piece: Piece, call: (name: String, input: JSONValue, id: String)?) {
                self.piece = piece
                self.call = call
            }
            func render() -> HTML {
                guard let call else { return piece.html }
                return Conversation.toolCall(name: call.name, input: call.input, id: call.id, failed: failed, body: HTML(joining: children.map { $0.render() }))
            }
        }
        var root: [Node] = []
        var calls: [String: Node] = [:]
        for event in events {
            guard let piece = piece(event) else { continue }
            var call: (String, JSONValue, String)?
            if event.type == "tool_call", let id = event.data["id"]?.stringValue {
                call = (event.data["name"]?.stringValue ?? "tool", event.data["input"] ?? .null, id)
            }
            let node = Node(piece: piece, call: call)
            if let id = call?.2 { calls[bodyID(id)] = node }
            if let failed = piece.failedCall { calls[bodyID(String(failed.dropFirst("call-".count)))]?.failed = true }
            if let target = piece.target, let parent = calls[target] { parent.children.append(node) } else { root.append(node) }
        }
        return HTML(joining: root.map { $0.render() })
    }

    /// The piece that draws `event`; `nil` for what the conversation leaves out (quota signals,
    /// checkpoints and other bookkeeping a person does not read as the session).
    static func piece(_ event: TaskEvent) -> Piece? {
        let data = event.data
        let parent = data["parent_tool_use_id"]?.stringValue.map(bodyID)
        switch event.type {
        case "assistant":
            let text = data["text"]?.stringValue ?? ""
            return Piece(target: parent, html: "<div class=\"msg assistant\"><div class=\"who\">assistant</div>\(Markdown.html(text))</div>")
        case "thinking":
            let text = data["text"]?.stringValue ?? ""
            let inner: HTML = text.isEmpty ? "<p class=\"muted\">(redacted)</p>" : Markdown.html(text)
            return Piece(target: parent, html: "<details class=\"thinking\"><summary class=\"muted\">thinking</summary><div class=\"tool-body\">\(inner)</div></details>")
        case "tool_call":
            let html = toolCall(
                name: data["name"]?.stringValue ?? "tool", input: data["input"] ?? .null, id: data["id"]?.stringValue, failed: false, body: .empty)
            return Piece(target: parent, html: html)
        case "tool_result":
            let failed = data["is_error"] == true
            let content = data["content"]?.stringValue ?? data.jsonText
            let cut: HTML = data["truncated"] == true ? "<div class=\"muted small\">(cut to the first 4 KiB)</div>" : .empty
            let html: HTML = """
                <div class="tool-result\(failed ? HTML(" msg error") : .empty)"><div class="muted small">\(failed ? "error" : "result")</div><pre>\(content)</pre>\(cut)</div>
                """
            let call = data["id"]?.stringValue
            return Piece(target: call.map(bodyID) ?? parent, html: html, failedCall: failed ? call.map { "call-" + idSafe($0) } : nil)
        case "result":
            let failed = data["is_error"] == true
            let text = data["text"]?.stringValue ?? ""
            let figures = [
                data["num_turns"]?.doubleValue.map { "\(Int($0)) turns" },
                data["cost_usd"]?.doubleValue.map(DashboardFormat.cost),
                data["duration_ms"]?.doubleValue.map { DashboardFormat.duration($0 / 1000) },
            ].compactMap { $0 }.joined(separator: " · ")
            return Piece(target: parent, html: """
                <div class="msg \(failed ? "error" : "result")"><div class="who">\(failed ? "failed" : "result")\(figures.isEmpty ? "" : " · " + figures)</div>\(Markdown.html(text))</div>
                """)
        case "error":
            let text = data["message"]?.stringValue ?? data.jsonText
            return Piece(target: parent, html: "<div class=\"msg error\" role=\"alert\"><div class=\"who\">error</div><pre>\(text)</pre></div>")
        case "state":
            let from = data["from"]?.stringValue.map { $0 + " → " } ?? ""
            let to = data["to"]?.stringValue ?? "?"
            let error: HTML = data["error"]?.stringValue.map { "<div class=\"msg error\"><pre>\($0)</pre></div>" } ?? .empty
            return Piece(target: nil, html: "<div class=\"divider\" data-to=\"\(to)\">\(from)\(to) · \(DashboardFormat.time(event.time))</div>\(error)")
        case "input":
            let kind = data["kind"]?.stringValue ?? "message"
            let sender = data["sender"]?.stringValue.map { " from " + $0 } ?? ""
            let text: HTML = data["text"]?.stringValue.map { "<div class=\"question\">\($0)</div>" } ?? .empty
            return Piece(target: nil, html: "<div class=\"msg person\"><div class=\"who\">\(kind)\(sender)</div>\(text)</div>")
        case "session":
            let model = data["model"]?.stringValue.map { " · " + $0 } ?? ""
            return Piece(target: nil, html: "<div class=\"divider\">session \(data["session_id"]?.stringValue ?? "started")\(model)</div>")
        case "diff":
            return Piece(target: nil, html: "<div class=\"divider\">the run's changes were recorded: <a href=\"#diff\">see the diff</a></div>")
        case "quota", "checkpoint", "session_checkpoint", "turn":
            return nil
        default:
            let level = data["level"]?.stringValue ?? ""
            let kind = event.type == "stderr" ? "stderr" : (["error", "warning"].contains(level) ? level : "")
            return Piece(target: parent, html: "<div class=\"line \(kind)\"><span class=\"muted\">\(event.type)</span> \(text(of: data))</div>")
        }
    }

    /// A tool call: its name and a one-line summary of its input, opening to the whole input and
    /// its body (the result and nested events, `in-<id>`).
    static func toolCall(name: String, input: JSONValue, id: String?, failed: Bool, body: HTML) -> HTML {
        let summary = DashboardFormat.title(inputSummary(input), limit: 100)
        let idAttribute: HTML = id.map { " id=\"call-\(idSafe($0))\"" } ?? .empty
        let bodyAttribute: HTML = id.map { " id=\"\(bodyID($0))\"" } ?? .empty
        return """
            <details class="tool\(failed ? HTML(" error") : .empty)"\(idAttribute)><summary><span class="tool-name">\(name)</span> <span class="muted">\(summary)</span></summary>\
            <div class="tool-body"><pre>\(input.prettyText)</pre><div class="sub"\(bodyAttribute)>\(body)</div></div></details>
            """
    }

    /// What a person reads first of a tool's input: its command, path, pattern, URL, description
    /// or prompt, else the compact JSON.
    static func inputSummary(_ input: JSONValue) -> String {
        for key in ["command", "file_path", "path", "pattern", "url", "query", "description", "prompt"] {
            if let text = input[key]?.stringValue { return text }
        }
        return input.jsonText
    }

    /// The text of a plain event: `message`, `line` or `text`, else the compact JSON.
    static func text(of data: JSONValue) -> String {
        for key in ["message", "line", "text"] {
            if let text = data[key]?.stringValue { return text }
        }
        if case .string(let text) = data { return text }
        return data.jsonText
    }

    /// `text` with every character but letters, digits, `-` and `_` replaced, for an element id.
    static func idSafe(_ text: String) -> String {
        String(text.unicodeScalars.map { ($0.properties.isAlphabetic && $0.isASCII) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" ? Character($0) : "_" })
    }
}

extension JSONValue {
    /// The value as indented JSON, for a person.
    var prettyText: String {
        guard let data = jsonText.data(using: .utf8), let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
              let pretty = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return jsonText }
        return String(decoding: pretty, as: UTF8.self)
    }
}
