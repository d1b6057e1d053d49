import Nightshift

extension ClaudeCode {
    /// Most bytes of the CLI's own error text quoted in a failure.
    static let errorDetailBytes = 2 << 10

    /// How a Claude Code run went, from its last `result` line and its exit (docs/runners/claude-code.md):
    ///
    /// - a success only when nothing says otherwise: `is_error` false, subtype `success`, and the
    ///   process exited 0 after it;
    /// - `error_max_turns`, `error_max_budget_usd`: failed, not retryable, whatever `is_error` says
    ///   (Claude Code 2.1 ends a turn-limited run with `is_error: false`);
    /// - any other error: classified by ``ProviderFailure`` from the CLI's words and the API status:
    ///   authentication, a missing model or an invalid request fail at once; a usage limit is its own
    ///   kind (the reset time from the rejected quota, else from the text); the rest is retryable;
    /// - no `result` line (crash, kill): classified from stderr's first meaningful line; retryable
    ///   unless that line says otherwise. The whole stderr is in the task's log as `stderr` events.
    static func outcome(_ report: ProcessReport<Interpreter>, settings: Settings) -> RunOutcome {
        var outcome = decide(report, settings: settings)
        outcome.warnings = report.stdout.result?.denials ?? []
        return outcome
    }

    private static func decide(_ report: ProcessReport<Interpreter>, settings: Settings) -> RunOutcome {
        let usage = usage(report)
        let stream = report.stdout
        guard let result = stream.result else {
            let ending = "claude ended without a result (\(ending(report.status)))"
            guard let failure = AgentStderr.failure(report.stderrTail) else { return .failed(ending, retryable: true, usage: usage) }
            return failure.outcome(ending, usage: usage)
        }
        let detail = detail(of: result)
        switch result.subtype {
        case "error_max_turns":
            let turns = [settings.maxTurns.map { "max_turns \($0)" }, result.turns.map { "\($0) turns taken" }].compactMap { $0 }
            let counts = turns.isEmpty ? "" : " (\(turns.joined(separator: ", ")))"
            return .failed("max turns reached\(counts)" + (detail.map { ": \($0)" } ?? ""), retryable: false, usage: usage)
        case "error_max_budget_usd":
            return .failed("budget exceeded: claude stopped at $\(dollars(usage.costUSD))" + (detail.map { ": \($0)" } ?? ""), retryable: false, usage: usage)
        case "success" where !result.isError:
            if report.status == .exited(0) { return .succeeded(result.text ?? "", usage: usage) }
            let line = AgentStderr.meaningfulLine(report.stderrTail).map { ": \($0)" } ?? ""
            return .failed("claude reported success but then \(ending(report.status))\(line)", retryable: true, usage: usage)
        default:
            break
        }
        let prefix = result.subtype == "error_during_execution" ? "claude error during execution" : "claude"
        let words = detail ?? result.subtype ?? "error"
        var failure = ProviderFailure.classify(words, status: result.apiErrorStatus)
        if let reset = stream.quotaResetsAt {
            failure.kind = .usageLimit
            failure.resetsAt = reset
        }
        return failure.outcome(prefix, usage: usage)
    }

    /// The CLI's own words: its `errors`, else the result text; cut to 2 KiB.
    private static func detail(of result: ClaudeCodeStreamParser.FinalResult) -> String? {
        let errors = result.errors.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        let text = errors.isEmpty ? (result.text?.trimmingWhitespace() ?? "") : errors.joined(separator: "; ")
        guard !text.isEmpty else { return nil }
        let (kept, cut) = AgentEventData.cut(text, toBytes: errorDetailBytes)
        return cut ? kept + "…" : kept
    }
}

/// Reading an agent CLI's stderr for a failure message.
enum AgentStderr {
    /// The first line of `text` that says something: not blank, not a stack frame (`at …`,
    /// `File "…"`, a source excerpt or its `^` marker), not a Node.js banner. The rest of stderr is
    /// in the task's log as `stderr` events; a failure quotes one line, not a 16-line trace.
    static func meaningfulLine(_ text: String) -> String? {
        lines(text).first { line in errorWords.contains(where: line.lowercased().contains) } ?? lines(text).first
    }

    /// The failure stderr tells of: the line of the weightiest kind (a usage limit, then refused
    /// credentials, a missing model, an invalid request), else the first line that names an
    /// error; `nil` when stderr says nothing.
    static func failure(_ text: String) -> ProviderFailure? {
        let candidates = lines(text)
        let ranked: [ProviderFailure.Kind] = [.usageLimit, .authentication, .model, .invalidRequest]
        let failures = candidates.map { ProviderFailure.classify($0) }
        for kind in ranked {
            if let found = failures.first(where: { $0.kind == kind }) { return found }
        }
        return meaningfulLine(text).map { ProviderFailure.classify($0) }
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

    private static func isNoise(_ line: String) -> Bool {
        line.hasPrefix("at ") || line.hasPrefix("This error originated") || line.hasPrefix("YOLO mode") || line.hasPrefix("Loaded cached credentials") || line.hasPrefix("File \"") || line.allSatisfy({ $0 == "^" || $0 == "~" || $0 == " " })
            || line.hasPrefix("Node.js v") || line.hasPrefix("file://") || line.hasPrefix("(Use `node --trace")
            || line.hasPrefix("node:") || line.hasPrefix("triggerUncaughtException") || line.hasPrefix("throw ")
            || line == "}" || line == "{" || line.hasPrefix("stack backtrace:") || line.hasPrefix("note: run with `RUST_BACKTRACE")
            || line.range(of: #"^\d+: "#, options: .regularExpression) != nil
    }
}
