import ArgumentParser
import Foundation
import MCP
import Nightshift
import NightshiftRunners

/// `nightshift mcp`: Nightshift's tools for a Claude agent (``NightshiftTools``) as an MCP server
/// on stdio. Claude Code starts it for an agent whose config sets `nightshift_tools = true`.
///
/// It only checks a call's arguments and answers: it holds no credentials and reaches no daemon.
/// The engine acts on the call when it reads the call's result in Claude Code's stream. It exits
/// when stdin closes.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve Nightshift's tools (spawn_subtask, wake_me) to a Claude agent over MCP on stdio.",
        discussion: """
            Claude Code starts this for an agent whose config sets nightshift_tools = true; it is not \
            meant to be run by hand. It reads JSON-RPC on stdin and answers on stdout until stdin closes.
            """)

    func run() async throws {
        let server = Server(
            name: NightshiftTools.serverName, version: NightshiftCommand.version,
            capabilities: .init(tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: try NightshiftTools.tools.map(Self.tool))
        }
        await server.withMethodHandler(CallTool.self) { call in
            try Self.answer(call, now: Date())
        }
        try await server.start(transport: StdioTransport())
        await server.waitUntilCompleted()
    }

    /// A tool as the MCP SDK lists it.
    static func tool(_ tool: NightshiftTools.Tool) throws -> Tool {
        Tool(name: tool.name, description: tool.description, inputSchema: try mcpValue(tool.inputSchema))
    }

    /// The answer to a tool call: its text, flagged as an error when the arguments were refused.
    /// An unknown tool is a protocol error (invalid params), as the MCP specification says.
    static func answer(_ call: CallTool.Parameters, now: Date) throws -> CallTool.Result {
        let arguments = try JSONValue(mcp: call.arguments ?? [:])
        guard let answer = NightshiftTools.answer(tool: call.name, arguments: arguments, now: now) else {
            throw MCPError.invalidParams("Unknown tool: \(call.name)")
        }
        switch answer {
        case .success(let text):
            return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)], isError: false)
        case .failure(let problem):
            return CallTool.Result(
                content: [.text(text: "Not recorded: \(problem). Call the tool again with that fixed.", annotations: nil, _meta: nil)],
                isError: true)
        }
    }

    /// `value` as the SDK's JSON value, through its JSON text.
    static func mcpValue(_ value: JSONValue) throws -> Value {
        try JSONDecoder().decode(Value.self, from: Data(value.jsonText.utf8))
    }
}

extension JSONValue {
    /// The SDK's JSON value as Nightshift's, through its JSON text (so a number reads the same way
    /// it does in Claude Code's stream).
    init(mcp value: some Encodable) throws {
        try self.init(jsonText: String(decoding: try JSONEncoder().encode(value), as: UTF8.self))
    }
}
