import Foundation
import Logging
import Nightshift
import NightshiftSQLite
import Synchronization

/// Runs `engine` in a service group around `body`, then shuts it down gracefully.
func withEngine<T: Sendable>(_ engine: Engine, _ body: @Sendable (Engine) async throws -> T) async throws -> T {
    try await withServices([engine], logger: Logger(label: "test")) { try await body(engine) }
}

/// A fresh file-backed store with the given agents.
func makeStore(_ agents: Agent...) async throws -> SQLiteTaskStore {
    let store = try await StoreKind.sqlite.make() as! SQLiteTaskStore
    for agent in agents { try await store.saveAgent(agent) }
    return store
}

/// A counter safe to share between handlers.
final class Counter: Sendable {
    private let state = Mutex((current: 0, peak: 0, total: 0))
    func enter() { state.withLock { $0.current += 1; $0.total += 1; $0.peak = max($0.peak, $0.current) } }
    func leave() { state.withLock { $0.current -= 1 } }
    var peak: Int { state.withLock { $0.peak } }
    var total: Int { state.withLock { $0.total } }
}

extension TaskQueries {
    func state(of id: TaskID) async throws -> TaskState? { try await task(id)?.state }
}
