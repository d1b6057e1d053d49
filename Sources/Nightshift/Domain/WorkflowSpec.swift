import Foundation

/// A workflow declared without Swift (`[workflows.NAME]` in nightshift.toml): steps run in order,
/// each an agent step, a child task of the workflow task
/// (``WorkflowContext/agent(_:prompt:name:timeout:maxAttempts:)``), or a command step, a command
/// run as a step of the workflow's own run; each prompt and each command argument is a template
/// over the workflow's input and earlier steps' results.
public struct WorkflowSpec: Sendable, Hashable {
    /// One step.
    public struct Step: Sendable, Hashable {
        /// What a step does.
        public enum Action: Sendable, Hashable {
            /// Runs the agent on the prompt, as a child task; its result is the step's.
            case agent(String, prompt: String)
            /// Runs the command (program and arguments); what it prints is the step's result.
            case command([String])
        }

        /// Its name, unique in the workflow.
        public var name: String
        /// What it does. Templates (a prompt, a command's arguments): `{{input}}` is the workflow's
        /// input, `{{steps.NAME.result}}` an earlier step's result.
        public var action: Action
        /// Its timeout, in seconds: the child task's, or each attempt of the command's (10
        /// minutes by default).
        public var timeout: Double?
        /// Its attempts: the child task's, or the command step's (``StepRetry``).
        public var maxAttempts: Int?

        /// An agent step.
        public init(name: String, agent: String, prompt: String, timeout: Double? = nil, maxAttempts: Int? = nil) {
            self.init(name: name, action: .agent(agent, prompt: prompt), timeout: timeout, maxAttempts: maxAttempts)
        }

        /// A command step.
        public init(name: String, command: [String], timeout: Double? = nil, maxAttempts: Int? = nil) {
            self.init(name: name, action: .command(command), timeout: timeout, maxAttempts: maxAttempts)
        }

        /// A step doing `action`.
        public init(name: String, action: Action, timeout: Double?, maxAttempts: Int?) {
            self.name = name
            self.action = action
            self.timeout = timeout
            self.maxAttempts = maxAttempts
        }

        /// Its templates: the prompt, or the command's arguments.
        var templates: [String] {
            switch action {
            case .agent(_, let prompt): [prompt]
            case .command(let arguments): arguments
            }
        }

        /// A command step's timeout when it gives none: 10 minutes.
        public static let defaultCommandTimeout: Double = 600
    }

    /// Runs a command step's command (its arguments rendered) and answers what it printed; throws
    /// when it fails (the error is the step's). The step's timeout cancels it.
    public typealias CommandRunner = @Sendable ([String]) async throws -> String

    /// Its name (the agent its tasks are submitted to).
    public var name: String
    /// The steps, in order.
    public var steps: [Step]

    /// Creates a workflow.
    public init(name: String, steps: [Step]) {
        self.name = name
        self.steps = steps
    }

    /// Checks the names and every template; the error names the workflow, the step and what is
    /// wrong (`field` `workflows.NAME.steps[i]`).
    public func validate() throws(NightshiftError) {
        guard !steps.isEmpty else { throw .invalid("workflows.\(name).steps", "expected at least one step") }
        var earlier: Set<String> = []
        for (index, step) in steps.enumerated() {
            let field = "workflows.\(name).steps[\(index)]"
            guard TextRules.isAgentName(step.name) else {
                throw .invalid(field, "workflow \(name): a step name (\(TextRules.agentNameRule)), got '\(step.name)'")
            }
            guard !earlier.contains(step.name) else { throw .invalid(field, "workflow \(name): step '\(step.name)' is named twice") }
            if case .command(let arguments) = step.action, arguments.first?.isEmpty ?? true {
                throw .invalid(field, "workflow \(name), step \(step.name): expected a command (a program and its arguments)")
            }
            for reference in step.templates.flatMap(Self.references(in:)) {
                switch Reference(reference) {
                case .input?: continue
                case .result(let earlierStep)? where earlier.contains(earlierStep): continue
                case .result?: throw .invalid(field, "workflow \(name), step \(step.name): {{\(reference)}} names no earlier step")
                case nil:
                    throw .invalid(field, "workflow \(name), step \(step.name): unknown reference {{\(reference)}}; expected {{input}} or {{steps.NAME.result}}")
                }
            }
            earlier.insert(step.name)
        }
    }

    /// The workflow's code: each step's templates rendered from the input and the results before
    /// it; agent steps as child tasks, command steps run by `runCommand`. The task's result is the
    /// last step's.
    public func body(runCommand: @escaping CommandRunner) -> WorkflowBody {
        let steps = steps
        return { flow in
            var results: [String: String] = [:]
            var last: String?
            for step in steps {
                let render = { (template: String) in Self.render(template, input: flow.input, results: results) }
                let result: String?
                switch step.action {
                case .agent(let agent, let prompt):
                    result = try await flow.agent(agent, prompt: render(prompt), name: step.name, timeout: step.timeout, maxAttempts: step.maxAttempts)
                        .result
                case .command(let arguments):
                    let command = arguments.map(render)
                    let timeout = Duration.seconds(step.timeout ?? Step.defaultCommandTimeout)
                    result = try await flow.step(step.name, retry: StepRetry(maxAttempts: step.maxAttempts ?? 1), timeout: timeout) {
                        try await runCommand(command)
                    }
                }
                results[step.name] = result ?? ""
                last = result
            }
            return last
        }
    }

    /// What a template's `{{…}}` names.
    enum Reference: Equatable {
        /// `{{input}}`: the workflow's input.
        case input
        /// `{{steps.NAME.result}}`: step NAME's result.
        case result(step: String)

        /// The reference `text` (trimmed) makes; `nil` for any other form.
        init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if parts == ["input"] {
                self = .input
            } else if parts.count == 3, parts[0] == "steps", parts[2] == "result" {
                self = .result(step: parts[1])
            } else {
                return nil
            }
        }
    }

    /// `template` with each `{{…}}` replaced by what `replacement` gives for its trimmed text.
    static func substitute(_ template: String, _ replacement: (String) -> String) -> String {
        var text = ""
        var rest = template[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            text += rest[..<open.lowerBound]
            text += replacement(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return text + rest
    }

    /// The `{{…}}` references of `template`, trimmed, in order.
    static func references(in template: String) -> [String] {
        var found: [String] = []
        _ = substitute(template) { reference in
            found.append(reference)
            return ""
        }
        return found
    }

    /// `template` with `{{input}}` and `{{steps.NAME.result}}` replaced (any other form by nothing).
    public static func render(_ template: String, input: String, results: [String: String]) -> String {
        substitute(template) { reference in
            switch Reference(reference) {
            case .input?: input
            case .result(let step)?: results[step] ?? ""
            case nil: ""
            }
        }
    }
}
