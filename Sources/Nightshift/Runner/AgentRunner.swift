import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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
    /// Whether the prompt is text for an agent that can take a continuation: a retried attempt
    /// that cannot resume a session then gets its last checkpoint's hint after the prompt. Runners
    /// whose prompt is a program or its input (`shell`, `command`) keep the prompt unchanged and
    /// read the resume facts from ``RunRequest/previousError`` and ``RunRequest/resumeHint``.
    var takesContinuationPrompt: Bool { get }
    /// Whether the engine gives each run the task's recorded workflow steps
    /// (``RunRequest/steps``), for a runner that replays them.
    var replaysSteps: Bool { get }
    /// Runs the attempt. A thrown error is a retryable failure.
    func run(_ request: RunRequest, context: RunContext) async throws -> RunOutcome
    /// Whether a run of `agent` takes inputs while it runs (``RunContext/liveInputs``): the engine
    /// then hands inputs sent to the running task straight to it, instead of after the run.
    func takesLiveInput(_ agent: Agent) -> Bool
    /// Checks an agent's runner config; the error names the key and what was expected.
    /// Called when agents are loaded or saved, so a bad config stops start-up, not a run.
    func validate(_ agent: Agent) throws(NightshiftError)
    /// Whether the agent's program can be started here: its path and version, if it has one.
    func availability(of agent: Agent) async -> AgentAvailability
}

/// Whether an agent's program resolves on this machine.
public struct AgentAvailability: Sendable, Hashable, Codable {
    /// The agent.
    public var agent: String
    /// Its runner kind.
    public var runner: RunnerKind
    /// Whether it can run here.
    public var available: Bool
    /// The program's resolved path, if it has one.
    public var path: String?
    /// The first line of the program's `--version` output, if asked and given.
    public var version: String?
    /// Why it cannot run, when it cannot.
    public var problem: String?

    /// Creates an availability report.
    public init(agent: String, runner: RunnerKind, available: Bool, path: String? = nil, version: String? = nil, problem: String? = nil) {
        self.agent = agent
        self.runner = runner
        self.available = available
        self.path = path
        self.version = version
        self.problem = problem
    }
}

/// How a retried attempt picks up where the last one stopped.
public struct ResumeContext: Sendable, Hashable {
    /// The agent CLI's session id recorded by an earlier run of the task.
    public var sessionID: String
    /// The attempt that recorded it.
    public var fromAttempt: Int
    /// The resume hint of the task's latest active checkpoint, if any.
    public var hint: String?
    /// Why the previous attempt ended, if it failed.
    public var previousError: String?
    /// What the session continues with instead of the generic continuation: the inputs this run
    /// delivers from the task's inbox (an answer, an approval, a follow-up), or why it was woken.
    public var followUp: String?

    /// Creates a resume context.
    public init(sessionID: String, fromAttempt: Int, hint: String? = nil, previousError: String? = nil, followUp: String? = nil) {
        self.followUp = followUp
        self.sessionID = sessionID
        self.fromAttempt = fromAttempt
        self.hint = hint
        self.previousError = previousError
    }

    /// The prompt a resumed session continues with: the follow-up when there is one, else a
    /// request to continue after an interruption.
    public var continuationPrompt: String {
        if let followUp { return followUp }
        var lines = ["Continue the task from where you stopped (attempt \(fromAttempt) was interrupted)."]
        if let previousError { lines.append("The previous attempt ended with: \(previousError)") }
        if let hint { lines.append("Resume hint from your last checkpoint: \(hint)") }
        return lines.joined(separator: "\n")
    }
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
    /// The prompt to give the agent: the task's prompt, with the agent's memories before it when
    /// the agent asks for them. A resumed session gets ``ResumeContext/continuationPrompt`` instead.
    public var prompt: String
    /// The session to resume, when this is a retry of a task whose earlier run recorded one.
    public var resume: ResumeContext?
    /// What is left of the task's budget (or the agent's, whichever is less), if either has one.
    public var remainingBudgetUSD: Double?
    /// Where the agent may write checkpoint files (`NIGHTSHIFT_CHECKPOINT_DIR`), if anywhere.
    public var checkpointDirectory: URL?
    /// On a retried attempt: why the previous attempt ended, if it failed or was lost.
    public var previousError: String?
    /// On a retried attempt: the resume hint of the task's latest active checkpoint, if any.
    public var resumeHint: String?
    /// The inputs from the task's inbox this run delivers (already marked delivered), in order.
    /// Agent CLIs get them as the prompt of the resumed session (``ResumeContext/followUp``, or
    /// after the task's prompt); a command agent as `input` lines on stdin after its prompt.
    public var inputs: [TaskInput] = []
    /// For a runner that replays steps (``AgentRunner/replaysSteps``): the task's recorded steps,
    /// by position, and the names its workflow declared.
    public var steps = TaskSteps()
    /// For a runner that replays steps: the task's subtasks, oldest first (an agent step's child).
    public var children: [AgentTask] = []
    /// How the task's previous run ended (its ``Run/outcome``), if there was one: `waiting` when
    /// the task then waited and was woken (at its time, by an input, or by a person).
    public var previousOutcome: String?
    /// For a task that asks `on-miss` (its own policy, else its agent's): what the run's
    /// tool-approval hook may decide without asking (``ToolApprovals``); `nil` when it does not ask.
    public var approvals: ToolApprovals?
    /// Paths the run's sandbox hides (the daemon's data directory and work root): its own
    /// workspace and checkpoint directory are mounted back.
    public var privatePaths: [URL] = []
    /// Paths outside the workspace the run's sandbox keeps writable (a worktree's repository git
    /// directory, for the agent's commits).
    public var writablePaths: [URL] = []
    /// The W3C `traceparent` of the run's span, when the engine traces: agents get it as
    /// `TRACEPARENT`, so that what they trace joins the task's trace.
    public var traceParent: String?

    /// The policy the run is held to: the task's own over its agent's, the defaults for the rest.
    public var policy: ExecutionPolicy.Resolved { declaredPolicy.resolved }

    /// The fields of the run's policy that the task or its agent set (the rest unset).
    public var declaredPolicy: ExecutionPolicy { (task.policy ?? ExecutionPolicy()).inheriting(agent.policy) }

    /// Creates a request; the prompt defaults to the task's.
    public init(
        task: AgentTask, run: Run, agent: Agent, workingDirectory: URL, prompt: String? = nil,
        resume: ResumeContext? = nil, remainingBudgetUSD: Double? = nil, checkpointDirectory: URL? = nil,
        previousError: String? = nil, resumeHint: String? = nil
    ) {
        self.previousError = previousError
        self.resumeHint = resumeHint
        self.task = task
        self.run = run
        self.agent = agent
        self.workingDirectory = workingDirectory
        self.prompt = prompt ?? task.prompt
        self.resume = resume
        self.remainingBudgetUSD = remainingBudgetUSD
        self.checkpointDirectory = checkpointDirectory
    }
}

/// The runner's channel back to the engine while it runs.
public struct RunContext: Sendable {
    private let emitEvent: @Sendable (String, JSONValue) -> Void
    private let reportProcess: @Sendable (Int32?) -> Void
    private let reportQuota: @Sendable (JSONValue) -> Void
    private let endLive: @Sendable () -> Void
    private let commitStep: @Sendable (WorkflowStep) async -> Bool
    private let spawnTask: @Sendable (NewTask) -> Void
    private let pauseAsked: @Sendable () -> Bool
    /// Where the runner logs (at debug; the daemon decides what is shown).
    public let logger: Logger
    /// For a runner that takes live input (``AgentRunner/takesLiveInput(_:)``): the inputs sent to
    /// the task while it runs, already marked delivered, in order; it ends with the run, or after
    /// ``endLiveInputs()``.
    public let liveInputs: AsyncStream<TaskInput>?

    /// Creates a context. `emit` receives events in order; `process` hears the agent's pid;
    /// `quota` hears the provider's quota status. With `liveInputs`, `endLiveInputs` must end them
    /// once the inputs already handed over are in the stream (see ``endLiveInputs()``).
    /// `pauseRequested` answers whether a person asked the task to pause.
    public init(
        logger: Logger,
        emit: @escaping @Sendable (String, JSONValue) -> Void,
        process: @escaping @Sendable (Int32?) -> Void = { _ in },
        quota: @escaping @Sendable (JSONValue) -> Void = { _ in },
        liveInputs: AsyncStream<TaskInput>? = nil,
        endLiveInputs: @escaping @Sendable () -> Void = {},
        recordStep: @escaping @Sendable (WorkflowStep) async -> Bool = { _ in false },
        spawn: @escaping @Sendable (NewTask) -> Void = { _ in },
        pauseRequested: @escaping @Sendable () -> Bool = { false }
    ) {
        self.pauseAsked = pauseRequested
        self.spawnTask = spawn
        self.commitStep = recordStep
        self.liveInputs = liveInputs
        self.endLive = endLiveInputs
        self.logger = logger
        self.emitEvent = emit
        self.reportProcess = process
        self.reportQuota = quota
    }

    /// Appends an event of `type` to the task's log. Never blocks: events are written in batches.
    public func emit(_ type: String, _ data: JSONValue) {
        emitEvent(type, data)
    }

    /// This context with its events going to `emit` instead (which may pass them on to this
    /// context's ``emit(_:_:)``); everything else is this context's.
    public func emitting(_ emit: @escaping @Sendable (String, JSONValue) -> Void) -> RunContext {
        RunContext(
            logger: logger, emit: emit, process: reportProcess, quota: reportQuota, liveInputs: liveInputs, endLiveInputs: endLive,
            recordStep: commitStep, spawn: spawnTask, pauseRequested: pauseAsked)
    }

    /// Submits `task` as a subtask of the run's task with the run's next write, fenced by its
    /// lease (a refused one leaves a warning in the task's log).
    public func spawn(_ task: NewTask) {
        spawnTask(task)
    }

    /// Records an ended workflow step with its event, after the events emitted before it, in a
    /// write fenced by the run's lease, and returns once it is written: `false` when the lease
    /// was lost (nothing was written; the run must stop).
    public func record(step: WorkflowStep) async -> Bool {
        await commitStep(step)
    }

    /// Whether a person asked the task to pause while it runs (`nightshift pause`): a runner that
    /// can stop at a clean point (a workflow, between steps) ends its run as
    /// ``RunResolution/paused`` there. Seen at once on this node, from another within a heartbeat.
    public var pauseRequested: Bool { pauseAsked() }

    /// Reports the agent's process id (or `nil` once it exited), for status displays.
    public func processStarted(_ pid: Int32?) {
        reportProcess(pid)
    }

    /// Tells the engine that this run takes no more live input (its agent will read no more):
    /// ``liveInputs`` then ends after the inputs already handed over, a delivery under way
    /// included, and inputs sent from now on wait in the inbox for the next run, which takes them
    /// by resume. Called more than once, or without live input, it does nothing more.
    public func endLiveInputs() {
        endLive()
    }

    /// Reports the provider's quota status as the agent CLI printed it (utilization, window,
    /// reset): not news for the task's log, but the latest one per agent is shown by `status`.
    public func quotaObserved(_ status: JSONValue) {
        reportQuota(status)
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

    /// The kinds registered.
    public var kinds: [RunnerKind] { Array(runners.keys) }

    /// The runner of `kind`, if registered.
    public func runner(for kind: RunnerKind) -> (any AgentRunner)? {
        runners[kind]
    }
}

extension AgentRunner {
    /// Whether the engine makes the task's working directory before the run; `true` by default.
    public var needsWorkingDirectory: Bool { true }

    /// `false` by default: inputs wait for the run to end and are delivered by resuming it.
    public func takesLiveInput(_ agent: Agent) -> Bool { false }

    /// `false` by default: no steps are read for the run.
    public var replaysSteps: Bool { false }

    /// `false` by default: the prompt is passed as it was submitted.
    public var takesContinuationPrompt: Bool { false }

    /// Accepts any config by default.
    public func validate(_ agent: Agent) throws(NightshiftError) {}

    /// Available by default (in-process runners need nothing).
    public func availability(of agent: Agent) async -> AgentAvailability {
        AgentAvailability(agent: agent.name, runner: kind, available: true)
    }
}

/// An agent process could not be started (a missing program, no descriptors left, a bad working
/// directory). `errno` says why when the system did.
public struct AgentStartFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for a person.
    public var message: String
    /// The system's reason, when there is one.
    public var errno: Int32?

    /// Creates the failure.
    public init(_ message: String, errno: Int32? = nil) {
        self.message = message
        self.errno = errno
    }

    /// The message.
    public var description: String { message }

    /// Whether the node ran out of descriptors (EMFILE, ENFILE): the node's fault, not the agent's.
    public var isOutOfDescriptors: Bool { errno.map(Self.isOutOfDescriptors(errno:)) ?? false }

    /// Whether `errno` says the process or the system ran out of descriptors.
    public static func isOutOfDescriptors(errno: Int32) -> Bool { errno == EMFILE || errno == ENFILE }

    /// How a run that could not start its agent `executable` ends: an interruption when the node
    /// ran out of descriptors, else a retryable failure naming the agent and the program.
    public func outcome(agent: String, executable: String) -> RunOutcome {
        let reason = "agent \(agent): could not start \(executable): \(message)"
        return isOutOfDescriptors ? .interrupted("interrupted", reason: reason) : .failed(reason, retryable: true)
    }
}
