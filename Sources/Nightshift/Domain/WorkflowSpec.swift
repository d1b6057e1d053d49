import Foundation

/// A workflow declared without Swift (`[workflows.NAME]` in nightshift.toml): agent steps run in
/// order, each a child task of the workflow task (``WorkflowContext/agent(_:prompt:name:timeout:maxAttempts:)``),
/// each prompt a template over the workflow's input and earlier steps' results.
public struct WorkflowSpec: Sendable, Hashable {
    /// One step.
    public struct Step: Sendable, Hashable {
        /// Its name, unique in the workflow.
        public var name: String
        /// The agent that runs it.
        public var agent: String
        /// Its prompt: `{{input}}` is the workflow's input, `{{steps.NAME.result}}` an earlier
        /// step's result.
        public var prompt: String
        /// The child task's timeout, in seconds.
        public var timeout: Double?
        /// The child task's attempts.
        public var maxAttempts: Int?

        /// Creates a step.
        public init(name: String, agent: String, prompt: String, timeout: Double? = nil, maxAttempts: Int? = nil) {
            self.name = name
            self.agent = agent
            self.prompt = prompt
            self.timeout = timeout
            self.maxAttempts = maxAttempts
        }
    }

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
            for reference in Self.references(in: step.prompt) {
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

    /// The workflow's code: each step an agent step, its prompt rendered from the input and the
    /// results before it; the task's result is the last step's.
    public var body: WorkflowBody {
        let steps = steps
        return { flow in
            var results: [String: String] = [:]
            var last: String?
            for step in steps {
                let prompt = Self.render(step.prompt, input: flow.input, results: results)
                let done = try await flow.agent(step.agent, prompt: prompt, name: step.name, timeout: step.timeout, maxAttempts: step.maxAttempts)
                results[step.name] = done.result ?? ""
                last = done.result
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
