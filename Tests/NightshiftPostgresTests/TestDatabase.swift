import Foundation
import Logging
import Nightshift
import NightshiftPostgres
import Testing

/// The PostgreSQL server the tests use: `NIGHTSHIFT_TEST_POSTGRES_URL` (`./scripts/test` starts one).
enum TestDatabase {
    static let variable = "NIGHTSHIFT_TEST_POSTGRES_URL"
    static let url = ProcessInfo.processInfo.environment[variable]

    /// Whether the tests that need a server run: with a server, or under CI, where a missing one
    /// must fail them rather than skip them.
    static let enabled = url != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// The trait of tests that need a server.
    static var trait: ConditionTrait {
        .enabled(if: enabled, "\(variable) is not set: PostgreSQL tests skipped (./scripts/test starts a server)")
    }

    /// The server's URL, or a clear failure.
    static func requireURL() throws -> String {
        guard let url else {
            throw NightshiftError(.storeUnavailable, "\(variable) is not set and CI=true: PostgreSQL tests cannot run (run ./scripts/test)")
        }
        return url
    }

    /// A fresh schema name, so each test has an empty store.
    static func freshSchema() -> String {
        "ns_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// `count` stores on one fresh schema, each with its own connection pool — as many nodes —
    /// migrated and running while `body` uses them.
    static func withNodes<T: Sendable>(
        _ count: Int, maxQueueDepth: Int? = nil, _ body: @Sendable ([PostgresTaskStore]) async throws -> T
    ) async throws -> T {
        let url = try requireURL()
        let schema = freshSchema()
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
