import Foundation

/// The budget rule the stores and the engine all apply: no more runs once a task's runs have cost
/// its budget, or once its agent has spent the agent's budget; no more submits to a spent agent.
public enum Budget {
    /// Why no more may be spent — the task's budget first, then the agent's — or `nil`.
    public static func exceeded(
        agent: String, taskSpent: Double, taskBudget: Double?, agentSpent: Double, agentBudget: Double?
    ) -> String? {
        if let taskBudget, taskSpent >= taskBudget {
            return "budget exceeded: the task's runs cost $\(dollars(taskSpent)) of its $\(dollars(taskBudget)) budget"
        }
        if let agentBudget, agentSpent >= agentBudget {
            return agentSpentMessage(agent, spent: agentSpent, budget: agentBudget)
        }
        return nil
    }

    /// The error refusing a submit to `agent` when it has spent its budget, or `nil`.
    public static func submitRefusal(agent: String, spent: Double, budget: Double?) -> NightshiftError? {
        guard let budget, spent >= budget else { return nil }
        return NightshiftError(.budgetExceeded, agentSpentMessage(agent, spent: spent, budget: budget), field: "agent")
    }

    private static func agentSpentMessage(_ agent: String, spent: Double, budget: Double) -> String {
        "budget exceeded: agent \(agent) has spent $\(dollars(spent)) of its $\(dollars(budget)) budget"
    }

    /// Dollars with up to four decimals and no trailing zeros: `0.6`, `1.2345`, `3`.
    public static func dollars(_ value: Double) -> String {
        String(format: "%.4f", value).replacingOccurrences(of: #"\.?0+$"#, with: "", options: .regularExpression)
    }
}
