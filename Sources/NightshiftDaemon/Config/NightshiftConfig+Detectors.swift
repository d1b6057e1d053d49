import Foundation
import Nightshift
import TOMLKit

/// `[detectors.NAME]`: work detectors that run a command (docs/workflows.md). `serve` registers
/// each; its items' tasks go to an agent of its name, which runs `agent` on each and then the
/// `process` command, if any.
///
/// ```toml
/// [detectors.todo]
/// command = ["sh", "-c", "grep -n TODO -r src | jq -Rc '{key: ., payload: {line: .}}'"]
/// agent = "claude"
/// prompt = "Resolve this TODO: {{item.payload.line}}"
/// every = "10m"
/// process = ["sh", "-c", "cat >> resolved.jsonl"]
/// ```
public struct DetectorSpec: Sendable, Hashable {
    /// Its name (and its item tasks' agent's).
    public var name: String
    /// The agent that works on the items.
    public var agent: String
    /// The scan command.
    public var command: [String]
    /// The items' prompt template.
    public var prompt: String
    /// Seconds between scans (`every`, default 5 minutes).
    public var every: Double
    /// The command that gets each result on stdin, if any.
    public var process: [String]?
    /// Seconds the scan or the process command may take (`timeout`, default 5 minutes).
    public var timeout: Double

    /// Creates a detector's spec.
    public init(name: String, agent: String, command: [String], prompt: String, every: Double = 300, process: [String]? = nil, timeout: Double = 300) {
        self.name = name
        self.agent = agent
        self.command = command
        self.prompt = prompt
        self.every = every
        self.process = process
        self.timeout = timeout
    }
}

extension NightshiftConfig {
    /// The keys of `[detectors.NAME]`.
    static let detectorKeys = ["agent", "command", "every", "process", "prompt", "timeout"]

    /// The detectors of `[detectors]`, sorted by name; an error names `detectors.NAME.KEY`, and a
    /// bad template the detector and the reference.
    static func detectors(_ section: TOMLSection?, agents: [Agent], workflows: [WorkflowSpec]) throws(NightshiftError) -> [DetectorSpec] {
        var detectors: [DetectorSpec] = []
        for (name, table) in try section?.sections() ?? [] {
            try table.checkKeys(detectorKeys)
            guard TextRules.isAgentName(name) else {
                throw table.error(key: "detectors.\(name)", "expected a detector name (\(TextRules.agentNameRule))")
            }
            if agents.contains(where: { $0.name == name }) || workflows.contains(where: { $0.name == name }) {
                throw table.error(
                    key: "detectors.\(name)", "an agent or workflow has this name already: a detector's tasks go to an agent of its name")
            }
            let prompt = try table.required("prompt", .string)
            if let unknown = WorkItem.unknownReferences(in: prompt).first {
                throw table.error(
                    key: "detectors.\(name).prompt",
                    "unknown reference {{\(unknown)}} (expected item.key, item.priority, item.payload or item.payload.NAME)")
            }
            detectors.append(DetectorSpec(
                name: name, agent: try table.required("agent", .string), command: try table.required("command", .nonEmptyStrings),
                prompt: prompt, every: try table.value("every", .positiveDuration) ?? 300,
                process: try table.value("process", .nonEmptyStrings), timeout: try table.value("timeout", .positiveDuration) ?? 300))
        }
        return detectors
    }
}
