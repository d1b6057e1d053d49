/// Runs tasks in-process with Swift closures: for library users and benchmarks.
///
/// A `builtin` agent picks its handler by the `handler` key of its config, else by its name.
public struct BuiltinRunner: AgentRunner {
    /// A handler: does the work and returns the outcome.
    public typealias Handler = @Sendable (RunRequest, RunContext) async throws -> RunOutcome

    private let handlers: [String: Handler]

    /// A runner with these handlers, by name.
    public init(handlers: [String: Handler]) {
        self.handlers = handlers
    }

    /// `builtin`.
    public var kind: RunnerKind { .builtin }

    /// Whether the agent's config asks for live input (`input = "live"`): its handler then reads
    /// ``RunContext/liveInputs``.
    public func takesLiveInput(_ agent: Agent) -> Bool {
        agent.config["input"]?.stringValue == "live"
    }

    /// In-process handlers get no working directory made for them.
    public var needsWorkingDirectory: Bool { false }

    /// Calls the agent's handler; an unknown handler is a non-retryable failure.
    public func run(_ request: RunRequest, context: RunContext) async throws -> RunOutcome {
        let name = request.agent.config["handler"]?.stringValue ?? request.agent.name
        guard let handler = handlers[name] else {
            return .failed("no builtin handler named '\(name)'", retryable: false)
        }
        return try await handler(request, context)
    }
}
