import Foundation
import Nightshift

/// Runs agents through an agent CLI — Claude Code, Codex or Gemini — as a supervised subprocess:
/// the command line from the agent's config and the task, the prompt on stdin, every line of the
/// CLI's JSON stream a typed task event, and the outcome, usage, cost and session id from it.
///
/// Like ``CommandRunner``: its own process group, an environment from an allowlist, SIGTERM then
/// SIGKILL to the group on cancel. A CLI that cannot be found fails at once without retry.
struct AgentCLIRunner<Dialect: AgentCLIDialect>: AgentRunner {
    /// How long a cancelled agent's process group has between SIGTERM and SIGKILL.
    let killGrace: Duration
    let limits: CommandLimits
    private let daemonEnvironment: [String: String]?
    /// The `nightshift` program, for commands the CLI runs back into Nightshift (a hook, the MCP
    /// server of ``NightshiftTools``).
    let nightshiftExecutable: String?
    /// How long `availability(of:)` waits for `--version` before reporting no version.
    let versionTimeout: Duration

    init(
        killGrace: Duration = .seconds(5), limits: CommandLimits = CommandLimits(), environment: [String: String]? = nil,
        nightshiftExecutable: String? = NightshiftExecutable.current, versionTimeout: Duration = .seconds(5)
    ) {
        self.nightshiftExecutable = nightshiftExecutable
        self.versionTimeout = versionTimeout
        self.killGrace = killGrace
        self.limits = limits
        self.daemonEnvironment = environment
    }

    /// How much of the end of stderr is kept to read a failure from: 16 KiB.
    static var stderrBytes: Int { 16 << 10 }

    /// The dialect's kind.
    var kind: RunnerKind { Dialect.kind }

    /// Agent CLIs take a continuation: a retry without a session to resume gets the hint.
    var takesContinuationPrompt: Bool { true }

    /// Reads every key of the agent's config; the error names the agent and the first bad key.
    func validate(_ agent: Agent) throws(NightshiftError) {
        _ = try Self.settings(agent)
    }

    static func settings(_ agent: Agent) throws(NightshiftError) -> (common: AgentCLISettings, own: Dialect.Settings) {
        var reader = try RunnerConfigReader(agent)
        let common = try AgentCLISettings(&reader, defaultExecutable: Dialect.defaultExecutable)
        let own = try Dialect.settings(&reader)
        try reader.finish()
        return (common, own)
    }

    private func lookup(_ name: String) -> String? {
        daemonEnvironment.map { $0[name] } ?? CommandInvocation.processVariable(name)
    }

    /// Runs the CLI to its end. A bad config or a missing CLI is a non-retryable failure;
    /// cancellation returns `.failed("cancelled", retryable: true)` with the usage seen so far.
    func run(_ request: RunRequest, context: RunContext) async throws -> RunOutcome {
        await RunPhases.run(request, lookup: lookup, context: context) { phases, context in
            await run(request, phases: phases, context: context)
        }
    }

    private func run(_ request: RunRequest, phases: RunPhases, context: RunContext) async -> RunOutcome {
        var settings: (common: AgentCLISettings, own: Dialect.Settings)
        do { settings = try Self.settings(request.agent) } catch { return .failed(error.message, retryable: false) }
        settings.common.nightshiftExecutable = nightshiftExecutable
        if nightshiftExecutable == nil, let need = Dialect.needsNightshift(settings.own, request: request) {
            return .failed(
                "agent \(request.agent.name) (\(request.agent.runner)): \(need) needs the nightshift program, and its path is "
                    + "unknown: set NIGHTSHIFT_EXECUTABLE for the daemon", retryable: false)
        }
        let resume = settings.common.resume ? request.resume : nil
        let (arguments, stdin) = Dialect.invocation(settings.own, common: settings.common, request: request, resume: resume)
        let invocation: CommandInvocation
        switch CommandInvocation.make(
            for: request, argv: [settings.common.executable] + arguments,
            defaultEnvironment: CommandRunner.defaultEnvironment, lookup: lookup)
        {
        case .success(let value): invocation = phases.adding(.agent, to: value)
        case .failure(let error): return .failed(error.message, retryable: false)
        }
        guard !Task.isCancelled else { return .failed("cancelled", retryable: true) }
        ProcessGroup.ignoreBrokenPipes
        let state = RunIsolation.stateDirectories(of: request.agent.runner, home: invocation.environment["HOME"] ?? lookup("HOME"))
        if let failure = await phases.runSetup(context: context, workspace: invocation.workingDirectory, state: state, killGrace: killGrace) {
            return failure
        }
        if let resume {
            context.emit("log", [
                "level": "info", "message": .string("resuming session \(resume.sessionID) of attempt \(resume.fromAttempt)"),
            ])
        }
        // A CLI's failure is read from stderr's first meaningful line, which in a stack trace comes
        // first: keep more of it than the 2 KiB a command's failure quotes.
        var limits = self.limits
        limits.stderrTailBytes = max(limits.stderrTailBytes, Self.stderrBytes)
        var execution = CommandExecution(
            invocation: invocation, prompt: stdin,
            interpreter: Dialect.interpreter(settings.own, common: settings.common, limits: limits),
            killGrace: killGrace, limits: limits, context: Self.routingQuota(context))
        execution.isolation = phases.agentIsolation(workspace: invocation.workingDirectory, state: state)
        execution.cgroupName = "nightshift-\(request.run.id)"
        if let liveLine = Dialect.liveInputLine(settings.own) {
            let live = Self.liveInputs(context)
            execution.liveInputs = live.inputs
            execution.liveLine = liveLine
            execution.context = Self.routingQuota(context, atResult: live.end)
        }
        let report: ProcessReport<Dialect.Interpreter>
        do {
            report = try await execution.run()
        } catch let error as SandboxUnavailable {
            return .failed(error.message, retryable: false)
        } catch {
            if Task.isCancelled { return .failed("cancelled", retryable: true) }
            let failure = error as? AgentStartFailure ?? AgentStartFailure("\(error)")
            return failure.outcome(agent: request.agent.name, executable: invocation.executablePath)
        }
        var outcome = Task.isCancelled
            ? RunOutcome.failed("cancelled", retryable: true, usage: Dialect.usage(report))
            : RunPhases.isolationFailure(report) ?? Dialect.outcome(report, settings: settings.own)
        // The model the CLI reported, else the configured one.
        if outcome.usage.model == nil { outcome.usage.model = settings.common.model }
        return outcome
    }

    /// `context`, with the interpreter's quota statuses sent to ``RunContext/quotaObserved(_:)``
    /// instead of the task's log (a quota that allows is not news), and `atResult` called after
    /// each `result` event.
    static func routingQuota(_ context: RunContext, atResult: @escaping @Sendable () -> Void = {}) -> RunContext {
        context.emitting { type, data in
            if type == AgentEventData.quotaSignal { context.quotaObserved(data) } else { context.emit(type, data) }
            if type == "result" { atResult() }
        }
    }

    /// Whether the CLI resolves in the agent's `PATH`, where, and its `--version` (`versionTimeout` at most).
    func availability(of agent: Agent) async -> AgentAvailability {
        var report = AgentAvailability(agent: agent.name, runner: kind, available: false)
        let common: AgentCLISettings
        do { common = try Self.settings(agent).common } catch {
            report.problem = error.message
            return report
        }
        let searchPath = lookup("PATH") ?? "/usr/bin:/bin"
        let directory = FileManager.default.currentDirectoryPath
        guard let path = CommandInvocation.resolveExecutable(common.executable, searchPath: searchPath, relativeTo: directory) else {
            report.problem = "agent CLI not found: \(common.executable) (searched PATH=\(searchPath))"
            return report
        }
        report.path = path
        if let problem = SandboxCheck.problem(for: agent, searchPath: searchPath) {
            report.problem = problem
            return report
        }
        report.available = true
        report.version = await Self.version(of: path, timeout: versionTimeout)
        return report
    }

    /// The first line of `path --version`, or `nil` if it fails or takes over `timeout`.
    static func version(of path: String, timeout: Duration) async -> String? {
        let lines = try? await HelperCommand.run([path, "--version"], input: nil, timeout: timeout, what: "--version")
        return lines?.first { !$0.text.isEmpty }?.text
    }
}
