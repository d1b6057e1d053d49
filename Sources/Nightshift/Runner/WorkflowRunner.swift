import Foundation
import Synchronization

/// A durable workflow: Swift code that calls named steps on its context and returns the task's
/// result text. It must reach its steps in the same order each time it runs (a replay checks
/// each step's name against the one recorded at its position).
public typealias WorkflowBody = @Sendable (WorkflowContext) async throws -> String?

/// The workflows this process can run, by name. Register them before the engine runs; a
/// workflow task names its workflow through its agent (``WorkflowRunner``).
public final class WorkflowRegistry: Sendable {
    private struct Entry: Sendable {
        let body: WorkflowBody
        let steps: [String]?
        let place: String
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// An empty registry.
    public init() {}

    /// Registers `body` as workflow `name`. `steps` declares the names of the steps it runs, in
    /// order, when they are known: its progress is then completed over declared steps, and a
    /// cancel marks those not run `skipped`. Throws `invalid_input` (field `name`) for a bad name,
    /// or for a name registered already, naming both places; (field `steps`) for an empty name.
    public func register(
        _ name: String, steps: [String]? = nil, file: String = #fileID, line: Int = #line, _ body: @escaping WorkflowBody
    ) throws(NightshiftError) {
        guard TextRules.isAgentName(name) else {
            throw .invalid("name", "expected a workflow name (\(TextRules.agentNameRule)), got '\(name)'")
        }
        if let steps, let blank = steps.firstIndex(where: { $0.isEmpty }) {
            throw .invalid("steps", "expected step names, got an empty one at \(blank)")
        }
        let place = "\(file):\(line)"
        let earlier = entries.withLock { entries -> String? in
            if let known = entries[name] { return known.place }
            entries[name] = Entry(body: body, steps: steps, place: place)
            return nil
        }
        if let earlier { throw .invalid("name", "workflow '\(name)' is registered twice: at \(earlier) and at \(place)") }
    }

    /// The workflow `name`, if registered.
    public func workflow(_ name: String) -> WorkflowBody? {
        entries.withLock { $0[name]?.body }
    }

    /// The step names workflow `name` declares, if it is registered with them.
    public func declaredSteps(_ name: String) -> [String]? {
        entries.withLock { $0[name]?.steps }
    }

    /// The names registered, sorted.
    public var names: [String] { entries.withLock { $0.keys.sorted() } }
}

/// Runs workflow tasks: an agent of runner kind `workflow` names its workflow by the `workflow`
/// key of its config, else by its own name. Each run runs the workflow from the top; steps the
/// task recorded return their recorded output without running (``WorkflowContext``).
///
/// A task whose workflow this node does not know is not lost and not failed: it waits, its
/// `waiting_for` saying "workflow X not registered on any node", and is tried again every
/// `unregisteredRetry` seconds, so that a node that registers it takes it on; a node that
/// registers it wakes it as it starts.
public struct WorkflowRunner: AgentRunner {
    /// The workflows it runs.
    public let registry: WorkflowRegistry
    /// How long a task of an unknown workflow waits before it is tried again, in seconds.
    public let unregisteredRetry: Double

    /// A runner of `registry`'s workflows.
    public init(registry: WorkflowRegistry, unregisteredRetry: Double = 60) {
        self.registry = registry
        self.unregisteredRetry = unregisteredRetry
    }

    /// `workflow`.
    public var kind: RunnerKind { .workflow }

    /// A workflow is in-process code: no working directory is made for it.
    public var needsWorkingDirectory: Bool { false }

    /// A run gets the task's recorded steps, to replay.
    public var replaysSteps: Bool { true }

    /// The workflow an agent of this runner runs: its `workflow` config key, else its name.
    public static func workflowName(of agent: Agent) -> String {
        agent.config["workflow"]?.stringValue ?? agent.name
    }

    /// What a task of workflow `name` waits for while no node registers it.
    public static func unregisteredReason(_ name: String) -> String {
        "workflow \(name) not registered on any node"
    }

    /// Runs the workflow. A determinism error, a step that failed for good and an output that
    /// cannot be encoded fail the task (not retried); another error the workflow throws is a
    /// retryable failure, whose retry replays the steps done. At a pause request the run stops
    /// before its next step, as ``RunResolution/paused``.
    public func run(_ request: RunRequest, context: RunContext) async throws -> RunOutcome {
        let name = Self.workflowName(of: request.agent)
        guard let body = registry.workflow(name) else {
            let until = Date().addingTimeInterval(unregisteredRetry)
            var outcome = RunOutcome.wake(at: until, prompt: nil)
            outcome.waitingFor = WaitingFor(kind: .wake, question: Self.unregisteredReason(name), wakeAt: until)
            return outcome
        }
        let workflow = WorkflowContext(request: request, context: context)
        if let steps = registry.declaredSteps(name) { workflow.declare(steps) }
        if request.previousOutcome == RunResolution.paused.description {
            context.emit("resumed", ["position": .int(Int64(request.steps.recorded.count))])
        }
        do {
            return .succeeded(try await body(workflow))
        } catch let failure as WorkflowFailure {
            return .failed(failure.description, retryable: false)
        } catch let suspension as WorkflowSuspension {
            // The task waits (no worker held); its next run replays up to here and goes on.
            workflow.checkpointed()
            switch suspension {
            case .sleep(let until): return .wake(at: until, prompt: nil)
            case .input(let question): return .waitingForInput(question)
            case .child(let step, let agent): return .waitingForChildren("step '\(step)': agent \(agent) is running")
            case .pause(let position, let step):
                context.emit("paused", ["position": .int(Int64(position)), "before": .string(step)])
                return RunOutcome(resolution: .paused, label: RunResolution.paused.description)
            }
        }
    }
}

/// Why a workflow cannot go on, whatever a retry would do.
public enum WorkflowFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The step reached at `position` is not the one recorded there: the workflow's code changed
    /// or does not run its steps in a fixed order.
    case nondeterministic(position: Int, recorded: String, reached: String)
    /// The step failed on its last attempt (now or in an earlier run).
    case stepFailed(step: String, error: String)
    /// The step's output could not be encoded as JSON (or a recorded one decoded as its type).
    case output(step: String, type: String, error: String)

    /// What went wrong, naming the steps.
    public var description: String {
        switch self {
        case .nondeterministic(let position, let recorded, let reached):
            "workflow is not deterministic: step \(position) was '\(recorded)' when recorded, now '\(reached)'"
        case .stepFailed(let step, let error): "step '\(step)' failed: \(error)"
        case .output(let step, let type, let error): "step '\(step)': its output of type \(type) cannot be recorded as JSON: \(error)"
        }
    }
}

/// Why a workflow's run stops where it is, for the task to wait: thrown by ``WorkflowContext``'s
/// `sleep` and `waitForInput`, and turned into the run's waiting outcome by the runner.
enum WorkflowSuspension: Error, Sendable {
    /// Until this time.
    case sleep(until: Date)
    /// Until someone sends the task an input.
    case input(question: String)
    /// Until the child task of an agent step has ended.
    case child(step: String, agent: String)
    /// Until a person resumes the task: it was asked to pause, and stopped before step `step`
    /// at `position`.
    case pause(position: Int, step: String)
}

/// What a person sent a workflow that waited for input (``WorkflowContext/waitForInput(_:name:)``).
public struct HumanInput: Codable, Sendable, Hashable {
    /// `message`, `answer`, `approve` or `reject`.
    public var kind: String
    /// Its text, if any.
    public var text: String?
    /// Who sent it.
    public var sender: String

    /// Creates an input value.
    public init(kind: String, text: String?, sender: String) {
        self.kind = kind
        self.text = text
        self.sender = sender
    }
}

/// How often a step is tried and how long it waits between tries.
public struct StepRetry: Sendable, Hashable {
    /// Attempts in all (1: no retry).
    public var maxAttempts: Int
    /// The wait before the second attempt, in seconds; each later one doubles, up to ``maxBackoff``.
    public var initialBackoff: Double
    /// The longest wait, in seconds.
    public var maxBackoff: Double

    /// A policy; by default one attempt.
    public init(maxAttempts: Int = 1, initialBackoff: Double = 1, maxBackoff: Double = 60) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// The wait after failed attempt `attempt` (1-based).
    func backoff(after attempt: Int) -> Double {
        min(maxBackoff, initialBackoff * pow(2, Double(attempt - 1)))
    }
}

/// A workflow's handle on its run: its input and its steps.
///
/// Steps are numbered in the order the workflow reaches them. A step recorded at its position
/// returns its recorded output (or throws its recorded failure) without running; the first one
/// not recorded runs, and its output is recorded, fenced by the run's lease, in the write that
/// appends its `step_completed` event, before the step returns.
public final class WorkflowContext: Sendable {
    /// The task.
    public let task: AgentTask
    /// The run (its attempt: 1 for the first).
    public let run: Run
    private let recorded: [WorkflowStep]
    /// The step names declared: as the task had them, then as ``declare(_:)`` sets them.
    private let declared: Mutex<[String]>
    private let context: RunContext
    private let next = Mutex(0)
    /// Steps this run completed (recorded ones replayed not counted).
    private let completedHere = Mutex(0)
    /// The inputs this run delivers, taken in order by ``waitForInput(_:name:)``.
    private let inputs: Mutex<[TaskInput]>
    /// The task's subtasks when the run started: agent steps' children.
    private let children: [AgentTask]
    /// How the previous run ended.
    private let previousOutcome: String?

    init(request: RunRequest, context: RunContext) {
        task = request.task
        run = request.run
        recorded = request.steps.recorded
        declared = Mutex(request.steps.declared)
        inputs = Mutex(request.inputs)
        children = request.children
        previousOutcome = request.previousOutcome
        self.context = context
    }

    /// The workflow's input: the task's prompt.
    public var input: String { task.prompt }

    /// Steps declared so far (reached, in this run or recorded earlier).
    public var stepsReached: Int { next.withLock { max($0, recorded.count) } }

    /// The type of the event that declares a workflow's steps (data: `steps`, the names).
    public static let declaredEvent = "steps_declared"

    /// The step names a ``declaredEvent`` carries.
    public static func declared(in data: JSONValue) -> [String] {
        TaskSteps.names(in: data["steps"])
    }

    /// Declares the names of the steps the workflow runs, in order, when it learns them as it
    /// runs (a registered workflow's are declared for it): kept on the task with the run's next
    /// write, for its progress (completed over declared) and for the steps a cancel marks skipped.
    /// Declaring the names the task has already changes nothing.
    public func declare(_ steps: [String]) {
        let changed = declared.withLock { declared in
            defer { declared = steps }
            return declared != steps
        }
        if changed { context.emit(Self.declaredEvent, ["steps": TaskSteps.json(names: steps)]) }
    }

    /// Completed over declared steps (0…1), or `nil` when none are declared.
    public var progress: Double? {
        TaskSteps.progress(
            completed: recorded.count { $0.state == .completed } + completedHere.withLock { $0 }, declared: declared.withLock(\.count))
    }

    /// Appends the `checkpointed` event: the run stops here, and the next one replays the steps
    /// recorded so far and goes on from `position`.
    func checkpointed() {
        var data: [String: JSONValue] = ["position": .int(Int64(stepsRecorded))]
        let declared = declared.withLock { $0 }
        if !declared.isEmpty { data["declared"] = .int(Int64(declared.count)) }
        if let progress { data["progress"] = .double((progress * 1000).rounded() / 1000) }
        context.emit("checkpointed", .object(data))
    }

    /// Steps recorded, earlier or by this run.
    private var stepsRecorded: Int { recorded.count + completedHere.withLock { $0 } }

    /// Whether a person asked the task to pause: the workflow pauses before its next step by
    /// itself; a long step may look, to end early (its output is recorded, and the pause follows).
    public var pauseRequested: Bool { context.pauseRequested }

    /// Stops before the new step `name` at `position` when a person asked the task to pause.
    private func pauseIfRequested(_ name: String, at position: Int) throws {
        if context.pauseRequested { throw WorkflowSuspension.pause(position: position, step: name) }
    }

    /// Runs the step `name` (or replays it): its output, recorded as JSON. Tried up to `retry`'s
    /// attempts; each attempt is cut off after `timeout`. A failure after the last attempt is
    /// recorded and thrown as ``WorkflowFailure/stepFailed(step:error:)``.
    public func step<Output: Codable & Sendable>(
        _ name: String, retry: StepRetry = StepRetry(), timeout: Duration? = nil, _ body: @escaping @Sendable () async throws -> Output
    ) async throws -> Output {
        try await run(name, retry: retry, timeout: timeout, body)
    }

    /// A step; one that began earlier (an agent step's child) gives when it `began`, and is
    /// announced (`step_started`) only when it did not.
    private func run<Output: Codable & Sendable>(
        _ name: String, retry: StepRetry = StepRetry(), timeout: Duration? = nil, began: Date? = nil, pausable: Bool = true,
        _ body: @escaping @Sendable () async throws -> Output
    ) async throws -> Output {
        let position = next.withLock { $0 }
        if position < recorded.count {
            next.withLock { $0 += 1 }
            return try replay(recorded[position], as: name)
        }
        if pausable, began == nil { try pauseIfRequested(name, at: position) }
        next.withLock { $0 += 1 }
        let started = began ?? Date()
        if began == nil { context.emit("step_started", ["step": .string(name), "position": .int(Int64(position))]) }
        var attempt = 1
        while true {
            let failure: String
            do {
                let output = try await Self.attempt(timeout: timeout, body)
                let json = try Self.encode(output, step: name)
                let step = WorkflowStep(
                    taskID: task.id, position: position, name: name, state: .completed, output: json, attempts: attempt, runID: run.id,
                    startedAt: started, finishedAt: Date())
                guard await context.record(step: step) else { throw CancellationError() }
                completedHere.withLock { $0 += 1 }
                return output
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as WorkflowFailure {
                throw error
            } catch {
                failure = "\(error)"
            }
            guard attempt < retry.maxAttempts else {
                let step = WorkflowStep(
                    taskID: task.id, position: position, name: name, state: .failed, error: failure, attempts: attempt, runID: run.id,
                    startedAt: started, finishedAt: Date())
                guard await context.record(step: step) else { throw CancellationError() }
                throw WorkflowFailure.stepFailed(step: name, error: failure)
            }
            let wait = retry.backoff(after: attempt)
            context.emit("step_retrying", [
                "step": .string(name), "position": .int(Int64(position)), "attempt": .int(Int64(attempt)), "error": .string(failure),
                "retry_in_s": .double(wait),
            ])
            try await Task.sleep(for: .seconds(wait))
            attempt += 1
        }
    }

    /// Sleeps durably: the task waits, with no worker held, until `duration` from the first time
    /// the workflow reached this step, then runs again and goes on past it. A person's `wake`
    /// ends the sleep early. A run that reaches the step again early because the node died
    /// between recording it and the wait waits for the rest.
    public func sleep(for duration: Duration, name: String = "sleep") async throws {
        let until: Date
        let position = next.withLock { $0 }
        if position < recorded.count {
            let seconds: Double = try await step(name) { 0 }
            // Only the last step recorded can still be waited for: a later one means the
            // workflow went on past it. The task waited and was woken: go on, whatever the time.
            if position + 1 < recorded.count || previousOutcome == "waiting" { return }
            until = Date(timeIntervalSince1970: seconds)
        } else {
            let wake = Date().adding(duration)
            _ = try await step(name) { wake.timeIntervalSince1970 }
            until = wake
        }
        if until > Date() { throw WorkflowSuspension.sleep(until: until) }
    }

    /// Waits durably for a person: the task waits (its `waiting_for` shows `question`) until an
    /// input is sent to it (`nightshift input`, `approve`, `reject`, `POST /v1/tasks/{id}/inputs`),
    /// then runs again and this returns the input, recorded as the step's output.
    public func waitForInput(_ question: String, name: String = "input") async throws -> HumanInput {
        let position = next.withLock { $0 }
        if position < recorded.count { return try await step(name) { HumanInput(kind: "", text: nil, sender: "") } }
        let delivered = inputs.withLock { inputs in inputs.isEmpty ? nil : inputs.removeFirst() }
        guard let delivered else {
            try pauseIfRequested(name, at: position)
            throw WorkflowSuspension.input(question: question)
        }
        // Not paused before it is recorded: the input was handed to this run, and only it keeps it.
        return try await run(name, pausable: false) { HumanInput(kind: delivered.kind.rawValue, text: delivered.text, sender: delivered.sender) }
    }

    /// Runs `agent` on `prompt` as a step: the step is a child task of this one (its own runs,
    /// retries, session resume, budget and log), and the workflow task waits for it, holding no
    /// worker. Once the child is done, its result is recorded as the step's output; a child that
    /// ended otherwise fails the step. `timeout` (seconds) and `maxAttempts` are the child's.
    public func agent(
        _ agent: String, prompt: String, name: String? = nil, timeout: Double? = nil, maxAttempts: Int? = nil
    ) async throws -> AgentStepResult {
        let name = name ?? agent
        let position = next.withLock { $0 }
        if position < recorded.count { return try await step(name) { AgentStepResult(taskID: "", result: nil, costUSD: 0) } }
        let label = "nightshift.step.\(position)"
        guard let child = children.last(where: { $0.labels.contains(label) }) else {
            try pauseIfRequested(name, at: position)
            var task = NewTask(agent: agent, prompt: prompt)
            task.labels = [label]
            task.timeout = timeout
            if let maxAttempts { task.retry = RetryPolicy(maxAttempts: maxAttempts) }
            context.emit("step_started", ["step": .string(name), "position": .int(Int64(position)), "agent": .string(agent)])
            context.spawn(task)
            throw WorkflowSuspension.child(step: name, agent: agent)
        }
        guard child.state.isTerminal else { throw WorkflowSuspension.child(step: name, agent: agent) }
        guard child.state == .done else {
            let reason = "agent \(agent) (task \(child.id)) ended \(child.state.rawValue)" + (child.error.map { ": \($0)" } ?? "")
            return try await run(name, began: child.createdAt) { () throws -> AgentStepResult in throw AgentStepFailure(reason: reason) }
        }
        return try await run(name, began: child.createdAt) {
            AgentStepResult(taskID: child.id.rawValue, result: child.result, costUSD: child.costUSD)
        }
    }

    /// The recorded `step`'s result, if it is the step `name`.
    private func replay<Output: Codable & Sendable>(_ step: WorkflowStep, as name: String) throws -> Output {
        guard step.name == name else {
            throw WorkflowFailure.nondeterministic(position: step.position, recorded: step.name, reached: name)
        }
        switch step.state {
        case .completed:
            do {
                return try JSONDecoder().decode(Output.self, from: Data((step.output ?? .null).jsonText.utf8))
            } catch {
                throw WorkflowFailure.output(step: name, type: "\(Output.self)", error: "the recorded output does not decode: \(error)")
            }
        case .failed: throw WorkflowFailure.stepFailed(step: name, error: step.error ?? "failed")
        case .skipped: throw CancellationError()
        }
    }

    /// One attempt, cut off after `timeout` (a `StepTimeout` error).
    private static func attempt<Output: Sendable>(
        timeout: Duration?, _ body: @escaping @Sendable () async throws -> Output
    ) async throws -> Output {
        guard let timeout else { return try await body() }
        return try await withTimeout(timeout, orThrow: StepTimeout(after: timeout), body)
    }

    private static func encode<Output: Encodable>(_ output: Output, step: String) throws -> JSONValue {
        do {
            let data = try JSONEncoder().encode(output)
            return try JSONValue(jsonText: String(decoding: data, as: UTF8.self))
        } catch {
            throw WorkflowFailure.output(step: step, type: "\(Output.self)", error: "\(error)")
        }
    }
}

/// A step's attempt ran past its timeout.
public struct StepTimeout: Error, Sendable, CustomStringConvertible {
    /// The timeout.
    public var after: Duration

    /// "timed out after …".
    public var description: String { "timed out after \(after)" }
}

/// What an agent step returns: its child task's result.
public struct AgentStepResult: Codable, Sendable, Hashable {
    /// The child task's id.
    public var taskID: String
    /// What the agent answered.
    public var result: String?
    /// What the child cost, in USD.
    public var costUSD: Double

    /// Creates a result value.
    public init(taskID: String, result: String?, costUSD: Double) {
        self.taskID = taskID
        self.result = result
        self.costUSD = costUSD
    }

    enum CodingKeys: String, CodingKey {
        case result
        case taskID = "task_id", costUSD = "cost_usd"
    }
}

/// An agent step's child task did not end done.
struct AgentStepFailure: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}
