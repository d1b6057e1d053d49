import Foundation
import MCP
import Nightshift

/// The MCP server of the chat tools: an SDK `Server` whose tools are ``ChatTools`` and whose
/// resources are tasks' logs (``ChatTools/Log``), all sent through one ``APIRequestSender``.
/// `nightshift mcp` starts one on stdio; the daemon starts one per `/mcp` session.
public enum ChatMCPServer {
    /// What the server tells a client about itself (clients may show it to the model).
    public static let instructions = """
        Nightshift runs work in the background on agents (Claude Code, Codex, Gemini, scripts) and keeps \
        it durable across restarts. Submit a task with submit_task and go on with the conversation; check \
        on it with task_status or task_events, read what it produced with task_result, answer or approve \
        what it waits for with send_input or approve, stop it with cancel_task.
        """

    /// A server of the chat tools through `api`, not yet started; `version` is Nightshift's.
    public static func make(api: any APIRequestSender, version: String) async -> Server {
        let server = Server(
            name: ChatTools.serverName, version: version, instructions: instructions,
            capabilities: .init(resources: .init(subscribe: false, listChanged: false), tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in
            ListTools.Result(tools: try ChatTools.tools.map(tool))
        }
        await server.withMethodHandler(CallTool.self) { call in
            try await answer(call, api: api)
        }
        await server.withMethodHandler(ListResourceTemplates.self) { _ in
            ListResourceTemplates.Result(templates: [
                Resource.Template(
                    uriTemplate: ChatTools.Log.template, name: "task-log", title: "A task's event log",
                    description: ChatTools.Log.description, mimeType: ChatTools.Log.mimeType)
            ])
        }
        await server.withMethodHandler(ListResources.self) { _ in
            let logs = try await apiCall { try await ChatTools.Log.newest(api: api) }
            return ListResources.Result(resources: logs.map { log in
                Resource(name: log.name, uri: log.uri, description: ChatTools.Log.description, mimeType: ChatTools.Log.mimeType)
            })
        }
        await server.withMethodHandler(ReadResource.self) { read in
            guard let id = ChatTools.Log.taskID(uri: read.uri) else {
                throw MCPError.invalidParams("Unknown resource: \(read.uri) (expected \(ChatTools.Log.template))")
            }
            let text = try await apiCall { try await ChatTools.Log.text(task: id, api: api) }
            return ReadResource.Result(contents: [.text(text, uri: read.uri, mimeType: ChatTools.Log.mimeType)])
        }
        return server
    }

    /// A tool as the SDK lists it.
    static func tool(_ tool: ChatTools.Tool) throws -> Tool {
        Tool(
            name: tool.name, description: tool.description, inputSchema: try mcpValue(tool.inputSchema),
            annotations: .init(readOnlyHint: tool.readOnly, destructiveHint: tool.destructive))
    }

    /// The answer to a tool call: the tool's text (and its JSON as structured content), flagged as
    /// an error when it failed. An unknown tool is a protocol error (invalid params), as the MCP
    /// specification says.
    static func answer(_ call: CallTool.Parameters, api: any APIRequestSender) async throws -> CallTool.Result {
        let arguments = try JSONValue(mcp: call.arguments ?? [:])
        guard let answer = await ChatTools.call(call.name, arguments: arguments, api: api) else {
            throw MCPError.invalidParams("Unknown tool: \(call.name)")
        }
        return CallTool.Result(
            content: [.text(text: answer.text, annotations: nil, _meta: nil)],
            structuredContent: try answer.value.map(mcpValue), isError: answer.isError)
    }

    /// `body`, with an API error as the MCP error a resource read answers: a task that is not found
    /// is "resource not found" (-32002); anything else an internal error with the API's message.
    static func apiCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as NightshiftClient.APIError {
            if error.isNotFound { throw MCPError.serverError(code: -32002, message: "Resource not found: \(error.description)") }
            throw MCPError.internalError(error.description)
        }
    }

    /// `value` as the SDK's JSON value, through its JSON text.
    public static func mcpValue(_ value: JSONValue) throws -> Value {
        try JSONDecoder().decode(Value.self, from: Data(value.jsonText.utf8))
    }
}

extension JSONValue {
    /// The SDK's JSON value as Nightshift's, through its JSON text (so a number reads the same way
    /// it does in Claude Code's stream).
    public init(mcp value: some Encodable) throws {
        try self.init(jsonText: String(decoding: try JSONEncoder().encode(value), as: UTF8.self))
    }
}
