import Foundation
import Logging
import Nightshift
import NightshiftRunners
import NightshiftSQLite
import NightshiftTestSupport
import Testing

/// Inputs sent to a running task whose agent takes them live (`input = "live"`): real engines, a
/// real SQLite file, real agent processes.
@Suite("Live input", .timeLimit(.minutes(1)))
struct LiveInputTests {
    /// A command agent that reads its prompt line, says it is ready, then answers the first input
    /// line it reads with a result naming the input's text.
    static let agent = Agent(
        name: "live", runner: .command,
        config: [
            "command": [
                "/bin/sh", "-c",
                #"""
                IFS= read -r prompt
                echo "ready for: $prompt"
                IFS= read -r line
                text=$(printf '%s' "$line" | sed -n 's/.*"text":"\([^"]*\)".*/\1/p')
                echo "{\"type\":\"result\",\"text\":\"got $text\"}"
                """#,
            ],
            "input": "live",
        ])

    /// A fresh SQLite file with the agent.
    static func store() async throws -> SQLiteTaskStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteTaskStore(path: directory.appendingPathComponent("nightshift.db").path)
        try await store.saveAgent(agent)
        return store
    }

    static func engine(_ store: SQLiteTaskStore, heartbeat: Double = 10) -> Engine {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ns-live-\(UUID().uuidString)")
        return Engine(
            store: store, runners: RunnerRegistry([CommandRunner(killGrace: .milliseconds(300))]),
            configuration: EngineConfiguration(heartbeatInterval: heartbeat, pollInterval: 0.05, workRoot: root),
            logger: Logger(label: "test"))
    }

    /// Waits until the task's agent printed its ready line.
    static func ready(_ store: SQLiteTaskStore, _ id: TaskID) async throws -> Bool {
        try await eventually {
            try await store.events(task: id, after: 0, limit: 100).contains { $0.type == "stdout" && $0.data["line"]?.stringValue?.hasPrefix("ready") == true }
        }
    }

    @Test("an input to a running task reaches its agent on stdin at once, marked delivered live, in the same run")
    func sameNode() async throws {
        let store = try await Self.store()
        let engine = Self.engine(store)
        try await withServices([engine], logger: Logger(label: "test")) {
            let id = try await engine.submit(NewTask(agent: "live", prompt: "wait for me")).task.id
            #expect(try await Self.ready(store, id))
            let receipt = try await engine.addInput(NewInput(kind: .message, text: "hello", sender: "alice"), to: id)
            #expect(receipt.task.state == .running)
            #expect(try await eventually { try await store.task(id)?.state == .done })
            let task = try #require(try await store.task(id))
            #expect(task.result == "got hello")
            #expect(task.attempt == 1, "delivered to the run in progress, not by a new one")
            let inbox = try await store.inputs(of: id, workspace: nil)
            #expect(inbox.map(\.delivery) == [.deliveredLive])
            #expect(inbox.first?.runID == (try await store.runs(task: id)).first?.id)
        }
    }

    @Test("an input accepted by another node's engine reaches the run at its node's next heartbeat")
    func otherNode() async throws {
        let store = try await Self.store()
        let path = store.path
        let runner = Self.engine(store, heartbeat: 0.1)
        // Another node on the same database: it accepts the input but does not run the task.
        let other = Self.engine(try SQLiteTaskStore(path: path))
        try await withServices([runner], logger: Logger(label: "test")) {
            let id = try await runner.submit(NewTask(agent: "live", prompt: "wait for me")).task.id
            #expect(try await Self.ready(store, id))
            let receipt = try await other.addInput(NewInput(kind: .message, text: "from afar", sender: "bob"), to: id)
            #expect(receipt.input.delivery == .pending)
            #expect(try await eventually { try await store.task(id)?.state == .done })
            #expect(try await store.task(id)?.result == "got from afar")
            #expect(try await store.inputs(of: id, workspace: nil).map(\.delivery) == [.deliveredLive])
        }
    }
}
