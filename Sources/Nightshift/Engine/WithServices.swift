import Logging
import ServiceLifecycle

/// Runs `services` in a service group around `body`, then shuts them down gracefully and waits
/// for them (also when `body` throws). For embedding the engine (and a server) in a program, a
/// test or a benchmark.
public func withServices<T: Sendable>(
    _ services: [any Service], logger: Logger, _ body: () async throws -> T
) async throws -> T {
    let group = ServiceGroup(services: services, gracefulShutdownSignals: [], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let value: T
        do {
            value = try await body()
        } catch {
            await group.triggerGracefulShutdown()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return value
    }
}
