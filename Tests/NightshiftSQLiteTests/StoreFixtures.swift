import Foundation
import Nightshift
import NightshiftPostgres
import NightshiftSQLite

/// A fresh store of each kind for the conformance suite.
///
/// PostgreSQL runs when `NIGHTSHIFT_TEST_POSTGRES_URL` names a server (`./scripts/test` starts
/// one); without it its cases are left out with a note, except with `CI=true`, where they run
/// and fail.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite
    case postgres

    static let allCases: [StoreKind] = {
        let environment = ProcessInfo.processInfo.environment
        if environment[postgresURLVariable] != nil || environment["CI"] == "true" { return [.sqlite, .postgres] }
        FileHandle.standardError.write(Data(
            "note: \(postgresURLVariable) is not set: the PostgreSQL store cases are skipped (./scripts/test starts a server)\n".utf8))
        return [.sqlite]
    }()

    static let postgresURLVariable = "NIGHTSHIFT_TEST_POSTGRES_URL"

    var description: String { rawValue }

    func make(maxQueueDepth: Int? = nil) async throws -> any TaskStore {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SQLiteTaskStore(
                path: directory.appendingPathComponent("nightshift.db").path,
                configuration: .init(maxQueueDepth: maxQueueDepth))
        case .postgres:
            guard let url = ProcessInfo.processInfo.environment[Self.postgresURLVariable] else {
                throw NightshiftError(
                    .storeUnavailable,
                    "\(Self.postgresURLVariable) is not set and CI=true: the PostgreSQL store cannot be tested (run ./scripts/test)")
            }
            // A schema of its own per test: a fresh store without creating databases.
            let schema = "ns_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            let store = try PostgresTaskStore(
                url: url, configuration: .init(maxQueueDepth: maxQueueDepth, schema: schema, maximumConnections: 4))
            try await store.migrate()
            PostgresPools.run(store)
            return store
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

extension TaskStore {
    /// Saves an agent and returns the store, for fluent set-up.
    func with(_ agents: Agent...) async throws -> Self {
        for agent in agents { try await saveAgent(agent) }
        return self
    }

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
