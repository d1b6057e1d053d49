import Foundation
import Nightshift

/// Reading an agent CLI's stderr for a failure message.
enum AgentStderr {
    /// The first line of `text` that says something: not blank, not a stack frame (`at …`,
    /// `File "…"`, a source excerpt or its `^` marker), not a Node.js banner. The rest of stderr is
    /// in the task's log as `stderr` events; a failure quotes one line, not a 16-line trace.
    static func meaningfulLine(_ text: String) -> String? {
        meaningfulLine(among: lines(text))
    }

    private static func meaningfulLine(among lines: [String]) -> String? {
        lines.first { line in errorWords.contains(where: line.lowercased().contains) } ?? lines.first
    }

    /// The outcome of a run that ended without a verdict of its own (no result, a crash): `reason`
    /// with the failure stderr tells of (``failure(_:)``), else `reason` alone, retryable.
    static func outcome(_ reason: String, stderr: String, usage: RunUsage) -> RunOutcome {
        failure(stderr)?.outcome(reason, usage: usage) ?? .failed(reason, retryable: true, usage: usage)
    }

    /// The failure stderr tells of: the line of the weightiest kind (a usage limit, then refused
    /// credentials, a missing model, an invalid request), else the first line that names an
    /// error; `nil` when stderr says nothing.
    static func failure(_ text: String) -> ProviderFailure? {
        let candidates = lines(text)
        let failures = candidates.map { ProviderFailure.classify($0) }
        for kind in [ProviderFailure.Kind.usageLimit, .authentication, .model, .invalidRequest] {
            if let found = failures.first(where: { $0.kind == kind }) { return found }
        }
        return meaningfulLine(among: candidates).map { ProviderFailure.classify($0) }
    }

    private static let errorWords = ["error", "failed", "fatal", "exception", "denied", "not logged in", "exhausted", "limit"]

    /// The lines that say something, without colour codes and up to the last `…Error: ` prefix
    /// (`Error authenticating: FatalAuthenticationError: Manual authorization is required …`).
    private static func lines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).compactMap { raw in
            var line = String(raw).replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
                .trimmingWhitespace()
            guard !line.isEmpty, !isNoise(line) else { return nil }
            if let range = line.range(of: #"[A-Za-z]*Error: "#, options: [.regularExpression, .backwards]),
               !String(line[range.upperBound...]).trimmingWhitespace().isEmpty
            {
                line = String(line[range.upperBound...]).trimmingWhitespace()
            }
            let (kept, cut) = AgentEventData.cut(line, toBytes: 500)
            return cut ? kept + "…" : kept
        }
    }

    /// How stack frames, runtime banners and chatter start (Node.js, Python, Rust, gemini's notices).
    private static let noisePrefixes = [
        "at ", "File \"", "file://", "node:", "Node.js v", "(Use `node --trace", "triggerUncaughtException", "throw ",
        "This error originated", "stack backtrace:", "note: run with `RUST_BACKTRACE", "YOLO mode", "Loaded cached credentials",
    ]

    private static func isNoise(_ line: String) -> Bool {
        noisePrefixes.contains(where: line.hasPrefix) || line == "{" || line == "}"
            || line.allSatisfy({ $0 == "^" || $0 == "~" || $0 == " " })
            || line.range(of: #"^\d+: "#, options: .regularExpression) != nil
    }
}
