import Foundation
import Nightshift

/// Runs `command` agents: any program, started from the argv in the agent's config, with the
/// prompt on stdin and the JSON line protocol on stdout (see `docs/line-protocol.md`).
///
/// Agent config keys:
/// - `command` (required): the argv, a non-empty JSON array of strings; `argv[0]` without a `/`
///   is looked up in `PATH`.
/// - `workdir`: the working directory (relative paths are taken from the task's directory);
///   default: the task's working directory.
/// - `env`: the names of the daemon's environment variables passed through; default
///   ``defaultEnvironment``. Nothing else of the daemon's environment reaches the agent. The
///   agent also gets `NIGHTSHIFT_PROMPT`, `NIGHTSHIFT_TASK_ID`, `NIGHTSHIFT_RUN_ID`,
///   `NIGHTSHIFT_ATTEMPT` and `NIGHTSHIFT_WORKDIR`.
/// - `input`: `stdin` (default: stdin carries the prompt, then the inputs this run delivers as
///   `input` lines, and closes), `live` (stdin stays open while the agent runs: inputs sent to
///   the running task arrive as `input` lines as they come) or `env` (stdin is the prompt alone,
///   for a program that is its prompt, such as a shell script; the inputs are only in
///   `NIGHTSHIFT_INPUTS`, a JSON array). See `docs/line-protocol.md`.
///
/// The agent runs in its own session and process group. When its `Task` is cancelled the group
/// gets SIGTERM, then SIGKILL after ``killGrace``, and `run` *returns*
/// `.failed("cancelled", retryable: true)` (it never throws `CancellationError`). Whenever the
/// group leader exits, the rest of its group is SIGKILLed, so no grandchild outlives the run.
///
/// The first run makes the daemon ignore `SIGPIPE` (process-wide), so writing a prompt to an
/// agent that exited without reading it fails quietly instead of killing the daemon.
public struct CommandRunner: AgentRunner {
    /// The daemon variables an agent gets when its config has no `env` key.
    public static let defaultEnvironment = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "TERM"]

    /// How long a cancelled agent's process group has between SIGTERM and SIGKILL.
    public let killGrace: Duration
    let limits: CommandLimits
    private let daemonEnvironment: [String: String]?

    /// A runner giving cancelled agents `killGrace` to exit after SIGTERM. Agents' allowlisted
    /// variables come from `environment`, or from the daemon's own environment when it is `nil`.
    public init(killGrace: Duration = .seconds(5), environment: [String: String]? = nil) {
        self.init(killGrace: killGrace, limits: CommandLimits(), environment: environment)
    }

    /// A runner with other size and time limits (for tests).
    init(killGrace: Duration, limits: CommandLimits, environment: [String: String]? = nil) {
        self.killGrace = killGrace
        self.limits = limits
        self.daemonEnvironment = environment
    }

    /// `command`.
    public var kind: RunnerKind { .command }

    /// Checks the config's keys (`command`, `workdir`, `env`) and their types; the error names the
    /// agent and the key. Whether the program and directory exist is checked when a run starts.
    public func validate(_ agent: Agent) throws(NightshiftError) {
        var reader = try RunnerConfigReader(agent)
        guard let argv = try reader.strings("command"), let first = argv.first, !first.isEmpty else {
            throw reader.problem("command", "a non-empty JSON array of strings, e.g. [\"claude\", \"-p\"]")
        }
        _ = try reader.string("workdir")
        _ = try reader.variableNames("env")
        _ = try reader.choice("input", Self.inputModes)
        try reader.finish()
    }

    /// Available unless its policy asks for a sandbox this machine cannot give (the program
    /// itself is looked for when a run starts: its path may be relative to the task's directory).
    public func availability(of agent: Agent) async -> AgentAvailability {
        var report = AgentAvailability(agent: agent.name, runner: kind, available: true)
        let searchPath = (daemonEnvironment.map { $0["PATH"] } ?? CommandInvocation.processVariable("PATH")) ?? "/usr/bin:/bin"
        if let problem = SandboxCheck.problem(for: agent, searchPath: searchPath) {
            report.available = false
            report.problem = problem
        }
        return report
    }

    /// The values of the `input` config key.
    static let inputModes = ["stdin", "live", "env"]

    /// The agent's `input` mode (`stdin` when its config names none).
    static func inputMode(_ agent: Agent) -> String {
        agent.config["input"]?.stringValue ?? "stdin"
    }

    /// Whether the agent's config asks for live input (`input = "live"`).
    public func takesLiveInput(_ agent: Agent) -> Bool {
        Self.inputMode(agent) == "live"
    }

    /// Runs the agent's program to its end and maps how it ended to the outcome. Configuration
    /// errors and a missing program are non-retryable failures; cancellation returns
    /// `.failed("cancelled", retryable: true)`.
    public func run(_ request: RunRequest, context: RunContext) async throws -> RunOutcome {
        let lookup: @Sendable (String) -> String?
        if let environment = daemonEnvironment { lookup = { environment[$0] } } else { lookup = CommandInvocation.processVariable }
        return await RunPhases.run(request, lookup: lookup, context: context) { phases, context in
            await run(request, phases: phases, context: context)
        }
    }

    private func run(_ request: RunRequest, phases: RunPhases, context: RunContext) async -> RunOutcome {
        let invocation: CommandInvocation
        switch CommandInvocation.make(for: request, defaultEnvironment: Self.defaultEnvironment, lookup: phases.lookup) {
        case .success(let value): invocation = phases.adding(.agent, to: value)
        case .failure(let error): return .failed(error.message, retryable: false)
        }
        guard !Task.isCancelled else { return Self.cancelled(exitCode: nil) }
        ProcessGroup.ignoreBrokenPipes
        if let failure = await phases.runSetup(context: context, workspace: invocation.workingDirectory, state: [], killGrace: killGrace) {
            return failure
        }
        var execution = CommandExecution(
            invocation: invocation,
            prompt: Self.inputMode(request.agent) == "env"
                ? request.prompt : CommandLineProtocol.stdin(prompt: request.prompt, inputs: request.inputs, live: takesLiveInput(request.agent)),
            interpreter: StdoutInterpreter(outputLimit: limits.outputBytes), killGrace: killGrace, limits: limits, context: context,
            liveInputs: takesLiveInput(request.agent) ? context.liveInputs : nil
        )
        execution.isolation = phases.agentIsolation(workspace: invocation.workingDirectory, state: [])
        execution.cgroupName = "nightshift-\(request.run.id)"
        let report: ProcessReport<StdoutInterpreter>
        do {
            report = try await execution.run()
        } catch let error as SandboxUnavailable {
            return .failed(error.message, retryable: false)
        } catch {
            if Task.isCancelled { return Self.cancelled(exitCode: nil) }
            context.logger.debug("agent \(request.agent.name) could not start: \(error)")
            let failure = error as? AgentStartFailure ?? AgentStartFailure("\(error)")
            return failure.outcome(agent: request.agent.name, executable: invocation.executablePath)
        }
        if Task.isCancelled {
            if case .exited(let code) = report.status { return Self.cancelled(exitCode: Int(code)) }
            return Self.cancelled(exitCode: nil)
        }
        return RunPhases.isolationFailure(report) ?? CommandOutcome.outcome(of: report)
    }

    private static func cancelled(exitCode: Int?) -> RunOutcome {
        .failed("cancelled", retryable: true, usage: RunUsage(exitCode: exitCode))
    }
}
