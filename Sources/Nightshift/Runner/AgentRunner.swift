import Foundation
import Logging

/// Runs one attempt of a task: starts the agent, reports what it does, returns how it ended.
///
/// A runner must stop promptly when its `Task` is cancelled (timeout, cancel, shutdown) and
/// return or throw; the engine decides what the cancellation means.
public protocol AgentRunner: Sendable {
    /// The runner kind it serves (`command`, `builtin`, …).
    var kind: RunnerKind { get }
    /// Whether the engine makes the task's working directory before the run.
    var needsWorkingDirectory: Bool { get }
    /// Runs the attempt. A thrown error is a retryable failure.
    func run(_ request: RunRequest, context: RunContext) async throws -> RunOutcome
}

/// What a runner needs to run one attempt.
public struct RunRequest: Sendable {
    /// The task (state running).
    public var task: AgentTask
    /// The run (attempt number, lease).
    public var run: Run
    /// The agent profile.
    public var agent: Agent
    /// The task's working directory (created by the engine).
    public var workingDirectory: URL

    /// Creates a request.
    public init(task: AgentTask, run: Run, agent: Agent, workingDirectory: URL) {
        self.task = task
        self.run = run
        self.agent = agent
        self.workingDirectory = workingDirectory
    }
}

/// The runner's channel back to the engine while it runs.
public struct RunContext: Sendable {
    private let emitEvent: @Sendable (String, JSONValue) -> Void
    private let reportProcess: @Sendable (Int32?) -> Void
    /// Where the runner logs (at debug; the daemon decides what is shown).
    public let logger: Logger

    /// Creates a context. `emit` receives events in order; `process` hears the agent's pid.
    public init(
        logger: Logger,
        emit: @escaping @Sendable (String, JSONValue) -> Void,
        process: @escaping @Sendable (Int32?) -> Void = { _ in }
    ) {
        self.logger = logger
        self.emitEvent = emit
        self.reportProcess = process
    }

    /// Appends an event of `type` to the task's log. Never blocks: events are written in batches.
    public func emit(_ type: String, _ data: JSONValue) {
        emitEvent(type, data)
    }

    /// Reports the agent's process id (or `nil` once it exited), for status displays.
    public func processStarted(_ pid: Int32?) {
        reportProcess(pid)
    }
}

/// Finds the runner for an agent's runner kind.
public struct RunnerRegistry: Sendable {
    private var runners: [RunnerKind: any AgentRunner]

    /// A registry of these runners (a later one of the same kind wins).
    public init(_ runners: [any AgentRunner] = []) {
        self.runners = [:]
        for runner in runners { self.runners[runner.kind] = runner }
    }

    /// Adds or replaces the runner of its kind.
    public mutating func register(_ runner: any AgentRunner) {
        runners[runner.kind] = runner
    }

    /// The runner of `kind`, if registered.
    public func runner(for kind: RunnerKind) -> (any AgentRunner)? {
        runners[kind]
    }
}

extension AgentRunner {
    /// Whether the engine makes the task's working directory before the run; `true` by default.
    public var needsWorkingDirectory: Bool { true }
}
