import Foundation
import Nightshift
import NightshiftPostgres
import NightshiftSQLite
import NightshiftTestSupport

/// A fresh store of each kind for the conformance suite.
///
/// PostgreSQL runs when `NIGHTSHIFT_TEST_POSTGRES_URL` names a server (`./scripts/test` starts
/// one); without it its cases are left out with a note, except with `CI=true`, where they run
/// and fail.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    static let allCases: [StoreKind] = {
        if TestPostgres.enabled { return [.sqlite, .postgres] }
        FileHandle.standardError.write(Data("note: \(TestPostgres.skipNote)\n".utf8))
        return [.sqlite]
    }()

    var description: String { rawValue }

    func make(maxQueueDepth: Int? = nil, subtasks: SubtaskLimits = SubtaskLimits()) async throws -> any TaskStore {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SQLiteTaskStore(
                path: directory.appendingPathComponent("nightshift.db").path,
                configuration: .init(maxQueueDepth: maxQueueDepth, subtasks: subtasks))
        case .postgres:
            let store = try PostgresTaskStore(
                url: try TestPostgres.requireURL(),
                configuration: .init(maxQueueDepth: maxQueueDepth, schema: TestPostgres.freshSchema(), maximumConnections: 4, subtasks: subtasks))
            try await store.migrate()
            PostgresPools.run(store)
            return store
        }
    }
}

/// A complete store (both kinds are).
typealias SessionStore = any TaskStore

extension StoreKind {
    /// A fresh store, as a ``SessionStore``.
    func makeSessionStore() async throws -> SessionStore {
        try await make()
    }

    /// `count` stores sharing one fresh database — one SQLite file, one PostgreSQL schema — as
    /// several processes or nodes would.
    func makeShared(_ count: Int) async throws -> [SessionStore] {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-shared-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let file = directory.appendingPathComponent("nightshift.db").path
            return try (0..<count).map { _ in
                try SQLiteTaskStore(path: file, configuration: .init(durability: .normal, busyTimeout: 30))
            }
        case .postgres:
            let url = try TestPostgres.requireURL()
            let schema = TestPostgres.freshSchema()
            var stores: [SessionStore] = []
            for _ in 0..<count {
                let store = try PostgresTaskStore(url: url, configuration: .init(schema: schema, maximumConnections: 4))
                try await store.migrate()
                PostgresPools.run(store)
                stores.append(store)
            }
            return stores
        }
    }
}

/// Runs the connection pools of the stores the tests make, for the rest of the test process:
/// a store made by `StoreKind.make` outlives the call, so its pool cannot run in a task group there.
enum PostgresPools {
    static func run(_ store: PostgresTaskStore) {
        Task { try await store.run() }
    }
}

extension AgentCatalogue {
    /// Saves an agent and returns the store, for fluent set-up.
    func with(_ agents: Agent...) async throws -> Self {
        for agent in agents { try await saveAgent(agent) }
        return self
    }
}

extension TaskLog {
    func allHookEvents() async throws -> [HookEvent] {
        try await hookEvents(after: 0, limit: 100_000)
    }

    func stateEvents(_ task: TaskID) async throws -> [(from: String?, to: String)] {
        try await events(task: task, after: 0, limit: 1000).filter { $0.type == "state" }.map {
            ($0.data["from"]?.stringValue, $0.data["to"]?.stringValue ?? "?")
        }
    }
}

let echoAgent = Agent(name: "echo", runner: .builtin)
let t0 = Date(timeIntervalSince1970: 1_800_000_000)
