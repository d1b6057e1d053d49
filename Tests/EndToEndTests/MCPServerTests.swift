import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

@Suite("nightshift mcp --run-tools", .timeLimit(.minutes(2)))
struct MCPServerTests {
    /// `Tests/Fixtures/mcp_peer.py`.
    static let peerScript = AgentFixtures.directory.appendingPathComponent("mcp_peer.py").path

    /// Runs `executable arguments` to its end (killed after `timeout`); answers its status and stdout.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> CLIResult {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-mcp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (stdout, stderr) = (directory.appendingPathComponent("out"), directory.appendingPathComponent("err"))
        _ = FileManager.default.createFile(atPath: stdout.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdout)
        process.standardError = try FileHandle(forWritingTo: stderr)
        try ProcessLaunch.run(process)
        let ended = await eventually(timeout: timeout) { !process.isRunning }
        if !ended {
            process.terminate()
            Issue.record("\(executable) \(arguments) did not finish within \(timeout)")
        }
        process.waitUntilExit()
        return CLIResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: stdout, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: stderr, encoding: .utf8)) ?? "")
    }

    @Test(
        "the official Python MCP client lists both tools and calls them: good calls are acknowledged, bad ones are tool errors naming the argument",
        .enabled(if: PythonPeer.enabled, "\(PythonPeer.variable) is not set: the MCP peer test is skipped (./scripts/test sets it)"))
    func pythonPeer() async throws {
        let python = try PythonPeer.require()
        let result = try await Self.run(python, [Self.peerScript, NightshiftBinary.url.path])
        try #require(result.status == 0, "\(result)")
        let report = try JSONValue(jsonText: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))

        #expect(report["server"]?["name"] == "nightshift")
        #expect(report["server"]?["tools_capability"] == true)
        guard case .array(let tools)? = report["tools"] else {
            Issue.record("no tools in \(report)")
            return
        }
        #expect(tools.map { $0["name"] } == ["spawn_subtask", "wake_me"])
        #expect(tools.allSatisfy { $0["type"] == "object" && !($0["description"]?.stringValue?.isEmpty ?? true) })
        #expect(tools.first?["required"] == ["prompt"])
        #expect(tools.first?["properties"] == ["agent", "budget_usd", "labels", "lane", "priority", "prompt"])
        #expect(tools.last?["required"] == [])
        #expect(tools.last?["properties"] == ["at", "minutes", "prompt"])

        guard case .array(let calls)? = report["calls"], calls.count == 7 else {
            Issue.record("not 7 calls in \(report)")
            return
        }
        func text(_ index: Int) -> String { calls[index]["text"]?.stringValue ?? "" }
        // spawn_subtask: recorded; no prompt, or a budget that is no number, refused naming it.
        #expect(calls[0]["is_error"] == false)
        #expect(text(0).hasPrefix("Subtask recorded: Nightshift creates it (on agent reviewer)"), "\(text(0))")
        #expect(calls[1]["is_error"] == true)
        #expect(text(1).contains(#"without a string "prompt""#), "\(text(1))")
        #expect(calls[2]["is_error"] == true)
        #expect(text(2).contains(#""budget_usd""#), "\(text(2))")
        // wake_me: minutes or at; both, or neither, refused naming them.
        #expect(calls[3]["is_error"] == false)
        #expect(text(3).contains(#"with the prompt "check CI again""#) && text(3).hasSuffix("End your turn now."), "\(text(3))")
        #expect(calls[4]["is_error"] == false)
        #expect(text(4).contains("at 2030-01-02T03:04:05Z"), "\(text(4))")
        #expect(calls[5]["is_error"] == true)
        #expect(text(5).contains(#"with both "minutes" and "at""#), "\(text(5))")
        #expect(calls[6]["is_error"] == true)
        #expect(text(6).contains(#"without "minutes""#), "\(text(6))")
        // A tool it does not serve is a protocol error (invalid params), not a tool result.
        #expect(report["unknown_tool"]?["answered"] == false)
        #expect(report["unknown_tool"]?["code"] == -32602)
    }

    @Test("nightshift mcp (both servers) answers on stdout and exits 0 when stdin closes", arguments: [["mcp"], ["mcp", "--run-tools"]])
    func exitsWhenStdinCloses(arguments: [String]) async throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("ns-mcp-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let input = Pipe()
        let process = Process()
        process.executableURL = NightshiftBinary.url
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try ProcessLaunch.run(process)
        defer { if process.isRunning { process.terminate() } }
        let initialize = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#
        try input.fileHandleForWriting.write(contentsOf: Data((initialize + "\n").utf8))
        func answer() -> JSONValue? {
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { try? JSONValue(jsonText: String($0)) }.first
        }
        #expect(await eventually(timeout: .seconds(30)) { answer() != nil }, "no answer to initialize")
        #expect(answer()?["id"] == 1)
        #expect(answer()?["result"]?["serverInfo"]?["name"] == "nightshift")
        #expect(process.isRunning, "it waits for more while stdin is open")

        try input.fileHandleForWriting.close()
        #expect(await eventually(timeout: .seconds(10)) { !process.isRunning }, "still running 10 s after stdin closed")
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
