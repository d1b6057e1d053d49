import Foundation

/// How deep subtasks may nest and how many one task may have: a submit beyond either is refused
/// naming the limit.
public struct SubtaskLimits: Sendable, Hashable {
    /// The deepest a subtask may be: a top-level task is at depth 0, its children at 1 …
    public var maxDepth: Int
    /// The most children one task may have.
    public var maxChildren: Int

    /// Limits; by default 5 levels and 100 children.
    public init(maxDepth: Int = 5, maxChildren: Int = 100) {
        self.maxDepth = maxDepth
        self.maxChildren = maxChildren
    }
}

extension NewTask {
    /// A subtask as an agent asks for one (a line protocol `spawn` line's members, a
    /// `spawn_subtask` tool call's arguments): `prompt` (required), and optionally `agent`,
    /// `labels`, `priority`, `budget_usd`, `lane`. The failure says what is wrong
    /// ("without a string \"prompt\"", …).
    public static func subtask(from data: JSONValue) -> Result<NewTask, SubtaskRequestProblem> {
        guard let prompt = data["prompt"]?.stringValue else { return .failure(.init("without a string \"prompt\"")) }
        var child = NewTask(agent: "", prompt: prompt)
        if let agent = data["agent"] {
            guard let name = agent.stringValue else { return .failure(.init("with an \"agent\" that is not a string")) }
            child.agent = name
        }
        if let labels = data["labels"] {
            guard case .array(let items) = labels, items.allSatisfy({ $0.stringValue != nil }) else {
                return .failure(.init("with \"labels\" that are not an array of strings"))
            }
            child.labels = items.compactMap(\.stringValue)
        }
        if let priority = data["priority"] {
            guard case .int(let number) = priority else { return .failure(.init("with a \"priority\" that is not an integer")) }
            child.priority = Int(number)
        }
        if let budget = data["budget_usd"] {
            guard let number = budget.doubleValue else { return .failure(.init("with a \"budget_usd\" that is not a number")) }
            child.budgetUSD = number
        }
        if let lane = data["lane"] {
            guard let name = lane.stringValue else { return .failure(.init("with a \"lane\" that is not a string")) }
            child.lane = name
        }
        return .success(child)
    }
}

/// What is wrong with a subtask request, as a phrase ("without a string \"prompt\"").
public struct SubtaskRequestProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The phrase.
    public var description: String

    /// Creates the problem.
    public init(_ description: String) {
        self.description = description
    }
}

/// What a parent that waited for its children is told when they have all ended.
public enum SubtaskSummary {
    /// The most characters of a child's result or error quoted.
    public static let quoteLimit = 2000

    /// The prompt a parent resumes with: each child's id, agent, prompt's first line, state and
    /// result (or error), in the order they were created.
    public static func text(_ children: [AgentTask]) -> String {
        var lines = ["Your \(children.count) subtask\(children.count == 1 ? "" : "s") ended:"]
        for child in children.sorted(by: { $0.id < $1.id }) {
            let title = child.prompt.split(separator: "\n", omittingEmptySubsequences: true).first.map(String.init) ?? ""
            lines.append("- \(child.id) (\(child.agent)) \(child.state.rawValue): \(title.prefix(200))")
            if let result = child.result, !result.isEmpty { lines.append("  result: \(result.prefix(quoteLimit))") }
            if let error = child.error, !error.isEmpty, child.state != .done { lines.append("  error: \(error.prefix(quoteLimit))") }
        }
        return lines.joined(separator: "\n")
    }
}
