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
        let place: String
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// An empty registry.
    public init() {}

    /// Registers `body` as workflow `name`. Throws `invalid_input` (field `name`) for a bad name,
    /// or for a name registered already, naming both places.
    public func register(_ name: String, file: String = #fileID, line: Int = #line, _ body: @escaping WorkflowBody) throws(NightshiftError) {
        guard TextRules.isAgentName(name) else {
            throw .invalid("name", "expected a workflow name (\(TextRules.agentNameRule)), got '\(name)'")
        }
        let place = "\(file):\(line)"
        let earlier = entries.withLock { entries -> String? in
            if let known = entries[name] { return known.place }
            entries[name] = Entry(body: body, place: place)
            return nil
        }
        if let earlier { throw .invalid("name", "workflow '\(name)' is registered twice: at \(earlier) and at \(place)") }
    }

    /// The workflow `name`, if registered.
    public func workflow(_ name: String) -> WorkflowBody? {
        entries.withLock { $0[name]?.body }
    }

    /// The names registered, sorted.
    public var names: [String] { entries.withLock { $0.keys.sorted() } }
}

/// Runs workflow tasks: an agent of runner kind `workflow` names its workflow by the `workflow`
/// key of its config, else by its own name. Each run runs the workflow from the top; steps the
/// task recorded return their recorded output without running (``WorkflowContext``).
public struct WorkflowRunner: AgentRunner {
    /// The workflows it runs.
    public let registry: WorkflowRegistry

    /// A runner of `registry`'s workflows.
    public init(registry: WorkflowRegistry) {
        self.registry = registry
    }

    /// `workflow`.
    public var kind: RunnerKind { .workflow }

    /// A workflow is in-process code: no working directory is made for it.
    public var needsWorkingDirectory: Bool { false }

    /// A run gets the task's recorded steps, to replay.
    public var replaysSteps: Bool { true }

    /// Runs the workflow. A determinism error, a step that failed for good and an output that
    /// cannot be encoded fail the task (not retried); another error the workflow throws is a
    /// retryable failure, whose retry replays the steps done.
    public func run(_ request: RunRequest, context: RunContext) async throws -> RunOutcome {
        let name = request.agent.config["workflow"]?.stringValue ?? request.agent.name
        guard let body = registry.workflow(name) else {
            return .failed("workflow '\(name)' is not registered on this node", retryable: true)
        }
        let workflow = WorkflowContext(request: request, context: context)
        do {
            return .succeeded(try await body(workflow))
        } catch let failure as WorkflowFailure {
            return .failed(failure.description, retryable: false)
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
    private let context: RunContext
    private let next = Mutex(0)

    init(request: RunRequest, context: RunContext) {
        task = request.task
        run = request.run
        recorded = request.steps
        self.context = context
    }

    /// The workflow's input: the task's prompt.
    public var input: String { task.prompt }

    /// Steps declared so far (reached, in this run or recorded earlier).
    public var stepsReached: Int { next.withLock { max($0, recorded.count) } }

    /// Runs the step `name` (or replays it): its output, recorded as JSON. Tried up to `retry`'s
    /// attempts; each attempt is cut off after `timeout`. A failure after the last attempt is
    /// recorded and thrown as ``WorkflowFailure/stepFailed(step:error:)``.
    public func step<Output: Codable & Sendable>(
        _ name: String, retry: StepRetry = StepRetry(), timeout: Duration? = nil, _ body: @escaping @Sendable () async throws -> Output
    ) async throws -> Output {
        let position = next.withLock { position in
            defer { position += 1 }
            return position
        }
        if position < recorded.count {
            return try replay(recorded[position], as: name)
        }
        let started = Date()
        context.emit("step_started", ["step": .string(name), "position": .int(Int64(position))])
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
        return try await withThrowingTaskGroup(of: Output?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let output = first else { throw StepTimeout(after: timeout) }
            return output
        }
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
