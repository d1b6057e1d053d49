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
    ///
    /// A success after a `wake_me` call (``NightshiftTools``) waits instead, until the call's time.
    static func outcome(_ report: ProcessReport<Interpreter>, settings: Settings) -> RunOutcome {
        var outcome = decide(report, settings: settings)
        if outcome.resolution == .succeeded, let wake = report.stdout.wake {
            outcome = .wake(at: wake.at, prompt: wake.prompt, usage: outcome.usage)
        }
        outcome.warnings = report.stdout.result?.denials ?? []
        return outcome
    }

    private static func decide(_ report: ProcessReport<Interpreter>, settings: Settings) -> RunOutcome {
        let usage = usage(report)
        let stream = report.stdout
        guard let result = stream.result else {
            return AgentStderr.outcome("claude ended without a result (\(ending(report.status)))", stderr: report.stderrTail, usage: usage)
        }
        if let call = result.deferred { return deferred(call, result: result, usage: usage) }
        let detail = detail(of: result)
        let quoted = detail.map { ": \($0)" } ?? ""
        switch result.subtype {
        case "error_max_turns":
            let turns = [settings.maxTurns.map { "max_turns \($0)" }, result.turns.map { "\($0) turns taken" }].compactMap { $0 }
            let counts = turns.isEmpty ? "" : " (\(turns.joined(separator: ", ")))"
            return .failed("max turns reached\(counts)\(quoted)", retryable: false, usage: usage)
        case "error_max_budget_usd":
            return .failed("budget exceeded: claude stopped at $\(dollars(usage.costUSD))\(quoted)", retryable: false, usage: usage)
        case "success" where !result.isError:
            if report.status == .exited(0) { return .succeeded(result.text ?? "", usage: usage) }
            return .failed(failure("claude reported success but then \(ending(report.status))", stderr: report.stderrTail), retryable: true, usage: usage)
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

    /// The name of Claude Code's own question tool, whose deferred calls wait for an answer.
    static let questionTool = "AskUserQuestion"

    /// A run the tool-approval hook stopped at a deferred call (`stop_reason: "tool_deferred"`):
    /// the task waits for a person, for an approval of the call, or for an answer when the call is
    /// Claude's own question. A session that can no longer run the deferred tool
    /// (`tool_deferred_unavailable`, e.g. its MCP server is gone) fails: resuming it again would too.
    private static func deferred(
        _ call: ClaudeCodeStreamParser.DeferredToolUse, result: ClaudeCodeStreamParser.FinalResult, usage: RunUsage
    ) -> RunOutcome {
        guard result.stopReason != "tool_deferred_unavailable", !result.isError else {
            return .failed(
                "claude could not resume the deferred call of \(call.name) (\(result.stopReason ?? "error")): the tool is not available",
                retryable: false, usage: usage)
        }
        var outcome = RunOutcome(resolution: .waiting, label: "waiting", usage: usage)
        if call.name == questionTool {
            let questions = call.input["questions"]?.arrayValue ?? []
            let texts = questions.compactMap { $0["question"]?.stringValue }
            outcome.message = texts.isEmpty ? "Claude asks a question" : texts.joined(separator: "\n")
            // The choices are shown when there is one question to choose for.
            let options = questions.count == 1 ? questions[0]["options"]?.arrayValue?.compactMap { $0["label"]?.stringValue } : nil
            outcome.waitingFor = WaitingFor(
                kind: .input, question: outcome.message, options: options, tool: call.name, toolInput: call.input, toolUseID: call.id)
        } else {
            outcome.message = "Claude asks to use \(call.name)"
            outcome.waitingFor = WaitingFor(
                kind: .approval, question: outcome.message, tool: call.name, toolInput: call.input, toolUseID: call.id)
        }
        return outcome
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
