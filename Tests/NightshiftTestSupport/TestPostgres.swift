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
        guard let url else { throw Missing(variable: variable) }
        return url
    }

    /// The directory of the server's Unix-domain socket: `NIGHTSHIFT_TEST_POSTGRES_SOCKET_DIR`
    /// (`./scripts/test` sets it), or a clear failure.
    public static func requireSocketDirectory() throws -> String {
        guard let directory = ProcessInfo.processInfo.environment[socketVariable] else { throw Missing(variable: socketVariable) }
        return directory
    }

    /// The variable naming the socket's directory.
    public static let socketVariable = "NIGHTSHIFT_TEST_POSTGRES_SOCKET_DIR"

    /// A fresh schema name: each test gets an empty store without creating databases.
    public static func freshSchema() -> String {
        "ns_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    /// The server is needed and missing.
    public struct Missing: Error, CustomStringConvertible {
        /// The variable that is not set.
        public var variable: String

        public var description: String {
            "\(variable) is not set and CI=true: PostgreSQL tests cannot run (run ./scripts/test)"
        }
    }
}
