import Foundation
import Nightshift
import Testing

/// Checkpoint store behaviours, on every store kind.
@Suite("Checkpoint store")
struct CheckpointStoreTests {
    static let day = 86_400.0

    func checkpoint(
        _ agent: String, _ phase: String, status: CheckpointStatus = .active, updated: Date, task: TaskID? = nil,
        session: String? = nil
    ) -> SessionCheckpoint {
        SessionCheckpoint(
            agent: agent, sessionID: session, taskID: task, phase: phase, status: status,
            createdAt: updated.addingTimeInterval(-60), updatedAt: updated)
    }

    @Test("save assigns a UUIDv7 id; get answers it; saving again by id replaces it and keeps created_at", arguments: StoreKind.allCases)
    func saveAndGet(kind: StoreKind) async throws {
        let store = try await kind.makeSessionStore()
        let saved = try await store.saveCheckpoint(checkpoint("coder", "planning", updated: t0))
        #expect(TaskID(saved.id) != nil)
        #expect(Array(saved.id)[14] == "7")
        #expect(try await store.checkpoint(id: saved.id) == saved)
        #expect(try await store.checkpoint(id: "nope") == nil)

        var changed = saved
        changed.phase = "implementing"
        changed.createdAt = t0.addingTimeInterval(500)
        changed.updatedAt = t0.addingTimeInterval(600)
        changed.progress.tasksCompleted = ["plan"]
        let replaced = try await store.saveCheckpoint(changed)
        #expect(replaced.id == saved.id)
        #expect(replaced.createdAt == saved.createdAt)
        #expect(try await store.checkpoint(id: saved.id) == replaced)
        #expect(try await store.checkpoints(CheckpointQuery(now: t0)).count == 1)

        var future = changed
        future.schemaVersion = 2
        await #expect(throws: NightshiftError.invalid("schema_version", "expected 1, got 2")) { try await store.saveCheckpoint(future) }
    }

    @Test("list filters by agent, status, max age and task, newest first, and leaves archived ones out", arguments: StoreKind.allCases)
    func listFilters(kind: StoreKind) async throws {
        let store = try await kind.makeSessionStore()
        let task = TaskID.generate(at: t0)
        let old = try await store.saveCheckpoint(checkpoint("coder", "old", updated: t0.addingTimeInterval(-10 * Self.day)))
        let recent = try await store.saveCheckpoint(checkpoint("coder", "recent", updated: t0.addingTimeInterval(-3600), task: task))
        let done = try await store.saveCheckpoint(checkpoint("coder", "done", status: .resolved, updated: t0.addingTimeInterval(-60)))
        let other = try await store.saveCheckpoint(checkpoint("reviewer", "other", updated: t0))

        #expect(try await store.checkpoints(CheckpointQuery(now: t0)).map(\.id) == [other.id, done.id, recent.id, old.id])
        #expect(try await store.checkpoints(CheckpointQuery(agent: "coder", now: t0)).map(\.id) == [done.id, recent.id, old.id])
        #expect(try await store.checkpoints(CheckpointQuery(status: .active, now: t0)).map(\.id) == [other.id, recent.id, old.id])
        #expect(try await store.checkpoints(CheckpointQuery(status: .resolved, now: t0)).map(\.id) == [done.id])
        #expect(try await store.checkpoints(CheckpointQuery(maxAge: 7 * Self.day, now: t0)).map(\.id) == [other.id, done.id, recent.id])
        #expect(try await store.checkpoints(CheckpointQuery(maxAge: 120, now: t0)).map(\.id) == [other.id, done.id])
        #expect(try await store.checkpoints(CheckpointQuery(taskID: task, now: t0)).map(\.id) == [recent.id])
        #expect(try await store.checkpoints(CheckpointQuery(agent: "coder", status: .active, maxAge: 2 * Self.day, now: t0)).map(\.id) == [recent.id])
        #expect(try await store.checkpoints(CheckpointQuery(limit: 2, now: t0)).count == 2)
        await #expect(throws: NightshiftError.self) { try await store.checkpoints(CheckpointQuery(limit: 0)) }

        #expect(try await store.cleanupCheckpoints(olderThanDays: 7, now: t0) == 1)
        #expect(try await store.checkpoints(CheckpointQuery(agent: "coder", now: t0)).map(\.id) == [done.id, recent.id])
        let everything = try await store.checkpoints(CheckpointQuery(agent: "coder", includeArchived: true, now: t0))
        #expect(everything.map(\.id) == [done.id, recent.id, old.id])
        #expect(everything.last?.archivedAt == t0)
    }

    @Test("resolve is idempotent; an unknown id is not found", arguments: StoreKind.allCases)
    func resolve(kind: StoreKind) async throws {
        let store = try await kind.makeSessionStore()
        let saved = try await store.saveCheckpoint(checkpoint("coder", "p", updated: t0))
        let resolved = try await store.resolveCheckpoint(id: saved.id, now: t0.addingTimeInterval(30))
        #expect(resolved.status == .resolved)
        #expect(resolved.updatedAt == t0.addingTimeInterval(30))
        let again = try await store.resolveCheckpoint(id: saved.id, now: t0.addingTimeInterval(90))
        #expect(again == resolved)
        #expect(try await store.checkpoint(id: saved.id) == resolved)
        await #expect(throws: NightshiftError(.notFound, "no checkpoint with id nope", field: "id")) {
            try await store.resolveCheckpoint(id: "nope", now: t0)
        }
    }

    @Test("cleanup archives resolved and stale active checkpoints older than N days, not newer ones; N = 0 is refused", arguments: StoreKind.allCases)
    func cleanup(kind: StoreKind) async throws {
        let store = try await kind.makeSessionStore()
        let resolvedOld = try await store.saveCheckpoint(checkpoint("a", "r-old", status: .resolved, updated: t0.addingTimeInterval(-8 * Self.day)))
        let staleActive = try await store.saveCheckpoint(checkpoint("a", "stale", updated: t0.addingTimeInterval(-30 * Self.day)))
        let resolvedNew = try await store.saveCheckpoint(checkpoint("a", "r-new", status: .resolved, updated: t0.addingTimeInterval(-6 * Self.day)))
        let activeNew = try await store.saveCheckpoint(checkpoint("a", "fresh", updated: t0.addingTimeInterval(-Self.day)))

        await #expect(throws: NightshiftError.invalid("days", "expected a number of days ≥ 1, got 0")) {
            try await store.cleanupCheckpoints(olderThanDays: 0, now: t0)
        }
        #expect(try await store.cleanupCheckpoints(olderThanDays: 7, now: t0) == 2)
        for id in [resolvedOld.id, staleActive.id] { #expect(try await store.checkpoint(id: id)?.archivedAt == t0) }
        for id in [resolvedNew.id, activeNew.id] { #expect(try await store.checkpoint(id: id)?.archivedAt == nil) }
        #expect(try await store.cleanupCheckpoints(olderThanDays: 7, now: t0) == 0, "archived ones are not archived twice")
        #expect(try await store.cleanupCheckpoints(olderThanDays: 1, now: t0) == 1, "the resolved one of six days ago")
        #expect(try await store.checkpoints(CheckpointQuery(now: t0)).map(\.id) == [activeNew.id])
    }

    @Test("the latest active checkpoint matches the task or the session, newest first", arguments: StoreKind.allCases)
    func latestActive(kind: StoreKind) async throws {
        let store = try await kind.makeSessionStore()
        let task = TaskID.generate(at: t0)
        let byTask = try await store.saveCheckpoint(checkpoint("coder", "t", updated: t0.addingTimeInterval(-100), task: task))
        let bySession = try await store.saveCheckpoint(checkpoint("coder", "s", updated: t0.addingTimeInterval(-50), session: "s-1"))
        _ = try await store.saveCheckpoint(checkpoint("coder", "resolved", status: .resolved, updated: t0, task: task))
        _ = try await store.saveCheckpoint(checkpoint("reviewer", "other agent", updated: t0, task: task))

        #expect(try await store.latestActiveCheckpoint(agent: "coder", taskID: task, sessionID: nil) == byTask)
        #expect(try await store.latestActiveCheckpoint(agent: "coder", taskID: nil, sessionID: "s-1") == bySession)
        #expect(try await store.latestActiveCheckpoint(agent: "coder", taskID: task, sessionID: "s-1") == bySession)
        #expect(try await store.latestActiveCheckpoint(agent: "coder", taskID: nil, sessionID: nil) == bySession)
        #expect(try await store.latestActiveCheckpoint(agent: "coder", taskID: TaskID.generate(), sessionID: "s-9") == nil)
        _ = try await store.resolveCheckpoint(id: bySession.id, now: t0)
        #expect(try await store.latestActiveCheckpoint(agent: "coder", taskID: task, sessionID: "s-1") == byTask)
    }

    @Test("quarantined files are recorded and listed, most recent first", arguments: StoreKind.allCases)
    func quarantine(kind: StoreKind) async throws {
        let store = try await kind.makeSessionStore()
        let task = TaskID.generate(at: t0)
        let first = QuarantinedCheckpoint(fileName: "a.json", quarantinedPath: "/q/a.json", error: "malformed JSON", agent: "coder", taskID: task, time: t0)
        let second = QuarantinedCheckpoint(fileName: "b.json", quarantinedPath: "/q/b.json", error: "schema_version: expected 1, got 2", agent: "coder", taskID: nil, time: t0.addingTimeInterval(1))
        try await store.recordQuarantined(first)
        try await store.recordQuarantined(second)
        #expect(try await store.quarantinedCheckpoints(limit: 10) == [second, first])
        #expect(try await store.quarantinedCheckpoints(limit: 1) == [second])
    }
}
