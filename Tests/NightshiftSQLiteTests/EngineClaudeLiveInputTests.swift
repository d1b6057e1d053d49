import Foundation
import Logging
import Nightshift
import NightshiftRunners
import NightshiftTestSupport
import Testing

/// A Claude Code agent with `input = "live"` run by a real engine on each store: the fake CLI
/// (Tests/Fixtures/claude) replays `real_stream_input` in stream-json input mode.
@Suite("Engine: live input to Claude Code", .timeLimit(.minutes(2)))
struct EngineClaudeLiveInputTests {
    /// The session id of `real_stream_input`.
    static let session = "5b0e7c3a-91d4-4f2e-a8c6-3d7f1e9b2a04"

    /// Where the fake records what it read, and the variables it gets.
    struct Fake {
        let directory: URL
        var variables: [String: String]

        init(_ variables: [String: String] = [:]) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-claude-live-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            self.variables = variables.merging([
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                "FAKE_CLAUDE_SCENARIO": "real_stream_input", "FAKE_CLAUDE_RECORD_DIR": directory.path,
            ]) { given, _ in given }
        }

        /// The fake `claude`, made executable (a checkout may lose the bit).
        static var path: String {
            let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Fixtures/claude").path
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            return path
        }

        /// The agent: the fake with live input, given the fake's variables.
        var agent: Agent {
            Agent(name: "claude", runner: .claudeCode, config: [
                "executable": .string(Self.path), "input": "live",
                "env": .array(variables.keys.sorted().map { .string($0) }),
            ])
        }

        /// The file `name` the fake wrote, if it is there.
        func read(_ name: String) -> String? {
            try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        }

        /// The user messages the fake's latest process read on stdin, as text.
        func userMessages() throws -> [String?] {
            try (read("stdin") ?? "").split(separator: "\n").map { try JSONValue(jsonText: String($0))["message"]?["content"]?.stringValue }
        }

        /// An engine on `store` running this fake.
        func engine(_ store: any TaskStore) -> Engine {
            Engine(
                store: store, runners: RunnerRegistry(AgentRunners.all(killGrace: .milliseconds(300), environment: variables)),
                configuration: EngineConfiguration(
                    heartbeatInterval: 10, pollInterval: 0.05,
                    workRoot: directory.appendingPathComponent("work")),
                logger: Logger(label: "test"))
        }
    }

    @Test("an input sent to a running Claude task is written to the live agent, delivered_live, and the run ends succeeded", arguments: StoreKind.allCases)
    func deliveredLive(_ kind: StoreKind) async throws {
        // The fake's first turn ends only once a second user line came: the input, while it runs.
        let fake = try Fake(["FAKE_CLAUDE_HOLD_FIRST_RESULT": "1"])
        let store = try await kind.make()
        try await store.saveAgent(fake.agent)
        try await withEngine(fake.engine(store)) { engine in
            let id = try await engine.submit(NewTask(agent: "claude", prompt: "Run sleep 20 && echo SLEEP_DONE")).task.id
            // The fake read its prompt line: the run is live (its inbox opened before the agent started).
            #expect(await eventually { fake.read("stdin")?.hasSuffix("\n") == true })
            let receipt = try await engine.addInput(NewInput(kind: .message, text: "Change of plan: reply STEERED.", sender: "alice"), to: id)
            #expect(receipt.task.state == .running)
            #expect(try await eventually { try await store.task(id)?.state == .done })
            let task = try #require(try await store.task(id))
            #expect(task.result == "STEERED-s1-none")
            #expect(task.attempt == 1, "delivered to the run in progress, not by a new one")
            let runs = try await store.runs(task: id)
            #expect(runs.count == 1)
            let inbox = try await store.inputs(of: id, workspace: nil)
            #expect(inbox.map(\.delivery) == [.deliveredLive])
            #expect(inbox.first?.runID == runs.first?.id)
            #expect(try fake.userMessages() == ["Run sleep 20 && echo SLEEP_DONE", "Change of plan: reply STEERED."])
        }
    }

    @Test("an input sent after the final result (stdin closed) waits, and the next run delivers it by resume, once", arguments: StoreKind.allCases)
    func afterTheFinalResult(_ kind: StoreKind) async throws {
        // Once stdin closed, the fake says so and exits only when the gate file exists.
        var setUp = try Fake()
        let gate = setUp.directory.appendingPathComponent("gate")
        setUp.variables["FAKE_CLAUDE_EXIT_GATE"] = gate.path
        let fake = setUp
        let store = try await kind.make()
        try await store.saveAgent(fake.agent)
        try await withEngine(fake.engine(store)) { engine in
            let id = try await engine.submit(NewTask(agent: "claude", prompt: "Run sleep 20 && echo SLEEP_DONE")).task.id
            #expect(await eventually { fake.read("stdin_closed") != nil })
            #expect(try fake.userMessages() == ["Run sleep 20 && echo SLEEP_DONE"])
            let receipt = try await engine.addInput(NewInput(kind: .message, text: "Now say PROBE-OK.", sender: "alice"), to: id)
            #expect(receipt.task.state == .running, "the agent process is still there")
            #expect(try await store.inputs(of: id, workspace: nil).map(\.delivery) == [.pending], "not taken live: stdin is closed")
            #expect(FileManager.default.createFile(atPath: gate.path, contents: nil))

            #expect(try await eventually(timeout: .seconds(20)) { try await store.task(id)?.state == .done })
            let task = try #require(try await store.task(id))
            #expect(task.attempt == 2, "a second run resumed the session with the input")
            let runs = try await store.runs(task: id)
            #expect(runs.count == 2)
            let inbox = try await store.inputs(of: id, workspace: nil)
            #expect(inbox.map(\.delivery) == [.deliveredResume])
            #expect(inbox.first?.runID == runs.last?.id)
            // The second process: the session resumed, the input its one user message.
            let argv = fake.read("argv")?.split(separator: "\n").map(String.init) ?? []
            #expect(argv.contains("--resume=\(Self.session)"))
            #expect(argv.contains("--input-format=stream-json"))
            #expect(try fake.userMessages() == ["Now say PROBE-OK."])
        }
    }
}
