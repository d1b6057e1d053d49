import Foundation
import Nightshift

/// How the dashboard writes numbers, times and states.
enum DashboardFormat {
    /// `$0.42`; below a cent with four decimals (`$0.0031`), so a cheap run does not read as free.
    static func cost(_ usd: Double) -> String {
        if usd == 0 { return "$0" }
        return usd < 0.01 ? String(format: "$%.4f", usd) : String(format: "$%.2f", usd)
    }

    /// `850ms`, `4.2s`, `3m 12s`, `5h 3m`, `2d 4h`.
    static func duration(_ seconds: Double) -> String {
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        let whole = Int(seconds)
        let (days, hours, minutes) = (whole / 86_400, whole % 86_400 / 3_600, whole % 3_600 / 60)
        if days > 0 { return "\(days)d \(hours)h" }
        if hours > 0 { return "\(hours)h \(minutes)m" }
        return "\(minutes)m \(whole % 60)s"
    }

    /// `1,234` (grouped thousands), `12.3k` past ten thousand, `4.5M` past ten million.
    static func count(_ value: Int) -> String {
        if value >= 10_000_000 { return String(format: "%.1fM", Double(value) / 1e6) }
        if value >= 10_000 { return String(format: "%.1fk", Double(value) / 1e3) }
        return value >= 1_000 ? "\(value / 1_000),\(String(format: "%03d", value % 1_000))" : "\(value)"
    }

    /// `3m ago`, `in 2h`, `just now`.
    static func relative(_ date: Date, now: Date = Date()) -> String {
        let seconds = date.timeIntervalSince(now)
        if abs(seconds) < 5 { return "just now" }
        let span = duration(abs(seconds).rounded()).split(separator: " ").first.map(String.init) ?? ""
        return seconds < 0 ? "\(span) ago" : "in \(span)"
    }

    /// A `<time>` element: the relative time, with the UTC time as its title and machine value.
    static func time(_ date: Date?, now: Date = Date()) -> HTML {
        guard let date else { return "–" }
        let stamp = JSONTime.text(date)
        return "<time datetime=\"\(stamp)\" title=\"\(stamp)\">\(relative(date, now: now))</time>"
    }

    /// A state as a coloured badge.
    static func state(_ state: TaskState) -> HTML {
        "<span class=\"badge state-\(state.rawValue)\">\(state.rawValue)</span>"
    }

    /// The first non-empty line of `text`, at most `limit` characters.
    static func title(_ text: String, limit: Int = 120) -> String {
        let line = text.split(whereSeparator: \.isNewline).first { !$0.allSatisfy(\.isWhitespace) }.map(String.init) ?? ""
        return line.count > limit ? String(line.prefix(limit - 1)) + "…" : line
    }

    /// How long a task has run: its settled runs' time, and for a running task the time since it
    /// last changed (when its current run started).
    static func taskDuration(_ task: AgentTask, now: Date = Date()) -> Double {
        task.totals.runSeconds + (task.state == .running ? max(0, now.timeIntervalSince(task.updatedAt)) : 0)
    }
}
