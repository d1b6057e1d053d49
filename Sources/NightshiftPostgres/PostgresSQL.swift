import Logging
import Nightshift
import PostgresNIO
import Synchronization

/// A value bound to a query parameter: the few column types the store uses.
enum SQLValue: Sendable {
    case text(String?)
    case int(Int?)
    case double(Double?)
    case bool(Bool?)
    case texts([String])
    /// A JSON document, sent as text and read as `jsonb`.
    case json(String)
}

/// A query built from text and bound values, for statements whose shape depends on the call
/// (column lists, optional conditions). Values are always bound, never spliced into the text.
struct SQL: Sendable {
    private(set) var text: String
    private(set) var binds = PostgresBindings()

    private var count = 0

    init(_ text: String = "") {
        self.text = text
        // Most statements are a few hundred bytes to a few kilobytes: growing from the first
        // fragment would copy the text several times.
        self.text.reserveCapacity(2048)
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

    /// Binds `value` and returns its placeholder with its type (`$n::bigint`): a NULL is sent
    /// without one, which the server then takes from the cast.
    @discardableResult
    mutating func bind(_ value: SQLValue) -> String {
        count += 1
        switch value {
        case .text(let value): binds.append(value)
        case .int(let value): binds.append(value)
        case .double(let value): binds.append(value)
        case .bool(let value): binds.append(value)
        case .texts(let value): binds.append(value)
        case .json(let value): binds.append(value)
        }
        return value.placeholder(count)
    }

    /// Binds `value` and appends its placeholder.
    mutating func append(_ value: SQLValue) {
        text += bind(value)
    }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: binds) }
}

extension SQLValue {
    /// The SQL type its placeholder is cast to (JSON is sent as text and read as `jsonb`).
    var sqlType: String {
        switch self {
        case .text: "text"
        case .int: "bigint"
        case .double: "float8"
        case .bool: "boolean"
        case .texts: "text[]"
        case .json: "text::jsonb"
        }
    }

    /// `$n::TYPE`, from a table for the first 127 placeholders (a statement binds dozens of
    /// values, and building each text cost more than binding its value).
    func placeholder(_ number: Int) -> String {
        let index = sqlTypeIndex
        return number < Self.placeholders[index].count ? Self.placeholders[index][number] : "$\(number)::\(sqlType)"
    }

    private var sqlTypeIndex: Int {
        switch self {
        case .text: 0
        case .int: 1
        case .double: 2
        case .bool: 3
        case .texts: 4
        case .json: 5
        }
    }

    private static let placeholders: [[String]] = [SQLValue.text(nil), .int(nil), .double(nil), .bool(nil), .texts([]), .json("")]
        .map { value in (0..<128).map { "$\($0)::\(value.sqlType)" } }

    /// The value as a JSON member of a row read with `jsonb_to_recordset`.
    var json: JSONValue {
        switch self {
        case .text(let value): value.map(JSONValue.string) ?? .null
        case .int(let value): value.map { .int(Int64($0)) } ?? .null
        case .double(let value): value.map(JSONValue.double) ?? .null
        case .bool(let value): value.map(JSONValue.bool) ?? .null
        case .texts(let values): .array(values.map(JSONValue.string))
        case .json(let text): (try? JSONValue(jsonText: text)) ?? .null
        }
    }
}

/// One connection inside an open transaction (or, from `autocommit`, each statement on its own), with the store's
/// logger and its prepared statements.
struct Transaction {
    let connection: PostgresConnection
    let logger: Logger
    let statements: PreparedStatements
    /// Set by each statement that appends hook events (to `hook_pending`): after such a
    /// transaction commits, the store tells the change feed's listeners on every node.
    let hooks: HookMark

    init(connection: PostgresConnection, logger: Logger, statements: PreparedStatements, hooks: HookMark = HookMark()) {
        self.connection = connection
        self.logger = logger
        self.statements = statements
        self.hooks = hooks
    }

    /// Runs `query` and returns every row it produced.
    @discardableResult
    func rows(_ query: PostgresQuery) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in try await connection.query(query, logger: logger) {
            rows.append(PostgresRandomAccessRow(row))
        }
        return rows
    }

    /// Runs a query built with ``SQL`` as a statement prepared on this connection (on first
    /// use): the server parses and plans each statement text once per connection.
    @discardableResult
    func rows(_ sql: SQL) async throws -> [PostgresRandomAccessRow] {
        guard let name = statements.admit(sql.text, on: connection.id) else { return try await rows(sql.query) }
        return try await PreparedSQL.$statement.withValue((sql.text, name)) {
            var rows: [PostgresRandomAccessRow] = []
            for try await row in try await connection.execute(PreparedSQL(binds: sql.binds), logger: logger) {
                rows.append(PostgresRandomAccessRow(row))
            }
            return rows
        }
    }
}

/// A statement whose text is only known at run time, for PostgresNIO's prepared statements
/// (which read the text and name from the type): both come from a task-local value, set around
/// each execution, which reads them before its first suspension.
struct PreparedSQL: PostgresPreparedStatement {
    @TaskLocal static var statement = (text: "", name: "")

    static var sql: String { statement.text }
    static var name: String { statement.name }

    let binds: PostgresBindings

    func makeBindings() throws -> PostgresBindings { binds }
    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

/// Which statement texts each connection of a store has prepared, by connection id, so that a
/// connection prepares at most 200 (past that, statements run unprepared); and each text's
/// statement name, worked out once.
final class PreparedStatements: Sendable {
    /// The most statements prepared on one connection.
    static let perConnection = 200

    private struct State {
        var names: [String: String] = [:]
        var prepared: [PostgresConnection.ID: Set<String>] = [:]
    }

    private let state = Mutex(State())

    /// A statement name for `text`: a 64-bit FNV-1a hash of it.
    static func name(for text: String) -> String {
        "nightshift_" + StableHash.hex(text)
    }

    /// The statement name under which `text` runs prepared on `connection`, if it already is or
    /// there is room for it; `nil` when it must run unprepared.
    func admit(_ text: String, on connection: PostgresConnection.ID) -> String? {
        state.withLock { state in
            let name: String
            if let known = state.names[text] {
                name = known
            } else {
                name = Self.name(for: text)
                // Texts with lists of varying length are many: keep the memory bounded.
                if state.names.count >= 4 * Self.perConnection { state.names.removeAll() }
                state.names[text] = name
            }
            if state.prepared[connection]?.contains(name) == true { return name }
            guard state.prepared[connection, default: []].count < Self.perConnection else { return nil }
            state.prepared[connection, default: []].insert(name)
            return name
        }
    }
}

extension SQL {
    /// Appends ` AND column = workspace` when a workspace is given (scoping a read or a change to
    /// one workspace); nothing for `nil` (every workspace).
    mutating func append(workspace: String?, column: String = "workspace_id") {
        guard let workspace else { return }
        append(" AND \(column) = ")
        append(.text(workspace))
    }
}

/// Whether a transaction appended hook events; set by the statements that do.
final class HookMark: Sendable {
    private let state = Mutex(false)

    /// Records that hook events were appended.
    func mark() { state.withLock { $0 = true } }

    /// Whether any were.
    var isSet: Bool { state.withLock { $0 } }
}
