import Nightshift

extension ClaudeCode {
    /// Most bytes of the CLI's own error text quoted in a failure.
    static let errorDetailBytes = 2 << 10

    /// How a Claude Code run went, from its `result` line; usage and cost come from that line.
    ///
    /// - `is_error: false`: succeeded with the result text (whatever the exit status);
    /// - `error_max_turns`: failed, not retryable ("max turns reached");
    /// - `error_max_budget_usd`: failed, not retryable ("budget exceeded");
    /// - `error_during_execution`, or any other error (an API error arrives as subtype `success`
    ///   with `is_error: true`): failed, retryable;
    /// - no `result` line (crash, kill): failed, retryable, with the exit status and stderr's end.
    static func outcome(_ report: ProcessReport<Interpreter>, settings: Settings) -> RunOutcome {
        let usage = usage(report)
        guard let result = report.stdout.result else {
            return .failed(failure("claude ended without a result (\(ending(report.status)))", stderr: report.stderrTail), retryable: true, usage: usage)
        }
        guard result.isError else { return .succeeded(result.text ?? "", usage: usage) }
        let detail = detail(of: result).map { ": \($0)" } ?? ""
        switch result.subtype {
        case "error_max_turns":
            let turns = [settings.maxTurns.map { "max_turns \($0)" }, result.turns.map { "\($0) turns taken" }].compactMap { $0 }
            let counts = turns.isEmpty ? "" : " (\(turns.joined(separator: ", ")))"
            return .failed("max turns reached\(counts)\(detail)", retryable: false, usage: usage)
        case "error_max_budget_usd":
            return .failed("budget exceeded: claude stopped at $\(dollars(usage.costUSD))\(detail)", retryable: false, usage: usage)
        case "error_during_execution":
            return .failed("claude error during execution\(detail)", retryable: true, usage: usage)
        case let subtype:
            let status = result.apiErrorStatus.map { ", API status \($0)" } ?? ""
            return .failed("claude reported an error (subtype \(subtype ?? "none")\(status))\(detail)", retryable: true, usage: usage)
        }
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
