import Nightshift

/// The tools a chat agent gets from Nightshift's MCP server (`nightshift mcp` on stdio, `/mcp` on
/// the daemon): submit background tasks, follow them, read their results and logs, answer and
/// approve what they wait for, cancel them.
///
/// Every tool is a request of the HTTP API sent through an ``APIRequestSender``: over the network
/// with the CLI's token (stdio), or through the daemon's own router with the caller's token
/// (`/mcp`). Their answers and refusals are the API's: a 404, 409 or 422 is a tool error carrying
/// the API's message. Arguments are checked first against the tool's schema, so a wrong type is a
/// tool error naming the argument (``ChatToolArgument``).
public enum ChatTools {
    /// The server's name: `nightshift`.
    public static let serverName = "nightshift"

    /// Why a call was refused before it reached the API, as a sentence naming the argument.
    public struct Problem: Error, Sendable, Hashable, CustomStringConvertible {
        /// The sentence.
        public var description: String

        /// A problem described by `description`.
        public init(_ description: String) {
            self.description = description
        }
    }

    /// One tool.
    public struct Tool: Sendable {
        /// Its name, e.g. `submit_task`.
        public var name: String
        /// What it does and when to use it, for the model.
        public var description: String
        /// Its arguments.
        public var arguments: [ChatToolArgument]
        /// Whether it only reads (MCP's `readOnlyHint`).
        public var readOnly: Bool
        /// Whether it ends something that cannot be resumed (MCP's `destructiveHint`).
        public var destructive: Bool
        /// Sends the call's API request(s); answers what the tool returns.
        let perform: @Sendable (Call, any APIRequestSender) async throws -> JSONValue

        /// The JSON Schema of its arguments.
        public var inputSchema: JSONValue { ChatToolArgument.schema(of: arguments) }
    }

    /// A call's arguments, checked against its tool's.
    struct Call: Sendable {
        let arguments: [String: JSONValue]

        /// The argument `name`; nil when absent or `null`.
        func value(_ name: String) -> JSONValue? {
            guard let value = arguments[name], value != .null else { return nil }
            return value
        }

        /// The string argument `name`.
        func string(_ name: String) -> String? { value(name)?.stringValue }

        /// The integer argument `name`.
        func integer(_ name: String) -> Int64? { value(name).flatMap(ChatToolArgument.Kind.integer) }
    }

    /// What a call answers: its text (JSON for a success), the same value for a client that reads
    /// structured content, and whether it is a tool error.
    public struct Answer: Sendable, Hashable {
        /// The text for the model.
        public var text: String
        /// The answer as JSON (nil for an error).
        public var value: JSONValue?
        /// Whether the call failed: its arguments were refused or the API answered an error.
        public var isError: Bool

        /// A success answering `value`.
        static func success(_ value: JSONValue) -> Answer {
            Answer(text: value.jsonText, value: value, isError: false)
        }

        /// A tool error saying `text`.
        static func failure(_ text: String) -> Answer {
            Answer(text: text, value: nil, isError: true)
        }
    }

    /// The tool named `name`, if there is one.
    public static func tool(named name: String) -> Tool? {
        tools.first { $0.name == name }
    }

    /// The answer to a call of the tool `name` with `arguments`, through `api`; nil for a tool that
    /// is not one of ``tools`` (a protocol error for the server to answer).
    public static func call(_ name: String, arguments: JSONValue, api: any APIRequestSender) async -> Answer? {
        guard let tool = tool(named: name) else { return nil }
        if let problem = ChatToolArgument.check(arguments, against: tool.arguments) {
            return .failure("\(name) not called: \(problem). Call it again with that fixed.")
        }
        do {
            return .success(try await tool.perform(Call(arguments: arguments.objectValue ?? [:]), api))
        } catch let error as NightshiftClient.APIError {
            return .failure(error.description)
        } catch {
            return .failure("\(error)")
        }
    }
}
