import Foundation
import Nightshift
import TOMLKit

/// `[workflows.NAME]`: workflows of agent and command steps (docs/workflows.md). `serve`
/// registers each and an agent NAME of runner `workflow` that its tasks are submitted to
/// (`submit --workflow NAME`).
///
/// ```toml
/// [workflows.fix]
/// steps = [
///   { name = "reproduce", agent = "claude", prompt = "Reproduce: {{input}}" },
///   { name = "fix", agent = "claude", prompt = "Fix it. Repro: {{steps.reproduce.result}}", timeout = "30m", max_attempts = 2 },
///   { name = "test", command = ["swift", "test"], timeout = "20m" },
/// ]
/// ```
extension NightshiftConfig {
    /// The keys of a step of `[workflows.NAME]`.
    static let workflowStepKeys = ["agent", "command", "max_attempts", "name", "prompt", "timeout"]

    /// The workflows of `[workflows]`, sorted by name, each checked; an error names
    /// `workflows.NAME.steps[i].KEY`, and a bad template the workflow, the step and the reference.
    static func workflows(_ section: TOMLSection?, agents: [Agent]) throws(NightshiftError) -> [WorkflowSpec] {
        var workflows: [WorkflowSpec] = []
        for (name, table) in try section?.sections() ?? [] {
            try table.checkKeys(["steps"])
            guard TextRules.isAgentName(name) else {
                throw table.error(key: "workflows.\(name)", "expected a workflow name (\(TextRules.agentNameRule))")
            }
            if agents.contains(where: { $0.name == name }) {
                throw table.error(key: "workflows.\(name)", "an agent has this name already (agents.\(name)): a workflow's tasks go to an agent of its name")
            }
            let items = try table.required("steps", .tables)
            var steps: [WorkflowSpec.Step] = []
            for (index, item) in items.enumerated() {
                let step = TOMLSection(path: table.path, key: "workflows.\(name).steps[\(index)]", table: item)
                try step.checkKeys(workflowStepKeys)
                let action: WorkflowSpec.Step.Action
                if let command = try step.value("command", .strings) {
                    // A command step has no agent and no prompt.
                    for key in ["agent", "prompt"] where step.table[key] != nil {
                        throw step.error(key: step.key(key), "a command step has no \(key): give either agent and prompt, or command")
                    }
                    action = .command(command)
                } else {
                    action = .agent(try step.required("agent", .string), prompt: try step.required("prompt", .string))
                }
                steps.append(WorkflowSpec.Step(
                    name: try step.required("name", .string), action: action, timeout: try step.value("timeout", .positiveDuration),
                    maxAttempts: try step.value("max_attempts", .positiveInteger)))
            }
            let workflow = WorkflowSpec(name: name, steps: steps)
            do {
                try workflow.validate()
            } catch {
                throw NightshiftError(.invalidInput, "\(table.path): \(error.field ?? "workflows.\(name)"): \(error.message)", field: error.field)
            }
            workflows.append(workflow)
        }
        return workflows
    }
}

extension Expected<[TOMLTable]> {
    /// An array of tables (inline or not).
    static var tables: Self {
        Self(description: "an array of tables") { value in
            guard let array = value.array else { return nil }
            let tables = array.compactMap(\.table)
            return tables.count == array.count ? tables : nil
        }
    }
}
