import Foundation
import Nightshift
import NightshiftSQLite
import NightshiftTestSupport
import Testing

@Suite("Engine: work directories")
struct EngineWorkDirectoryTests {
    /// An engine whose agent leaves a file in its working directory, then succeeds (prompt `ok`),
    /// fails for good (`fail`) or runs until it is stopped (`hang`).
    static func engine(_ store: SQLiteTaskStore, root: URL, keepFailed: Double, sweepEvery: Double = 600) -> Engine {
        Engine(
            store: store,
            runners: RunnerRegistry([ScriptedRunner { request, _ in
                try Data("notes".utf8).write(to: request.workingDirectory.appendingPathComponent("notes.txt"))
                switch request.task.prompt {
                case "fail":
                    return .failed("broken", retryable: false)
                case "hang":
                    try await Task.sleep(for: .seconds(60))
                    return .succeeded(nil)
                default:
                    return .succeeded("ok")
                }
            }]),
            configuration: EngineConfiguration(
                nodeID: "node-test", slots: 4, rescueInterval: 0.1, pollInterval: 60, shutdownGrace: 1, workRoot: root,
                failedWorkdirRetention: keepFailed, workdirSweepInterval: sweepEvery))
    }

    static func freshRoot() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("nightshift-work-\(UUID().uuidString)")
    }

    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    /// Makes `<root>/<path>` with a file in it, as a run would have left it.
    static func leave(_ root: URL, _ path: String) throws {
        let directory = root.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("left".utf8).write(to: directory.appendingPathComponent("file.json"))
    }

    @Test("tasks that end done or cancelled leave no directory; a failed one keeps its working directory")
    func removedAsTasksEnd() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: "scripted"))
        let root = Self.freshRoot()
        let engine = Self.engine(store, root: root, keepFailed: 3600)
        try await withEngine(engine) { engine in
            // Done: the run wrote in its directory (else it would have failed), which is gone after.
            let done = try await engine.submit(NewTask(agent: "agent", prompt: "ok")).task.id
            #expect(try await eventually { try await store.state(of: done) == .done })
            #expect(await eventually { !Self.exists(root.appendingPathComponent(done.rawValue)) })
            #expect(!Self.exists(root.appendingPathComponent(".checkpoints/\(done)")))

            // Cancelled while it runs: removed once the run has stopped.
            let running = try await engine.submit(NewTask(agent: "agent", prompt: "hang")).task.id
            let notes = root.appendingPathComponent("\(running)/notes.txt")
            #expect(await eventually { Self.exists(notes) })
            try await engine.transition(running, .cancel)
            #expect(await eventually { !Self.exists(root.appendingPathComponent(running.rawValue)) })
            #expect(!Self.exists(root.appendingPathComponent(".checkpoints/\(running)")))

            // Cancelled or dropped while queued, with the directories of an earlier attempt: removed at once.
            let later = Date().addingTimeInterval(3600)
            for action in [LifecycleAction.cancel, .drop] {
                let queued = try await engine.submit(NewTask(agent: "agent", prompt: "ok", availableAt: later)).task.id
                try Self.leave(root, queued.rawValue)
                try Self.leave(root, ".checkpoints/\(queued)")
                try await engine.transition(queued, action)
                #expect(!Self.exists(root.appendingPathComponent(queued.rawValue)), "\(action.name)")
                #expect(!Self.exists(root.appendingPathComponent(".checkpoints/\(queued)")), "\(action.name)")
            }

            // Failed: its working directory stays, with what the agent left; its checkpoint
            // directory goes (both are decided in one step, so once that one is gone, so would be the other).
            let failed = try await engine.submit(NewTask(agent: "agent", prompt: "fail")).task.id
            #expect(try await eventually { try await store.state(of: failed) == .error })
            #expect(await eventually { !Self.exists(root.appendingPathComponent(".checkpoints/\(failed)")) })
            #expect(Self.exists(root.appendingPathComponent("\(failed)/notes.txt")))
        }
    }

    @Test("leftovers of ended tasks go at start, a failed task's once past its keep time; a live or unknown task's never")
    func leftoversAtStart() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: "scripted"))
        let root = Self.freshRoot()
        let later = Date().addingTimeInterval(3600)
        // Live tasks first: ids sort by creation, and a sweep goes in id order (see the end).
        let queued = try await store.submit(NewTask(agent: "agent", prompt: "ok", availableAt: later), now: Date()).task.id
        let paused = try await store.submit(NewTask(agent: "agent", prompt: "ok", availableAt: later), now: Date()).task.id
        _ = try await store.transition(paused, .pause, now: Date())
        for live in [queued, paused] {
            try Self.leave(root, live.rawValue)
            try Self.leave(root, ".checkpoints/\(live)")
        }
        try Self.leave(root, ".checkpoints/quarantine")
        try Self.leave(root, "notes")

        // A failed task keeps its directory within the keep time, even in a sweep.
        let keeping = Self.engine(store, root: root, keepFailed: 3600)
        let failed = try await withEngine(keeping) { engine in
            let failed = try await engine.submit(NewTask(agent: "agent", prompt: "fail")).task.id
            #expect(try await eventually { try await store.state(of: failed) == .error })
            #expect(await eventually { !Self.exists(root.appendingPathComponent(".checkpoints/\(failed)")) })
            return failed
        }
        // What an older version or a crash left: the directories of a task that ended and a removal
        // half done; and a directory of a task this store does not know (another store's, say).
        let cancelled = try await store.submit(NewTask(agent: "agent", prompt: "ok", availableAt: later), now: Date()).task.id
        _ = try await store.transition(cancelled, .cancel, now: Date())
        try Self.leave(root, cancelled.rawValue)
        try Self.leave(root, ".checkpoints/\(cancelled)")
        try Self.leave(root, ".removing-1234")
        let unknown = TaskID.generate()
        try Self.leave(root, unknown.rawValue)

        #expect(try await keeping.removeLeftoverDirectories() == 3)
        #expect(Self.exists(root.appendingPathComponent("\(failed)/notes.txt")))
        for gone in [cancelled.rawValue, ".checkpoints/\(cancelled)", ".removing-1234"] {
            #expect(!Self.exists(root.appendingPathComponent(gone)), "\(gone)")
        }

        // Past the keep time (none here), the next start removes it.
        let dropped = try await store.submit(NewTask(agent: "agent", prompt: "ok", availableAt: later), now: Date()).task.id
        _ = try await store.transition(dropped, .drop, now: Date())
        try Self.leave(root, dropped.rawValue)
        try await withEngine(Self.engine(store, root: root, keepFailed: 0)) { _ in
            #expect(await eventually { !Self.exists(root.appendingPathComponent(failed.rawValue)) })
            // The newest id goes last: by then the sweep has judged every other directory.
            #expect(await eventually { !Self.exists(root.appendingPathComponent(dropped.rawValue)) })
        }
        for kept in [
            queued.rawValue, paused.rawValue, ".checkpoints/\(queued)", ".checkpoints/\(paused)", ".checkpoints/quarantine", "notes",
            unknown.rawValue,
        ] {
            #expect(Self.exists(root.appendingPathComponent("\(kept)/file.json")), "\(kept)")
        }
    }

    @Test("a failed task's directory is removed by a periodic sweep once its keep time is over")
    func periodicSweep() async throws {
        let store = try await makeStore(Agent(name: "agent", runner: "scripted"))
        let root = Self.freshRoot()
        try await withEngine(Self.engine(store, root: root, keepFailed: 0.5, sweepEvery: 0.05)) { engine in
            let failed = try await engine.submit(NewTask(agent: "agent", prompt: "fail")).task.id
            #expect(try await eventually { try await store.state(of: failed) == .error })
            let finished = try #require(try await store.task(failed)?.finishedAt)
            #expect(await eventually { !Self.exists(root.appendingPathComponent(failed.rawValue)) })
            #expect(Date().timeIntervalSince(finished) >= 0.5, "not before its keep time")
        }
    }
}
