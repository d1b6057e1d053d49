import ArgumentParser
import Foundation
import MCP
import Nightshift
import NightshiftDaemon
import NightshiftRunners

/// `nightshift mcp`: Nightshift's tools for a chat agent (``ChatTools``: submit background tasks,
/// follow them, answer them, cancel them) as an MCP server on stdio, acting through a running
/// daemon's API with the CLI's URL and token. It exits when stdin closes.
///
/// With `--run-tools`, the other server: the tools of a run (``NightshiftTools``) that Claude Code
/// starts inside a run of an agent whose config sets `nightshift_tools = true`.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve Nightshift's tools to a chat agent (submit_task, task_status, task_result, …) over MCP on stdio.",
        discussion: """
            For an MCP client such as Claude Code (claude mcp add nightshift -- nightshift mcp) or Codex: \
            it reads JSON-RPC on stdin and answers on stdout until stdin closes, and sends each tool's \
            request to the daemon at --url with the token of $NIGHTSHIFT_TOKEN or <home>/token (see \
            docs/mcp.md). --json is ignored.
            """)

    @OptionGroup var options: ClientOptions

    @Flag(help: ArgumentHelp(
        "Serve the tools of a run instead (spawn_subtask, wake_me): what Claude Code starts inside a run of an agent with nightshift_tools = true (not for people).",
        visibility: .hidden))
    var runTools = false

    func run() async throws {
        let server: Server
        if runTools {
            server = Server(
                name: NightshiftTools.serverName, version: NightshiftCommand.version,
                capabilities: .init(tools: .init(listChanged: false)))
            await server.withMethodHandler(ListTools.self) { _ in
                ListTools.Result(tools: try NightshiftTools.tools.map(Self.tool))
            }
            await server.withMethodHandler(CallTool.self) { call in
                try Self.answer(call, now: Date())
            }
        } else {
            server = await ChatMCPServer.make(api: options.client(), version: NightshiftCommand.version)
        }
        try await server.start(transport: StdioTransport())
        await server.waitUntilCompleted()
    }

    /// A tool of a run as the MCP SDK lists it.
    static func tool(_ tool: NightshiftTools.Tool) throws -> Tool {
        Tool(name: tool.name, description: tool.description, inputSchema: try ChatMCPServer.mcpValue(tool.inputSchema))
    }

    /// The answer to a call of a run's tool: its text, flagged as an error when the arguments were
    /// refused. An unknown tool is a protocol error (invalid params), as the MCP specification says.
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
}
