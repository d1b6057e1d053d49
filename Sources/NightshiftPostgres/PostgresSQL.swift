import Logging
import PostgresNIO

/// A value bound to a query parameter: the few column types the store uses.
enum SQLValue: Sendable {
    case text(String?)
    case int(Int?)
    case double(Double?)
    case bool(Bool?)
    case texts([String])
}

/// A query built from text and bound values, for statements whose shape depends on the call
/// (column lists, optional conditions). Values are always bound, never spliced into the text.
struct SQL: Sendable {
    private(set) var text: String
    private(set) var binds = PostgresBindings()
    private var count = 0

    init(_ text: String = "") {
        self.text = text
    }

    /// How many values are bound.
    var bindCount: Int { count }

    /// Puts SQL text before what is there.
    mutating func prepend(_ fragment: String) {
        text = fragment + text
    }

    /// Appends SQL text.
    mutating func append(_ fragment: String) {
        text += fragment
    }

    /// Binds `value` and returns its placeholder (`$n`).
    @discardableResult
    mutating func bind(_ value: SQLValue) -> String {
        count += 1
        switch value {
        case .text(let value): binds.append(value)
        case .int(let value): binds.append(value)
        case .double(let value): binds.append(value)
        case .bool(let value): binds.append(value)
        case .texts(let value): binds.append(value)
        }
        return "$\(count)"
    }

    /// Binds `value` and appends its placeholder.
    mutating func append(_ value: SQLValue) {
        text += bind(value)
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: binds) }
}

/// One connection inside an open transaction, with the store's logger.
struct Transaction {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs `query` and returns every row it produced.
    @discardableResult
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await connection.query(query, logger: logger) {
            rows.append(PostgresRandomAccessRow(row))
        }
        return rows
    }

    /// Runs a query built with ``SQL``.
    @discardableResult
    func rows(_ sql: SQL) async throws -> [PostgresRandomAccessRow] {
        try await rows(sql.query)
    }
}
