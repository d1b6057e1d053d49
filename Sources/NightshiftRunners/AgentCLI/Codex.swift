import Foundation
import Nightshift

/// OpenAI's Codex CLI: `codex exec --json … -`, the prompt on stdin, its JSONL thread events read by
/// ``CodexStreamInterpreter``.
///
/// Config keys besides the shared ones (``AgentCLISettings``):
/// - `sandbox`: `read-only`, `workspace-write` or `danger-full-access` (`--sandbox=<v>`);
/// - `full_auto`: `--full-auto` (newer Codex versions deprecate it for `sandbox = "workspace-write"`);
/// - `skip_git_repo_check`: `--skip-git-repo-check`, to run outside a Git repository;
/// - `prices`: a ``PriceTable``; Codex reports tokens but no cost.
///
/// A retry resumes the thread: `codex exec <flags> resume <thread_id> -`. The flags go before
/// `resume` because not all of them are global to the subcommand (`--sandbox` is not).
enum Codex: AgentCLIDialect {
    /// The Codex-only config keys.
    struct Settings: Sendable, Hashable {
        /// `--sandbox=<mode>`, if set.
        var sandbox: String?
        /// Whether to pass `--full-auto`.
        var fullAuto: Bool
        /// Whether to pass `--skip-git-repo-check`.
        var skipGitRepoCheck: Bool
        /// Prices for the cost estimate.
        var prices: PriceTable
    }

    /// The interpreter of `codex exec --json` output.
    typealias Interpreter = CodexStreamInterpreter

    /// `codex`.
    static let kind = RunnerKind.codex
    /// `codex`, looked up in `PATH`.
    static let defaultExecutable = "codex"

    /// The sandbox modes `codex exec --sandbox` accepts.
    static let sandboxModes = ["read-only", "workspace-write", "danger-full-access"]

    /// Reads and checks the Codex-only keys.
    static func settings(_ reader: inout RunnerConfigReader) throws(NightshiftError) -> Settings {
        Settings(
            sandbox: try reader.choice("sandbox", sandboxModes),
            fullAuto: try reader.bool("full_auto") ?? false,
            skipGitRepoCheck: try reader.bool("skip_git_repo_check") ?? false,
            prices: try PriceTable.read(&reader)
        )
    }

    /// `exec --json [--model=…] [--sandbox=…] [--full-auto] [--skip-git-repo-check] [extra_args…]
    /// [resume <thread_id>] -`, where `-` makes Codex read the prompt from stdin.
    static func invocation(
        _ settings: Settings, common: AgentCLISettings, request: RunRequest, resume: ResumeContext?
    ) -> (arguments: [String], stdin: String) {
        var arguments = ["exec", "--json"]
        if let model = common.model { arguments.append(flag("--model", model)) }
        let policy = PolicyFlags.codex(request.declaredPolicy)
        if let sandbox = policy.sandbox ?? settings.sandbox { arguments.append(flag("--sandbox", sandbox)) }
        for setting in policy.config { arguments += ["-c", setting] }
        if settings.fullAuto { arguments.append("--full-auto") }
        if settings.skipGitRepoCheck { arguments.append("--skip-git-repo-check") }
        arguments += common.extraArgs
        if let resume { arguments += ["resume", resume.sessionID] }
        arguments.append("-")
        return (arguments, resume?.continuationPrompt ?? request.prompt)
    }

    /// A fresh interpreter, knowing the configured model and the prices.
    static func interpreter(_ settings: Settings, common: AgentCLISettings, limits: CommandLimits) -> Interpreter {
        CodexStreamInterpreter(model: common.model, prices: settings.prices, lineLimit: limits.lineBytes)
    }

    /// How a finished run went:
    ///
    /// - a `turn.failed`: failed with its message unwrapped, classified by ``ProviderFailure``
    ///   (an unsupported model or refused credentials fail at once; a usage limit is its own kind;
    ///   the rest is retryable);
    /// - exit 0 after a `turn.completed`: succeeded with the last agent message (failed if there was none);
    /// - otherwise failed with the last `error` message (classified likewise), else the last
    ///   reconnect notice or "stream ended without turn.completed", the exit status and stderr's
    ///   first meaningful line. Codex refusing to run outside a Git repository is not retryable:
    ///   the config must change.
    ///
    /// Failed file changes are the run's warnings.
    static func outcome(_ report: ProcessReport<Interpreter>, settings: Settings) -> RunOutcome {
        var outcome = decide(report)
        outcome.warnings = report.stdout.failedChanges
        return outcome
    }

    private static func decide(_ report: ProcessReport<Interpreter>) -> RunOutcome {
        let stream = report.stdout
        let usage = usage(report)
        let ending = Self.ending(report.status)
        if let message = stream.turnFailure {
            return ProviderFailure.classify(message).outcome("codex: turn failed (\(ending))", usage: usage)
        }
        if report.status == .exited(0), stream.turnsCompleted > 0 {
            guard let text = stream.lastAgentMessage else {
                return .failed("codex: the turn completed without an agent message", retryable: true, usage: usage)
            }
            return .succeeded(text, usage: usage)
        }
        if stream.threadID == nil, report.stderrTail.contains("--skip-git-repo-check") {
            let reason = "codex: not inside a trusted Git repository (\(ending)); set skip_git_repo_check = true to run anyway"
            return .failed(failure(reason, stderr: report.stderrTail), retryable: false, usage: usage)
        }
        if let message = stream.lastError {
            return ProviderFailure.classify(message).outcome("codex (\(ending))", usage: usage)
        }
        let reason = stream.lastRetry.map { "gave up after \($0)" }
            ?? (stream.turnsCompleted == 0 ? "stream ended without turn.completed" : "run failed")
        return AgentStderr.outcome("codex: \(reason) (\(ending))", stderr: report.stderrTail, usage: usage)
    }
}
