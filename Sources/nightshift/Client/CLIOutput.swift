import Foundation
import Nightshift
import NightshiftDaemon

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing the API commands' output: lines, errors, colour and the shared formats.
enum CLIOutput {
    /// Whether standard output gets ANSI colour: only on a terminal, and not with `NO_COLOR` or `TERM=dumb`.
    static let colour: Bool = {
        let environment = ProcessInfo.processInfo.environment
        guard isatty(STDOUT_FILENO) != 0 else { return false }
        if let noColour = environment["NO_COLOR"], !noColour.isEmpty { return false }
        return environment["TERM"] != "dumb"
    }()

    /// Prints one line to standard output.
    static func line(_ text: String) {
        print(text)
    }

    /// Prints one line to standard output and flushes it (for live output).
    static func liveLine(_ text: String) {
        print(text)
        flush()
    }

    /// Prints `error: MESSAGE` to standard error.
    static func error(_ message: String) {
        flush()
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }

    /// Prints a remark that is not the command's output (which may go to a script) to standard error.
    static func note(_ message: String) {
        flush()
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }

    /// Flushes standard output.
    static func flush() {
        fflush(nil)
    }

    /// `value` as compact JSON on one line.
    static func json(_ value: JSONValue) {
        line(value.jsonText)
    }

    /// A wire value as the API's compact JSON on one line.
    static func json(_ value: some WireValue) {
        json(value.json)
    }

    // MARK: Colour

    /// `text` in the ANSI style `codes` when colour is on.
    static func paint(_ text: String, _ codes: String?) -> String {
        guard colour, let codes, !text.isEmpty else { return text }
        return "\u{1B}[\(codes)m\(text)\u{1B}[0m"
    }

    /// The ANSI style of a task state.
    static func stateStyle(_ state: String) -> String? {
        switch state {
        case "done": "32"
        case "error": "31"
        case "cancelled", "dropped": "33"
        case "running": "36"
        case "waiting", "paused": "35"
        default: nil
        }
    }

    /// A task state, coloured.
    static func state(_ state: String) -> String {
        paint(state, stateStyle(state))
    }

    /// Bold text.
    static func bold(_ text: String) -> String { paint(text, "1") }

    /// Dim text.
    static func dim(_ text: String) -> String { paint(text, "2") }

    // MARK: Values

    /// A JSON value as text for a table cell: strings bare, null as `-`, the rest as JSON.
    static func text(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: "-"
        case .string(let text)?: text
        case .double(let number)?: formatNumber(number)
        case let value?: value.jsonText
        }
    }

    /// A text for a table cell, `-` when absent.
    static func text(_ value: String?) -> String { value ?? "-" }

    /// An integer for a table cell, `-` when absent.
    static func text(_ value: Int?) -> String { value.map(String.init) ?? "-" }

    /// A number without a needless `.0`.
    static func formatNumber(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    /// The first line of `text` (with ` …` when more follow), cut to `width` characters.
    static func short(_ text: String, width: Int) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        var first = lines.first.map(String.init) ?? ""
        if lines.count > 1 { first += " …" }
        return first.count > width ? String(first.prefix(max(width - 1, 0))) + "…" : first
    }

    // MARK: Times

    /// `3s ago`, `2m ago`, `5h ago`, `4d ago`, or `in 3s` for a future time.
    static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = now.timeIntervalSince(date)
        if abs(seconds) < 1 { return "just now" }
        let amount = duration(abs(seconds), coarse: true)
        return seconds > 0 ? "\(amount) ago" : "in \(amount)"
    }

    /// A relative time, `-` when absent.
    static func relative(_ date: Date?, now: Date = Date()) -> String {
        date.map { relative($0, now: now) } ?? "-"
    }

    /// `42s`, `3m`, `5h`, `4d` (coarse) or `3m12s`, `5h3m` (fine); when fine, under 1 s in milliseconds and
    /// under 10 s with a tenth.
    static func duration(_ seconds: Double, coarse: Bool = false) -> String {
        let whole = Int(seconds.rounded(.down))
        if !coarse, seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if whole < 60 {
            return !coarse && seconds < 10 ? String(format: "%.1fs", seconds) : "\(whole)s"
        }
        if whole < 3600 { return coarse || whole % 60 == 0 ? "\(whole / 60)m" : "\(whole / 60)m\(whole % 60)s" }
        if whole < 86400 {
            return coarse || whole % 3600 / 60 == 0 ? "\(whole / 3600)h" : "\(whole / 3600)h\(whole % 3600 / 60)m"
        }
        return "\(whole / 86400)d"
    }

    /// The local wall-clock time of `date` as `HH:MM:SS.mmm`.
    static func clock(_ date: Date) -> String {
        let parts = Calendar.current.dateComponents([.hour, .minute, .second, .nanosecond], from: date)
        return String(format: "%02d:%02d:%02d.%03d", parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0,
                      (parts.nanosecond ?? 0) / 1_000_000)
    }

    /// The local date and time of `date` as `YYYY-MM-DD HH:MM:SS`, `-` when absent.
    static func timestamp(_ date: Date?) -> String {
        guard let date else { return "-" }
        let parts = Calendar.current.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
                      parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }

    // MARK: Events

    /// The text of an event: `from → to` for a state change, else `data.message`, `data.line` or
    /// `data.text`, else the compact JSON of the data.
    static func eventText(_ event: WireEvent) -> String {
        let data = event.data
        if event.type == "state" {
            let to = state(data["to"]?.stringValue ?? "?")
            var text = data["from"]?.stringValue.map { "\($0) → \(to)" } ?? "→ \(to)"
            if let error = data["error"]?.stringValue, !error.isEmpty { text += ": \(error)" }
            return text
        }
        if event.type == "input", let kind = data["kind"]?.stringValue {
            let from = data["sender"]?.stringValue.map { " from \($0)" } ?? ""
            return "\(kind)\(from)" + (data["text"]?.stringValue.map { ": \($0)" } ?? "")
        }
        if event.type == "input_delivered", case .array(let inputs)? = data["inputs"] {
            let how = data["how"]?.stringValue ?? "delivered"
            return "\(inputs.count) input\(inputs.count == 1 ? "" : "s") \(how)" + (data["run_id"]?.stringValue.map { " to run \($0)" } ?? "")
        }
        for key in ["message", "line", "text"] {
            if let text = data[key]?.stringValue { return text }
        }
        if case .string(let text) = data { return text }
        return data.jsonText
    }

    /// The event types the engine and the runners write, to align the text after them.
    static let eventTypes = [
        "state", "stdout", "stderr", "log", "result", "checkpoint", "tool_call", "tool_result", "assistant",
        "thinking", "file_change", "session", "turn", "todo", "retry", "error", "rate_limit", "quota", "priority",
        "archived", "input", "input_delivered",
    ]

    /// The width of the type column: the longest known event type and a space.
    static let eventTypeWidth = eventTypes.map(\.count).max()! + 1

    /// One log line: time, type padded to `typeWidth` and text; a subagent's event (it carries the
    /// `parent_tool_use_id` of the call that started the subagent) is indented under that call.
    static func eventLine(_ event: WireEvent, typeWidth: Int = eventTypeWidth) -> String {
        let nested = event.data["parent_tool_use_id"]?.stringValue != nil
        let type = event.type
        let padded = type + String(repeating: " ", count: max(typeWidth - type.count, 1))
        let style: String? = switch type {
        case "state": "1"
        case "stderr": "33"
        case "result": "32"
        default: nil
        }
        return dim(clock(event.time)) + "  " + (nested ? "  ↳ " : "") + paint(padded, style) + eventText(event)
    }
}

/// A table with aligned columns: a header row, then rows of cells with optional colour.
struct CLITable {
    /// One cell: its text and an ANSI style.
    struct Cell: ExpressibleByStringLiteral {
        var text: String
        var style: String?

        init(_ text: String, style: String? = nil) {
            self.text = text
            self.style = style
        }

        init(stringLiteral value: String) {
            self.init(value)
        }
    }

    /// The column titles.
    var headers: [String]
    /// Columns whose cells are aligned to the right (numbers).
    var rightAligned: Set<Int> = []
    /// The rows.
    var rows: [[Cell]] = []

    /// A table with these column titles.
    init(_ headers: [String], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    /// Adds a row.
    mutating func add(_ cells: [Cell]) {
        rows.append(cells)
    }

    /// The lines of the table, columns two spaces apart, no trailing spaces.
    func render() -> [String] {
        let all = [headers.map { Cell($0, style: "1") }] + rows
        var widths = Array(repeating: 0, count: headers.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.text.count)
            }
        }
        return all.map { row in
            var line = ""
            for (index, cell) in row.enumerated() where index < widths.count {
                let padding = String(repeating: " ", count: widths[index] - cell.text.count)
                let painted = CLIOutput.paint(cell.text, cell.style)
                if index > 0 { line += "  " }
                if rightAligned.contains(index) {
                    line += padding + painted
                } else if index == row.count - 1 {
                    line += painted
                } else {
                    line += painted + padding
                }
            }
            return line
        }
    }

    /// Prints the table.
    func print() {
        for line in render() { CLIOutput.line(line) }
    }
}

extension CLIOutput {
    /// The eight heights of a sparkline, lowest first.
    static let sparks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// `values` as a sparkline, one character each, scaled to the largest: zero is the lowest
    /// bar, and any value above zero is at least the second, so a day with a little shows.
    static func sparkline(_ values: [Double]) -> String {
        let top = values.max() ?? 0
        return String(values.map { value in
            guard value > 0, top > 0 else { return sparks[0] }
            return sparks[1 + min(Int((value / top * 6).rounded()), 6)]
        })
    }
}
