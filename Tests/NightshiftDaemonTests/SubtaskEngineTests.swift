import Foundation
import Logging
import Nightshift
import NightshiftRunners
import NightshiftSQLite
import NightshiftTestSupport
import Testing

/// Subtasks made by a running agent (line protocol `spawn`), waited for and cancelled: a real
/// engine, a real SQLite file, real agent processes.
@Suite("Subtasks through the engine", .timeLimit(.minutes(1)))
struct SubtaskEngineTests {
    /// A parent that splits its work in two, waits, then checks what its subtasks returned.
    static let parent = Agent(
        name: "parent", runner: .command,
        config: [
            "command": [
                "/bin/sh", "-c",
                #"""
                if [ "$NIGHTSHIFT_ATTEMPT" = 1 ]; then
                  echo '{"type":"spawn","prompt":"count to 2","agent":"child"}'
                  echo '{"type":"spawn","prompt":"count to 3","agent":"child","labels":["part"]}'
                  echo '{"type":"wait_for_children"}'
                  exit 0
                fi
                all=$(cat)
                case "$all" in
                  *"counted: count to 2"*"counted: count to 3"*) echo '{"type":"result","text":"both halves back"}' ;;
                  *) echo "missing children in: $all" >&2; exit 1 ;;
                esac
                """#,
            ],
        ])
    static let child = Agent(
        name: "child", runner: .command,
        config: ["command": ["/bin/sh", "-c", #"echo "{\"type\":\"result\",\"text\":\"counted: $NIGHTSHIFT_PROMPT\"}""#]])
    static let sleeper = Agent(
        name: "sleeper", runner: .command,
        config: ["command": ["/bin/sh", "-c", #"echo '{"type":"spawn","prompt":"sleep","agent":"stuck"}'; echo '{"type":"wait_for_children"}'"#]])
    static let stuck = Agent(name: "stuck", runner: .command, config: ["command": ["/bin/sh", "-c", "echo started; sleep 300"]])

    static func store() async throws -> SQLiteTaskStore {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-subtasks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try SQLiteTaskStore(path: directory.appendingPathComponent("nightshift.db").path)
        for agent in [parent, child, sleeper, stuck] { try await store.saveAgent(agent) }
        return store
    }

    static func engine(_ store: SQLiteTaskStore) -> Engine {
        Engine(
            store: store, runners: RunnerRegistry([CommandRunner(killGrace: .milliseconds(300))]),
            configuration: EngineConfiguration(pollInterval: 0.05, workRoot: FileManager.default.temporaryDirectory.appendingPathComponent("ns-subtasks-work-\(UUID().uuidString)")),
            logger: Logger(label: "test"))
    }

    @Test("an agent spawns two subtasks and waits; when both are done it resumes with their results")
    func spawnAndWait() async throws {
        let store = try await Self.store()
        try await withServices([Self.engine(store)], logger: Logger(label: "test")) {
            let id = try await store.submit(NewTask(agent: "parent", prompt: "split it"), now: Date()).task.id
            #expect(try await eventually { try await store.task(id)?.state == .done })
            let task = try #require(try await store.task(id))
            let log = try await store.events(task: id, after: 0, limit: 100).map(\.data)
            #expect(task.result == "both halves back", "\(log)")
            let children = try await store.children(of: id, workspace: nil)
            #expect(children.map(\.prompt) == ["count to 2", "count to 3"])
            #expect(children.allSatisfy { $0.state == .done && $0.parentID == id && $0.subtaskDepth == 1 })
            #expect(children.last?.labels == ["part"])
            #expect(try await store.runs(task: id).map(\.outcome) == ["waiting", "succeeded"])
        }
    }

    @Test("cancelling a parent stops its running subtask's agent at once")
    func cancelStopsChildren() async throws {
        let store = try await Self.store()
        let engine = Self.engine(store)
        try await withServices([engine], logger: Logger(label: "test")) {
            let id = try await store.submit(NewTask(agent: "sleeper", prompt: "wait on a stuck child"), now: Date()).task.id
            #expect(try await eventually {
                guard let child = try await store.children(of: id, workspace: nil).first else { return false }
                return try await store.events(task: child.id, after: 0, limit: 10).contains { $0.data["line"] == "started" }
            })
            let child = try #require(try await store.children(of: id, workspace: nil).first)
            _ = try await engine.transition(id, .cancel)
            #expect(try await store.task(child.id)?.state == .cancelled)
            #expect(try await eventually(timeout: .seconds(20)) { try await store.runs(task: child.id).last?.finishedAt != nil })
            #expect(try await eventually(timeout: .seconds(20)) { engine.activeRuns().allSatisfy { $0.taskID != child.id } })
        }
    }
}
