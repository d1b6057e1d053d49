import Foundation
import Logging
import Nightshift
import NightshiftRunners
import NightshiftTestSupport
import Testing

/// Nightshift's MCP tools through the engine, on every store: the fake Claude Code CLI replays a
/// session that calls `spawn_subtask` and `wake_me`, as a real one would once `nightshift mcp --run-tools`
/// acknowledged the calls.
@Suite("Engine: Nightshift's tools for Claude agents", .timeLimit(.minutes(1)))
struct EngineNightshiftToolsTests {
    /// The fake `claude` of Tests/Fixtures, made executable in case the checkout lost the bit.
    static var fakeClaude: String {
        get throws {
            let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/claude").path
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            return path
        }
    }

    @Test("a Claude agent's spawn_subtask call creates a subtask of its task, and its wake_me call parks the task until that time", arguments: StoreKind.allCases)
    func spawnAndWake(kind: StoreKind) async throws {
        let store = try await kind.make()
        try await store.saveAgent(Agent(
            name: "planner", runner: .claudeCode,
            config: ["executable": .string(try Self.fakeClaude), "env": ["PATH", "FAKE_CLAUDE_SCENARIO"], "nightshift_tools": true]))
        try await store.saveAgent(Agent(name: "reviewer", runner: .command, config: ["command": ["/bin/sh", "-c", "echo no index missing"]]))
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "FAKE_CLAUDE_SCENARIO": "nightshift_tools"]
        let engine = Engine(
            store: store,
            runners: RunnerRegistry(AgentRunners.all(
                killGrace: .seconds(2), environment: environment, nightshiftExecutable: "/opt/nightshift/bin/nightshift")),
            configuration: EngineConfiguration(
                pollInterval: 0.05,
                workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-tools-work-\(UUID().uuidString)")),
            logger: Logger(label: "test"))
        try await withEngine(engine) { engine in
            let before = Date()
            let id = try await engine.submit(NewTask(agent: "planner", prompt: "review the invoice change")).task.id
            #expect(try await eventually { try await store.state(of: id) == .waiting })
            let after = Date()
            let task = try #require(try await store.task(id))
            let log = try await store.events(task: id, after: 0, limit: 200).map { "\($0.type) \($0.data.jsonText)" }
            #expect(task.waitingFor?.kind == .wake, "\(log)")
            let wakeAt = try #require(task.waitingFor?.wakeAt, "\(log)")
            #expect(wakeAt >= before.addingTimeInterval(1800) && wakeAt <= after.addingTimeInterval(1800))
            #expect(try await store.runs(task: id).map(\.outcome) == ["waiting"])
            // The wake's prompt waits in the inbox for the run that resumes the session.
            let inbox = try await store.inputs(of: id, workspace: nil)
            #expect(inbox.map(\.sender) == ["agent"])
            #expect(inbox.first?.text == "Read what the migration review found, then finish the invoice review.")

            // Only the call whose result was not an error made a subtask, with the call's fields.
            let children = try await store.children(of: id, workspace: nil)
            #expect(children.count == 1, "\(log)")
            let child = try #require(children.first)
            #expect(child.parentID == id)
            #expect(child.subtaskDepth == 1)
            #expect(child.agent == "reviewer")
            #expect(child.prompt == "Review Sources/Migrations/0007_invoice_totals.sql: does every new foreign key have an index?")
            #expect(child.labels == ["migration"])
            #expect(child.priority == 3)
            #expect(try await eventually { try await store.task(child.id)?.result == "no index missing" })
        }
    }
}
