import Foundation
import Nightshift
import Testing

/// Memory store behaviours, on every store kind.
@Suite("Memory store")
struct MemoryStoreTests {
    @Test("set, get, list by prefix, delete; each write bumps the version", arguments: StoreKind.allCases)
    func crud(kind: StoreKind) async throws {
        let store = try await kind.makeSessionStore()
        let first = try await store.setMemory(workspace: "default", agent: "coder", key: "repo/layout", summary: "v1", expectedVersion: nil, now: t0)
        #expect(first.version == 1 && first.createdAt == t0 && first.updatedAt == t0)
        let second = try await store.setMemory(workspace: "default", agent: "coder", key: "repo/layout", summary: "v2", expectedVersion: nil, now: t0.addingTimeInterval(5))
        #expect(second.version == 2 && second.createdAt == t0 && second.updatedAt == t0.addingTimeInterval(5))
        #expect(try await store.memory(workspace: "default", agent: "coder", key: "repo/layout") == second)
        #expect(try await store.memory(workspace: "other", agent: "coder", key: "repo/layout") == nil)

        for key in ["repo/tests", "style", "répo/ünïcode", "repo%/x"] {
            _ = try await store.setMemory(workspace: "default", agent: "coder", key: key, summary: key, expectedVersion: nil, now: t0)
        }
        _ = try await store.setMemory(workspace: "default", agent: "reviewer", key: "repo/x", summary: "", expectedVersion: nil, now: t0)
        #expect(try await store.memories(workspace: "default", agent: "coder", prefix: "repo/").map(\.key) == ["repo/layout", "repo/tests"])
        #expect(try await store.memories(workspace: "default", agent: "coder", prefix: "répo/").map(\.key) == ["répo/ünïcode"])
        #expect(try await store.memories(workspace: "default", agent: "coder", prefix: "REPO").isEmpty, "prefixes match case")
        #expect(try await store.memories(workspace: "default", agent: "coder", prefix: nil).count == 5)

        #expect(try await store.deleteMemory(workspace: "default", agent: "coder", key: "style"))
        #expect(try await !store.deleteMemory(workspace: "default", agent: "coder", key: "style"))
        #expect(try await store.memory(workspace: "default", agent: "coder", key: "style") == nil)

        await #expect(throws: NightshiftError.self) {
            try await store.setMemory(workspace: "default", agent: "coder", key: "", summary: "x", expectedVersion: nil, now: t0)
        }
        await #expect(throws: NightshiftError.self) {
            try await store.setMemory(
                workspace: "default", agent: "coder", key: "big", summary: String(repeating: "x", count: 65_537),
                expectedVersion: nil, now: t0)
        }
    }

    @Test("expected_version: a write over a stale version is refused with conflict; 0 creates only", arguments: StoreKind.allCases)
    func compareAndSet(kind: StoreKind) async throws {
        let store = try await kind.makeSessionStore()
        let created = try await store.setMemory(workspace: "w", agent: "a", key: "k", summary: "one", expectedVersion: 0, now: t0)
        #expect(created.version == 1)
        await #expect(throws: NightshiftError(.conflict, "expected version 0 of memory 'k', found version 1", field: "expected_version")) {
            try await store.setMemory(workspace: "w", agent: "a", key: "k", summary: "again", expectedVersion: 0, now: t0)
        }
        #expect(try await store.setMemory(workspace: "w", agent: "a", key: "k", summary: "two", expectedVersion: 1, now: t0).version == 2)
        do {
            _ = try await store.setMemory(workspace: "w", agent: "a", key: "k", summary: "stale", expectedVersion: 1, now: t0)
            Issue.record("a stale version was accepted")
        } catch let error as NightshiftError {
            #expect(error.code == .conflict)
        }
        await #expect(throws: NightshiftError.self) {
            try await store.setMemory(workspace: "w", agent: "a", key: "new", summary: "x", expectedVersion: 3, now: t0)
        }
        #expect(try await store.memory(workspace: "w", agent: "a", key: "k")?.summary == "two")
        #expect(try await store.memory(workspace: "w", agent: "a", key: "new") == nil)
    }

    @Test("updateMemory: nil deletes; a throwing transform writes nothing", arguments: StoreKind.allCases)
    func update(kind: StoreKind) async throws {
        let store = try await kind.makeSessionStore()
        let written = try await store.updateMemory(workspace: "w", agent: "a", key: "k", now: t0) { current in
            #expect(current == nil)
            return "first"
        }
        #expect(written?.version == 1)
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await store.updateMemory(workspace: "w", agent: "a", key: "k", now: t0) { _ in throw Refused() }
        }
        #expect(try await store.memory(workspace: "w", agent: "a", key: "k")?.summary == "first")
        #expect(try await store.updateMemory(workspace: "w", agent: "a", key: "k", now: t0) { _ in nil } == nil)
        #expect(try await store.memory(workspace: "w", agent: "a", key: "k") == nil)
    }

    @Test("read-modify-write is atomic across stores on one database (processes, nodes): concurrent increments lose nothing", arguments: StoreKind.allCases)
    func atomicIncrements(kind: StoreKind) async throws {
        let stores = try await kind.makeShared(4)
        let writersPerStore = 2
        let increments = 50
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores {
                for _ in 0..<writersPerStore {
                    group.addTask {
                        for _ in 0..<increments {
                            _ = try await store.updateMemory(workspace: "w", agent: "a", key: "counter", now: Date()) { current in
                                String((current.flatMap { Int($0.summary) } ?? 0) + 1)
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let total = stores.count * writersPerStore * increments
        let counter = try await stores[0].memory(workspace: "w", agent: "a", key: "counter")
        #expect(counter?.summary == String(total))
        #expect(counter?.version == total)
    }
}
