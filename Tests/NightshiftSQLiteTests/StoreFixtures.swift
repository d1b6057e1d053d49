import Foundation
import Nightshift
import NightshiftSQLite

/// A fresh store of each kind for the conformance suite. PostgreSQL joins this list with its store.
enum StoreKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case sqlite

    var description: String { rawValue }

    func make(maxQueueDepth: Int? = nil) throws -> any TaskStore {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SQLiteTaskStore(
                path: directory.appendingPathComponent("nightshift.db").path,
                configuration: .init(maxQueueDepth: maxQueueDepth))
        }
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
