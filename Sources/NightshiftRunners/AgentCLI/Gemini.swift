import Foundation
import Nightshift

/// Google's Gemini CLI: `gemini --output-format=stream-json`, the prompt on stdin, its JSONL events
/// read by ``GeminiStreamInterpreter``.
///
/// There is no `--prompt`: stdin being a pipe already makes gemini headless, and it takes the piped
/// text as the whole prompt. (`--prompt=` would be redundant, and under `--sandbox` gemini relaunches
/// itself with the piped text added as a second `--prompt`.)
///
/// Config keys besides the shared ones (``AgentCLISettings``):
/// - `approval_mode`: `default`, `auto_edit`, `yolo` or `plan` (`--approval-mode=<v>`);
/// - `sandbox`: `--sandbox`;
/// - `prices`: a ``PriceTable``; Gemini reports tokens but no cost.
///
/// A retry resumes the session with `--resume=<session_id>`.
enum Gemini: AgentCLIDialect {
    /// The Gemini-only config keys.
    struct Settings: Sendable, Hashable {
        /// `--approval-mode=<mode>`, if set.
        var approvalMode: String?
        /// Whether to pass `--sandbox`.
        var sandbox: Bool
        /// Prices for the cost estimate.
        var prices: PriceTable
    }

    /// The interpreter of `gemini --output-format=stream-json` output.
    typealias Interpreter = GeminiStreamInterpreter

    /// `gemini`.
    static let kind = RunnerKind.gemini
    /// `gemini`, looked up in `PATH`.
    static let defaultExecutable = "gemini"

    /// The approval modes `gemini --approval-mode` accepts.
    static let approvalModes = ["default", "auto_edit", "yolo", "plan"]

    /// Exit codes of gemini's fatal errors that another attempt cannot fix
    /// (`packages/core/src/utils/errors.ts`), with what they mean.
    static let permanentExits: [Int32: String] = [
        41: "authentication error",
        42: "input error",
        44: "sandbox error",
        52: "config error",
        53: "turn limit reached",
        55: "untrusted workspace",
    ]

    /// In stream-json mode an API error exits with its HTTP status, cut to a byte by the OS
    /// (400 → 144, 404 → 148, 429 → 173, 503 → 247); the status, if `code` is one.
    static func httpStatus(exitCode code: Int32) -> Int? {
        guard code >= 144 else { return nil }
        return [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504].first { $0 & 0xFF == Int(code) }
    }

    /// Reads and checks the Gemini-only keys.
    static func settings(_ reader: inout RunnerConfigReader) throws(NightshiftError) -> Settings {
        Settings(
            approvalMode: try reader.choice("approval_mode", approvalModes),
            sandbox: try reader.bool("sandbox") ?? false,
            prices: try PriceTable.read(&reader)
        )
    }

    /// `--output-format=stream-json [--model=…] [--approval-mode=…] [--sandbox] [--resume=<id>] [extra_args…]`.
    static func invocation(
        _ settings: Settings, common: AgentCLISettings, request: RunRequest, resume: ResumeContext?
    ) -> (arguments: [String], stdin: String) {
        var arguments = [flag("--output-format", "stream-json")]
        if let model = common.model { arguments.append(flag("--model", model)) }
        let policy = PolicyFlags.gemini(request.declaredPolicy, configuredMode: settings.approvalMode)
        if let mode = policy.mode { arguments.append(flag("--approval-mode", mode)) }
        arguments += policy.allowed.map { flag("--allowed-tools", $0) }
        if settings.sandbox { arguments.append("--sandbox") }
        if let resume { arguments.append(flag("--resume", resume.sessionID)) }
        arguments += common.extraArgs
        return (arguments, resume?.continuationPrompt ?? request.prompt)
    }

    /// A fresh interpreter, knowing the configured model and the prices.
    static func interpreter(_ settings: Settings, common: AgentCLISettings, limits: CommandLimits) -> Interpreter {
        GeminiStreamInterpreter(model: common.model, prices: settings.prices, lineLimit: limits.lineBytes)
    }

    /// How a finished run went:
    ///
    /// - exit 0 with a `result` of status `success`: succeeded with the last turn's assistant text;
    /// - a fatal exit (42 input error, 53 turn limit, 41, 44, 52, 55): failed, not retryable, with
    ///   the error's message (stdout's, else stderr's first meaningful line);
    /// - anything else: classified by ``ProviderFailure`` from the result's or last error's message
    ///   (else stderr) and the HTTP status the exit code carries: a missing model or an invalid
    ///   request fails at once, a spent quota is a usage limit, the rest is retryable.
    static func outcome(_ report: ProcessReport<Interpreter>, settings: Settings) -> RunOutcome {
        let stream = report.stdout
        let usage = usage(report)
        switch report.status {
        case .exited(0) where stream.resultStatus == "success":
            return .succeeded(stream.resultText, usage: usage)
        case .exited(let code) where permanentExits[code] != nil:
            let reason = "gemini: \(permanentExits[code]!) (exit \(code))"
            let detail = stream.errorMessage.map { ProviderFailure.unwrap($0).message }
                ?? AgentStderr.failure(report.stderrTail)?.message
            return .failed(detail.map { "\(reason): \($0)" } ?? reason, retryable: false, usage: usage)
        case .exited(let code):
            if let message = stream.errorMessage {
                return ProviderFailure.classify(message, status: httpStatus(exitCode: code))
                    .outcome("gemini (exit \(code))", usage: usage)
            }
            let problem = stream.resultStatus == nil ? "stream ended without a result" : "result status \(stream.resultStatus!)"
            return AgentStderr.outcome("gemini: \(problem) (exit \(code))", stderr: report.stderrTail, usage: usage)
        case .signaled(let signal):
            return .failed(failure("gemini: killed by signal \(signal)", stderr: report.stderrTail), retryable: true, usage: usage)
        }
    }
}
