import Foundation
import Nightshift
import Subprocess

#if canImport(System)
import System
#else
import SystemPackage
#endif

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
        let output = try await Self.run(command, input: nil, timeout: timeout, what: "the scan command")
        var items: [WorkItem] = []
        for (index, line) in output.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = line.trimmingCharacters(in: .whitespaces)
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
        _ = try await Self.run(process, input: input.jsonText, timeout: timeout, what: "the process command")
    }

    /// Runs `arguments` in its own session, killed with its group after `timeout`; its standard
    /// output, or an error with its exit status and the end of its standard error.
    static func run(_ arguments: [String], input: String?, timeout: Duration, what: String) async throws -> String {
        guard let program = arguments.first else { throw NightshiftError(.invalidInput, "\(what) is empty", field: "command") }
        let command = arguments.joined(separator: " ")
        return try await withTimeout(timeout, orThrow: NightshiftError(.invalidInput, "\(what) \(command) took longer than \(timeout)")) {
            var options = PlatformOptions()
            options.createSession = true
            options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: .milliseconds(500))]
            let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
            let result = try await Subprocess.run(
                executable, arguments: Arguments(Array(arguments.dropFirst())), platformOptions: options,
                input: .string(input ?? ""), output: .string(limit: 16 << 20), error: .string(limit: 64 << 10))
            guard result.terminationStatus.isSuccess else {
                let stderr = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
                throw NightshiftError(.invalidInput, "\(what) \(command) ended \(result.terminationStatus)\(stderr.isEmpty ? "" : ": \(stderr.suffix(500))")")
            }
            return result.standardOutput
        }
    }
}
