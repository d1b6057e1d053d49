import Foundation
import Nightshift

/// Where a PostgreSQL database is and who connects to it, parsed from
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=NAME]`.
///
/// The password comes from the URL, else from `PGPASSWORD`. ``description`` never shows it.
/// `schema` puts the store's tables in a schema of their own (several stores in one database).
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    /// The server's host name or address.
    public var host: String
    /// The server's port; 5432 by default.
    public var port: Int
    /// The role to connect as.
    public var username: String
    /// The role's password, if any.
    public var password: String?
    /// The database name.
    public var database: String
    /// The schema that holds the store's tables, from `?schema=`; `nil` for the role's default.
    public var schema: String?

    /// Creates a URL from its parts.
    public init(host: String, port: Int = 5432, username: String, password: String? = nil, database: String, schema: String? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
    }

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=NAME]` (or `postgresql://`); a
    /// missing password is taken from `environment["PGPASSWORD"]`.
    ///
    /// - Throws: ``NightshiftError`` `invalid_input` naming what is missing (never the password).
    public init(parsing text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(NightshiftError) {
        let expected = "expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=NAME]"
        guard let components = URLComponents(string: text),
              let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql"
        else {
            throw NightshiftError.invalid("store", "\(expected), got a URL that does not start with postgres://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw NightshiftError.invalid("store", "\(expected): the host is missing")
        }
        guard let user = components.user, !user.isEmpty else {
            throw NightshiftError.invalid("store", "\(expected): the user is missing")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw NightshiftError.invalid("store", "\(expected): the database name is missing")
        }
        var schema: String?
        for item in components.queryItems ?? [] {
            guard item.name == "schema", let value = item.value, !value.isEmpty else {
                throw NightshiftError.invalid("store", "\(expected): unknown URL parameter '\(item.name)' (only schema=NAME)")
            }
            schema = value
        }
        self.schema = schema
        self.host = host
        self.port = components.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 } ?? environment["PGPASSWORD"]
        self.database = database.removingPercentEncoding ?? database
    }

    /// `postgres://USER@HOST:PORT/DB[?schema=NAME]`, without the password.
    public var description: String {
        "postgres://\(username)@\(host):\(port)/\(database)" + (schema.map { "?schema=\($0)" } ?? "")
    }
}
