import Foundation
import Nightshift
import TOMLKit

/// `[workflows.NAME]`: workflows of agent steps (docs/workflows.md). `serve` registers each and
/// an agent NAME of runner `workflow` that its tasks are submitted to (`submit --workflow NAME`).
///
/// ```toml
/// [workflows.fix]
/// steps = [
///   { name = "reproduce", agent = "claude", prompt = "Reproduce: {{input}}" },
///   { name = "fix", agent = "claude", prompt = "Fix it. Repro: {{steps.reproduce.result}}", timeout = "30m", max_attempts = 2 },
/// ]
/// ```
extension NightshiftConfig {
    /// The keys of a step of `[workflows.NAME]`.
    static let workflowStepKeys = ["agent", "max_attempts", "name", "prompt", "timeout"]

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
                steps.append(WorkflowSpec.Step(
                    name: try step.required("name", .string), agent: try step.required("agent", .string),
                    prompt: try step.required("prompt", .string), timeout: try step.value("timeout", .positiveDuration),
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
