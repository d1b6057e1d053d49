import Foundation

/// The PostgreSQL server the tests use: `NIGHTSHIFT_TEST_POSTGRES_URL` (`./scripts/test` starts one).
/// Without it the tests that need a server are left out, except with `CI=true`, where they run
/// and fail.
public enum TestPostgres {
    public static let variable = "NIGHTSHIFT_TEST_POSTGRES_URL"
    public static let url = ProcessInfo.processInfo.environment[variable]

    /// Whether the tests that need a server run: with a server, or under CI.
    public static let enabled = url != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// Why they are left out, for a test trait's comment.
    public static let skipNote = "\(variable) is not set: PostgreSQL tests skipped (./scripts/test starts a server)"

    /// The server's URL, or a clear failure (only reached when it is unset and CI=true).
    public static func requireURL() throws -> String {
        guard let url else { throw Missing() }
        return url
    }

    /// A fresh schema name: each test gets an empty store without creating databases.
    public static func freshSchema() -> String {
        "ns_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// The server is needed and missing.
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "\(TestPostgres.variable) is not set and CI=true: PostgreSQL tests cannot run (run ./scripts/test)"
        }
    }
}
