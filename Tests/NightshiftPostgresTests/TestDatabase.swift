import Foundation
import Logging
import Nightshift
import NightshiftPostgres
import NightshiftTestSupport
import Testing

/// Stores on the test server (see `TestPostgres`).
enum TestDatabase {
    /// The trait of tests that need a server.
    static var trait: ConditionTrait { .enabled(if: TestPostgres.enabled, Comment(rawValue: TestPostgres.skipNote)) }

    /// The server's URL, or a clear failure.
    static func requireURL() throws -> String { try TestPostgres.requireURL() }

    /// `count` stores on one fresh schema, each with its own connection pool — as many nodes —
    /// migrated and running while `body` uses them.
    static func withNodes<T: Sendable>(
        _ count: Int, maxQueueDepth: Int? = nil, _ body: @Sendable ([PostgresTaskStore]) async throws -> T
    ) async throws -> T {
        let url = try requireURL()
        let schema = TestPostgres.freshSchema()
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .warning
        let stores = try (0..<count).map { _ in
            try PostgresTaskStore(
                url: url, configuration: .init(maxQueueDepth: maxQueueDepth, schema: schema, maximumConnections: 8), logger: logger)
        }
        for store in stores { try await store.migrate() }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.run() } }
            defer { group.cancelAll() }
            return try await body(stores)
        }
    }
}

/// A fixed time for tests that do not depend on the clock.
let t0 = Date(timeIntervalSince1970: 1_800_000_000)
