import Foundation
import Nightshift

/// One agent CLI (Claude Code, Codex, Gemini): how its command line is built from an agent's config
/// and a run, how its JSON stream is read, and how a run's end maps to an outcome.
///
/// ``AgentCLIRunner`` does the rest: config checks, the environment allowlist, the process group,
/// cancellation and availability.
protocol AgentCLIDialect: Sendable {
    /// The dialect's own config keys, read and checked.
    associatedtype Settings: Sendable
    /// Reads the CLI's stdout.
    associatedtype Interpreter: AgentStreamInterpreter

    /// The runner kind (`claude_code`, `codex`, `gemini`).
    static var kind: RunnerKind { get }
    /// The program run when the config has no `executable` key.
    static var defaultExecutable: String { get }
    /// Reads the dialect's own keys; the shared ones (``AgentCLISettings``) are read before.
    static func settings(_ reader: inout RunnerConfigReader) throws(NightshiftError) -> Settings
    /// What in the run hands the CLI a command back into the `nightshift` program (a hook, an MCP
    /// server), said for a person (`config key 'nightshift_tools'`); `nil` when nothing does. A run
    /// that needs the program when its path is unknown fails for good.
    static func needsNightshift(_ settings: Settings, request: RunRequest) -> String?
    /// The arguments after the program name and the text written to stdin. `resume` is set when the
    /// run continues an earlier session (and the agent allows resuming).
    static func invocation(
        _ settings: Settings, common: AgentCLISettings, request: RunRequest, resume: ResumeContext?
    ) -> (arguments: [String], stdin: String)
    /// A fresh interpreter for one run.
    static func interpreter(_ settings: Settings, common: AgentCLISettings, limits: CommandLimits) -> Interpreter
    /// How a run whose process ended (not cancelled) went.
    static func outcome(_ report: ProcessReport<Interpreter>, settings: Settings) -> RunOutcome
    /// How runs with these settings take live input, if they do: the stdin line (without its
    /// newline) of an input sent to the running task. Stdin then stays open after the prompt, and
    /// at the end of the CLI's first turn (its first `result` event) the run takes no more inputs
    /// and stdin closes once those handed over are written.
    static func liveInputLine(_ settings: Settings) -> (@Sendable (TaskInput) -> String)?
}

/// An interpreter of an agent CLI's JSON stream: it also knows the session id and usage seen so
/// far, which a cancelled or killed run still records.
protocol AgentStreamInterpreter: LineInterpreter {
    /// The usage (tokens, cost, session id) seen so far.
    var usage: RunUsage { get }
}

/// The config keys every agent CLI runner shares.
///
/// - `executable`: the program (a name looked up in `PATH`, or a path); default: the CLI's name.
/// - `model`: the model to ask for.
/// - `extra_args`: more arguments, appended as given.
/// - `resume`: whether a retry resumes the previous attempt's session (default `true`).
/// - `env`, `workdir`: as for `command` agents.
struct AgentCLISettings: Sendable, Hashable {
    /// The program.
    var executable: String
    /// The model, if set.
    var model: String?
    /// Extra arguments.
    var extraArgs: [String]
    /// Whether retries resume the session.
    var resume: Bool
    /// The `nightshift` program, for commands the CLI runs back into Nightshift (set by the
    /// runner, not read from the config).
    var nightshiftExecutable: String?

    /// Reads the shared keys.
    init(_ reader: inout RunnerConfigReader, defaultExecutable: String) throws(NightshiftError) {
        executable = try reader.string("executable") ?? defaultExecutable
        model = try reader.string("model")
        extraArgs = try reader.strings("extra_args") ?? []
        resume = try reader.bool("resume") ?? true
        // Read (and checked) by CommandInvocation when the run starts.
        _ = try reader.variableNames("env")
        _ = try reader.string("workdir")
    }
}

extension AgentCLIDialect {
    /// Nothing: the dialect hands the CLI no command back into Nightshift.
    static func needsNightshift(_ settings: Settings, request: RunRequest) -> String? { nil }

    /// None by default: inputs wait for the run to end and are delivered by resuming the session.
    static func liveInputLine(_ settings: Settings) -> (@Sendable (TaskInput) -> String)? { nil }

    /// A `--flag=value` token: one argv entry, so a value can never be read as a flag.
    static func flag(_ name: String, _ value: String) -> String {
        "\(name)=\(value)"
    }

    /// The usage of a report, with the exit code.
    static func usage<I: AgentStreamInterpreter>(_ report: ProcessReport<I>) -> RunUsage {
        var usage = report.stdout.usage
        if case .exited(let code) = report.status { usage.exitCode = Int(code) }
        return usage
    }

    /// How the process ended: `exit status N` or `killed by signal N`.
    static func ending(_ status: ExitStatus) -> String {
        switch status {
        case .exited(let code): "exit status \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }

    /// `reason`, then stderr's first meaningful line if there is one (the whole of stderr is in
    /// the task's log as `stderr` events).
    static func failure(_ reason: String, stderr: String) -> String {
        AgentStderr.meaningfulLine(stderr).map { "\(reason): \($0)" } ?? reason
    }
}
