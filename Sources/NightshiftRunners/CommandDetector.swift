import Foundation
import Logging
import Nightshift

/// A work detector that runs a command (`[detectors.NAME]` of nightshift.toml): the command
/// prints one JSON work item per line (`{"key": …, "priority": …, "payload": …}`); the prompt is
/// a template over the item; an optional `process` command gets each finished item's result as
/// JSON on stdin.
public struct CommandDetector: WorkDetector {
    /// The agent that works on the items.
    public var agent: String
    /// The workspace its tasks go to.
    public var workspace: String
    /// The time between scans.
    public var interval: Duration
    /// The scan: a program and its arguments.
    public var command: [String]
    /// The items' prompt: `{{item.key}}`, `{{item.payload.NAME}}` … (``WorkItem/render(_:)``).
    public var prompt: String
    /// What runs once an item's agent is done, with `{"item", "task_id", "result", "cost_usd"}` on
    /// stdin; `nil`: nothing.
    public var process: [String]?
    /// How long the scan or the process command may take.
    public var timeout: Duration

    /// A command detector.
    public init(
        agent: String, command: [String], prompt: String, workspace: String = "default", interval: Duration = .seconds(300),
        process: [String]? = nil, timeout: Duration = .seconds(300)
    ) {
        self.agent = agent
        self.workspace = workspace
        self.interval = interval
        self.command = command
        self.prompt = prompt
        self.process = process
        self.timeout = timeout
    }

    /// Runs the command; each non-empty line of its output is an item. A failed command, or a line
    /// that is not an item, fails the scan naming the line.
    public func detect() async throws -> [WorkItem] {
        var items: [WorkItem] = []
        for (index, line) in try await HelperCommand.run(command, input: nil, timeout: timeout, what: "the scan command").enumerated() {
            let text = line.text.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            let value: JSONValue
            do {
                value = try JSONValue(jsonText: text)
            } catch {
                throw NightshiftError(.invalidInput, "not JSON: \(text.prefix(200))", field: "line \(index + 1) of the scan's output")
            }
            items.append(try WorkItem.parse(value, field: "line \(index + 1)"))
        }
        return items
    }

    /// The prompt template with the item's values.
    public func buildPrompt(for item: WorkItem) -> String {
        item.render(prompt)
    }

    /// Runs the `process` command, if any, with the result as JSON on stdin; a failure throws.
    public func processResult(_ result: DetectedWorkResult) async throws {
        guard let process else { return }
        let input: JSONValue = .object([
            "item": result.item.json, "task_id": .string(result.taskID.rawValue), "result": result.result.map(JSONValue.string) ?? .null,
            "cost_usd": .double(result.costUSD),
        ])
        _ = try await HelperCommand.run(process, input: input.jsonText, timeout: timeout, what: "the process command")
    }
}
