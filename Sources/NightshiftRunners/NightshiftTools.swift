import Foundation
import Nightshift

/// Nightshift's own tools for a Claude agent, `spawn_subtask` and `wake_me`: served by
/// `nightshift mcp --run-tools`, the MCP server on stdio that Claude Code starts when the agent's config sets
/// `nightshift_tools = true`.
///
/// The server holds no credentials and changes nothing: it checks a call's arguments and answers
/// (``answer(tool:arguments:now:)``). The engine acts on what it reads in Claude Code's stream:
/// a call whose result is not an error becomes a `spawn` event (a subtask, submitted with the
/// run's write fenced by its lease, as a command agent's `spawn` line) or the run's wake request
/// (see ``ClaudeCodeStreamParser``).
public enum NightshiftTools {
    /// One tool as the MCP server lists it.
    public struct Tool: Sendable, Hashable {
        /// Its name: `spawn_subtask`, `wake_me`.
        public var name: String
        /// What it does, for the model.
        public var description: String
        /// The JSON Schema of its arguments.
        public var inputSchema: JSONValue
    }

    /// What is wrong with a call's arguments, as a sentence naming the argument.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// The sentence.
        public var description: String
    }

    /// The server's name in Claude Code's MCP config: `nightshift`.
    public static let serverName = "nightshift"
    /// `spawn_subtask`: create a subtask of the task.
    public static let spawnSubtask = "spawn_subtask"
    /// `wake_me`: end the run waiting, to resume the session at a time.
    public static let wakeMe = "wake_me"
    /// What Claude Code calls the server's tools: `mcp__nightshift__` and the tool's name.
    public static let claudePrefix = "mcp__\(serverName)__"

    /// Both tools.
    public static let tools = [
        Tool(
            name: spawnSubtask,
            description: """
                Create a subtask of the task you are working on: Nightshift queues it as a separate task \
                (in this task's workspace; unless given, on this task's agent with what is left of this \
                task's budget) when this call completes. The subtask does not see this conversation: its \
                prompt must say everything it needs. It runs on its own; you are not told when it ends.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "prompt": ["type": "string", "description": "What the subtask is to do: its whole prompt."],
                    "agent": ["type": "string", "description": "The Nightshift agent to run it (default: this task's agent)."],
                    "labels": ["type": "array", "items": ["type": "string"], "description": "Labels to find it by."],
                    "priority": ["type": "integer", "minimum": 0, "description": "Its priority: lower runs first (default 0)."],
                    "budget_usd": [
                        "type": "number", "exclusiveMinimum": 0,
                        "description": "The most its runs may spend, in US dollars (default: what is left of this task's budget).",
                    ],
                    "lane": ["type": "string", "description": "The concurrency lane it runs in."],
                ],
                "required": ["prompt"],
            ]),
        Tool(
            name: wakeMe,
            description: """
                Pause the task you are working on and come back to it later: when you end your turn, \
                the task waits, and at the time given Nightshift resumes this session with `prompt`. \
                Give exactly one of `minutes` (from now) or `at`. After calling it, end your turn.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "minutes": ["type": "number", "minimum": 0, "description": "Wake this many minutes from now."],
                    "at": [
                        "type": "string", "format": "date-time",
                        "description": "Wake at this time: RFC 3339 with a time zone, e.g. 2026-05-01T09:00:00Z.",
                    ],
                    "prompt": ["type": "string", "description": "What to continue with when woken."],
                ],
            ]),
    ]

    /// The answer to a call of `tool` with `arguments`, at `now`: what will happen, for the agent;
    /// or, for arguments the engine would refuse, the problem naming the argument (an MCP tool
    /// error: nothing happens). `nil` for a tool that is not one of ``tools``.
    public static func answer(tool: String, arguments: JSONValue, now: Date) -> Result<String, Problem>? {
        switch tool {
        case spawnSubtask: spawnAnswer(arguments)
        case wakeMe: wakeAnswer(arguments, now: now)
        default: nil
        }
    }

    /// A `spawn_subtask` call's subtask, checked as the store will check it.
    static func subtask(_ arguments: JSONValue) -> Result<NewTask, Problem> {
        guard arguments.objectValue != nil else { return .failure(Problem(description: "\(spawnSubtask): arguments expected a JSON object")) }
        var child: NewTask
        switch NewTask.subtask(from: arguments) {
        case .success(let value): child = value
        case .failure(let problem): return .failure(Problem(description: "\(spawnSubtask) called \(problem)"))
        }
        // The store fills in the parent; any id stands for it here, so that the agent may be left out.
        child.parentID = TaskID(trusted: "00000000-0000-0000-0000-000000000000")
        do { try child.validate() } catch {
            return .failure(Problem(description: "\(spawnSubtask) called with a bad \"\(error.field ?? "argument")\": \(error.message)"))
        }
        child.parentID = nil
        return .success(child)
    }

    /// A `wake_me` call's time (from `now`) and prompt.
    static func wake(_ arguments: JSONValue, now: Date) -> Result<(at: Date, prompt: String?), Problem> {
        guard let members = arguments.objectValue else { return .failure(Problem(description: "\(wakeMe): arguments expected a JSON object")) }
        switch WakeTime.request(members, delay: .toolMinutes) {
        case .success(let request): return .success((request.time.date(from: now), request.prompt))
        case .failure(let problem): return .failure(Problem(description: "\(wakeMe) called \(problem)"))
        }
    }

    private static func spawnAnswer(_ arguments: JSONValue) -> Result<String, Problem> {
        subtask(arguments).map { child in
            let agent = child.agent.isEmpty ? "this task's agent" : "agent \(child.agent)"
            return """
                Subtask recorded: Nightshift creates it (on \(agent)) as a subtask of this task once this call \
                completes. It runs on its own; there is no tool to wait for it, so if its result matters, say so \
                in your answer.
                """
        }
    }

    private static func wakeAnswer(_ arguments: JSONValue, now: Date) -> Result<String, Problem> {
        wake(arguments, now: now).map { wake in
            let time = wake.at.formatted(Date.ISO8601FormatStyle())
            let prompt = wake.prompt.map { "with the prompt \"\($0)\"" } ?? "with a note that the wake time has come"
            return """
                Wake recorded: when you end your turn, this task waits, and at \(time) Nightshift resumes this \
                session \(prompt). End your turn now.
                """
        }
    }
}
