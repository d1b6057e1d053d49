import Foundation
import Logging
import Nightshift

/// What the agent runners (command and agent CLIs) share around the agent's process: the secrets
/// each phase gets, their redaction from everything the run reports, the isolation, and the setup
/// phase that runs before the agent (docs/sandbox.md).
struct RunPhases: Sendable {
    /// The request.
    var request: RunRequest
    /// Reads the daemon's variables.
    var lookup: @Sendable (String) -> String?
    /// The secrets' values by variable name, per phase.
    private(set) var secrets: [RunPhase: [String: String]] = [:]
    /// Removes every secret value from text the run reports.
    private(set) var redactor = SecretRedactor(values: [])

    /// Reads the agent's secrets (its `secrets` and `env_file`); the error (which never quotes a
    /// value) fails the run, non-retryably.
    init(request: RunRequest, lookup: @escaping @Sendable (String) -> String?) throws(InvocationError) {
        self.request = request
        self.lookup = lookup
        let agent = request.agent
        var values: [String] = []
        func give(_ name: String, _ value: String, to phases: [RunPhase]) {
            for phase in phases { secrets[phase, default: [:]][name] = value }
            values.append(value)
        }
        if let file = agent.envFile {
            guard let text = try? String(contentsOfFile: file.path, encoding: .utf8) else {
                throw .config("agent \(agent.name): env_file \(file.path) cannot be read")
            }
            let variables: [(name: String, value: String)]
            do { variables = try EnvFile.parse(text, path: file.path) } catch { throw .config("agent \(agent.name): \(error.message)") }
            for variable in variables { give(variable.name, variable.value, to: file.phases) }
        }
        for secret in agent.secrets {
            var value: String
            if let name = secret.env {
                guard let found = lookup(name) else {
                    throw .config("agent \(agent.name): secret \(secret.name): the daemon's variable \(name) is not set")
                }
                value = found
            } else if let path = secret.file {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw .config("agent \(agent.name): secret \(secret.name): \(path) cannot be read")
                }
                value = text
                if value.hasSuffix("\n") { value.removeLast() }
            } else {
                continue
            }
            give(secret.name, value, to: secret.phases)
        }
        redactor = SecretRedactor(values: values)
    }

    /// Runs `body` with the run's phases (its secrets read) and a context that redacts them, and
    /// answers its outcome redacted; a secret that cannot be read fails the run, non-retryably.
    static func run(
        _ request: RunRequest, lookup: @escaping @Sendable (String) -> String?, context: RunContext,
        _ body: (RunPhases, RunContext) async -> RunOutcome
    ) async -> RunOutcome {
        let phases: RunPhases
        do { phases = try RunPhases(request: request, lookup: lookup) } catch { return .failed(error.message, retryable: false) }
        return phases.redacted(await body(phases, phases.redacting(context)))
    }

    /// `invocation` with `phase`'s secrets added to its environment.
    func adding(_ phase: RunPhase, to invocation: CommandInvocation) -> CommandInvocation {
        var invocation = invocation
        invocation.environment.merge(secrets[phase] ?? [:]) { _, secret in secret }
        return invocation
    }

    /// `context` with every secret value removed from what is emitted.
    func redacting(_ context: RunContext) -> RunContext {
        guard !redactor.isEmpty else { return context }
        let redactor = redactor
        return context.emitting { type, data in context.emit(type, redactor.redact(data)) }
    }

    /// The agent's isolation: the run's policy, its workspace, `state` (the CLI's own state
    /// directories) writable.
    func agentIsolation(workspace: String, state: [String]) -> RunIsolation {
        var isolation = RunIsolation.of(request, workspace: workspace, state: state)
        isolation.searchPath = lookup("PATH") ?? "/usr/bin:/bin"
        return isolation
    }

    /// Runs the agent's setup command, if it has one, in the agent's workspace and sandbox under
    /// the setup's policy, its lines logged as `setup` events; answers the outcome that ends the
    /// run when the setup fails (or could not start), `nil` when the agent may run.
    func runSetup(context: RunContext, workspace: String, state: [String], killGrace: Duration) async -> RunOutcome? {
        guard let setup = request.agent.setup else { return nil }
        var isolation = agentIsolation(workspace: workspace, state: state)
        isolation.policy = setup.policy.inheriting(request.declaredPolicy).resolved
        let invocation: CommandInvocation
        switch CommandInvocation.make(
            for: request, argv: setup.command, defaultEnvironment: CommandRunner.defaultEnvironment, lookup: lookup)
        {
        case .success(let value): invocation = adding(.setup, to: value)
        case .failure(let error): return .failed("setup: \(error.message)", retryable: false)
        }
        let started = ContinuousClock.now
        context.emit("setup_started", ["command": .array(setup.command.map(JSONValue.string))])
        // Its stdout and stderr lines are its own phase's: `setup` events with the stream named.
        let phase = context.emitting { type, data in
            guard type == "stderr" || type == SetupLines.stdoutEvent, case .object(var object) = data else { return }
            object["stream"] = .string(type == "stderr" ? "stderr" : "stdout")
            context.emit("setup", .object(object))
        }
        var execution = CommandExecution(
            invocation: invocation, prompt: "", interpreter: SetupLines(), killGrace: killGrace, limits: CommandLimits(), context: phase)
        execution.isolation = isolation
        execution.cgroupName = "nightshift-\(request.run.id)-setup"
        let command = execution
        let report: ProcessReport<SetupLines>
        do {
            if let timeout = setup.timeout {
                report = try await withTimeout(.seconds(timeout), orThrow: SetupTimeout()) { try await command.run() }
            } else {
                report = try await command.run()
            }
        } catch let error as SandboxUnavailable {
            return .failed(error.message, retryable: false)
        } catch is SetupTimeout {
            return .failed("setup timed out after \(setup.timeout ?? 0) s", retryable: true)
        } catch {
            if Task.isCancelled { return .failed("cancelled", retryable: true) }
            return .failed("setup could not start: \(error)", retryable: false)
        }
        let seconds = (ContinuousClock.now - started).seconds
        var finished: [String: JSONValue] = ["seconds": .double(seconds)]
        switch report.status {
        case .exited(let code): finished["exit_code"] = .int(Int64(code))
        case .signaled(let signal): finished["signal"] = .int(Int64(signal))
        }
        context.emit("setup_finished", .object(finished))
        if Task.isCancelled { return .failed("cancelled", retryable: true) }
        if let limit = report.limitExceeded { return .failed("setup: \(limit)", retryable: false) }
        guard report.status == .exited(0) else {
            let stderr = report.stderrTail.trimmingCharacters(in: .whitespacesAndNewlines)
            let how = switch report.status {
            case .exited(let code): "exit \(code)"
            case .signaled(let signal): "signal \(signal)"
            }
            return .failed("setup failed (\(how))" + (stderr.isEmpty ? "" : ": \(stderr)"), retryable: true)
        }
        return nil
    }

    /// `outcome` with every secret value removed from its texts.
    func redacted(_ outcome: RunOutcome) -> RunOutcome {
        guard !redactor.isEmpty else { return outcome }
        var outcome = outcome
        outcome.error = outcome.error.map(redactor.redact)
        outcome.result = outcome.result.map(redactor.redact)
        outcome.message = outcome.message.map(redactor.redact)
        outcome.warnings = outcome.warnings.map(redactor.redact)
        return outcome
    }

    /// The outcome of a process that could not be isolated or broke a limit, if it did.
    static func isolationFailure<T>(_ report: ProcessReport<T>) -> RunOutcome? {
        report.limitExceeded.map { .failed($0, retryable: false) }
    }
}

private struct SetupTimeout: Error {}

/// Reads a setup command's stdout: each line an event, nothing else kept.
struct SetupLines: LineInterpreter {
    /// The type its lines are emitted as (renamed `setup` by the phase's context).
    static let stdoutEvent = "setup_stdout"

    mutating func handle(_ line: OutputLine, now: Date) -> [(type: String, data: JSONValue)] {
        [(Self.stdoutEvent, StdoutInterpreter.lineData(line))]
    }
}

/// Replaces secret values in text with `[redacted]`.
struct SecretRedactor: Sendable {
    /// The values, longest first (so a value containing another is replaced whole).
    private let values: [String]

    /// A redactor of `values`; empty values are ignored.
    init(values: [String]) {
        self.values = Array(Set(values.filter { !$0.isEmpty })).sorted { $0.count > $1.count }
    }

    /// Whether there is nothing to redact.
    var isEmpty: Bool { values.isEmpty }

    /// `text` without the values.
    func redact(_ text: String) -> String {
        var text = text
        for value in values where text.contains(value) { text = text.replacingOccurrences(of: value, with: "[redacted]") }
        return text
    }

    /// `value` with every string in it (keys too) redacted.
    func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(redact(text))
        case .array(let items): .array(items.map(redact))
        case .object(let object): .object(Dictionary(uniqueKeysWithValues: object.map { (redact($0.key), redact($0.value)) }))
        default: value
        }
    }
}

extension RunIsolation {
    /// The state directories an agent CLI writes (its sessions, settings, credentials), writable in
    /// its sandbox.
    static func stateDirectories(of runner: RunnerKind, home: String?) -> [String] {
        guard let home else { return [] }
        return switch runner {
        case .claudeCode: [home + "/.claude", home + "/.claude.json"]
        case .codex: [home + "/.codex"]
        case .gemini: [home + "/.gemini"]
        default: []
        }
    }
}
