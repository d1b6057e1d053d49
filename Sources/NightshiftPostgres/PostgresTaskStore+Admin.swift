import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// The value of a server setting (`SHOW name`), such as `synchronous_commit`.
    ///
    /// - Throws: ``NightshiftError`` `invalid_input` for a name that is not a plain identifier.
    public func setting(_ name: String) async throws -> String {
        guard Self.isPlainIdentifier(name) else {
            throw NightshiftError.invalid("name", "expected a setting name (letters, digits, underscores), got '\(name)'")
        }
        return try await autocommit { transaction in
            try await transaction.rows(PostgresQuery(unsafeSQL: "SHOW \(name)")).first.map { try $0[0].decode(String.self) } ?? ""
        }
    }

    /// Drops the store's own schema (``Configuration/schema``) with everything in it: for
    /// benchmarks and tests that made a throwaway store. Refuses a store without a schema of its own.
    public func dropSchema() async throws {
        guard let schema = configuration.schema else {
            throw NightshiftError.invalid("schema", "expected a store with a schema of its own; this one uses the role's default")
        }
        try await autocommit { transaction in
            try await transaction.rows(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"))
        }
    }
}
