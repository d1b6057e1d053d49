import Foundation
import Nightshift

/// Where a PostgreSQL database is and who connects to it, parsed from
/// `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=NAME][&host=DIR][&port=N]`.
///
/// A host that starts with `/` is the directory of the server's Unix-domain socket, as in libpq
/// (`postgres://USER@/DB?host=/run/postgresql`, or the directory percent-encoded in place of the
/// host); the connection then goes to `DIR/.s.PGSQL.PORT`.
///
/// The password comes from the URL, else from `PGPASSWORD`. ``description`` never shows it.
/// `schema` puts the store's tables in a schema of their own (several stores in one database).
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    /// The server's host name or address, or the directory of its Unix-domain socket.
    public var host: String
    /// The server's port (with a socket directory, the number in the socket's file name); 5432
    /// by default.
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

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=NAME][&host=DIR][&port=N]` (or
    /// `postgresql://`); `host` and `port` parameters take precedence over the URL's own, and a
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
        var host = components.host ?? ""
        var port = components.port ?? 5432
        var schema: String?
        for item in components.queryItems ?? [] {
            guard let value = item.value, !value.isEmpty else {
                throw NightshiftError.invalid("store", "\(expected): the URL parameter '\(item.name)' has no value")
            }
            switch item.name {
            case "schema": schema = value
            case "host": host = value
            case "port":
                guard let number = Int(value), (1...65535).contains(number) else {
                    throw NightshiftError.invalid("store", "\(expected): port=\(value) is not a port number (1-65535)")
                }
                port = number
            default:
                throw NightshiftError.invalid(
                    "store", "\(expected): unknown URL parameter '\(item.name)' (only schema=NAME, host=HOST or DIR, port=N)")
            }
        }
        guard !host.isEmpty else {
            throw NightshiftError.invalid("store", "\(expected): the host is missing (or host=DIR for a Unix-domain socket)")
        }
        guard let user = components.user, !user.isEmpty else {
            throw NightshiftError.invalid("store", "\(expected): the user is missing")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw NightshiftError.invalid("store", "\(expected): the database name is missing")
        }
        self.schema = schema
        self.host = host
        self.port = port
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 } ?? environment["PGPASSWORD"]
        self.database = database.removingPercentEncoding ?? database
    }

    /// The path of the server's Unix-domain socket when ``host`` is a directory; `nil` for TCP.
    public var socketPath: String? {
        host.hasPrefix("/") ? "\(host)/.s.PGSQL.\(port)" : nil
    }

    /// `HOST:PORT`, or the socket's path: where connections go, for messages.
    public var address: String {
        socketPath ?? "\(host):\(port)"
    }

    /// `postgres://USER@HOST:PORT/DB[?schema=NAME]` (a socket directory as `host=DIR&port=N`),
    /// without the password.
    public var description: String {
        var parameters = schema.map { ["schema=\($0)"] } ?? []
        let authority: String
        if socketPath != nil {
            authority = ""
            parameters += ["host=\(host)", "port=\(port)"]
        } else {
            authority = "\(host):\(port)"
        }
        return "postgres://\(username)@\(authority)/\(database)" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
    }
}
