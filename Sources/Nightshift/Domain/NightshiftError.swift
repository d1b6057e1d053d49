/// An error from the engine or a store: a code a program can switch on, plus what a person needs
/// to fix it (which field, what was expected, which task). Never carries a secret.
public struct NightshiftError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of error this is. A struct with static members so the set can grow.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The stable text form, e.g. `invalid_input`.
        public let rawValue: String
        /// Wraps a code's text form.
        public init(_ rawValue: String) { self.rawValue = rawValue }
        /// The text form.
        public var description: String { rawValue }

        /// A field of a request is missing, malformed or out of range.
        public static let invalidInput = Code("invalid_input")
        /// The task, run or agent does not exist.
        public static let notFound = Code("not_found")
        /// The action is not allowed in the task's current state.
        public static let illegalTransition = Code("illegal_transition")
        /// The queue already holds as many tasks as its depth cap allows.
        public static let queueFull = Code("queue_full")
        /// The agent's budget is spent: no more of its tasks are taken.
        public static let budgetExceeded = Code("budget_exceeded")
        /// The store cannot be used (I/O error, schema from a newer version, closed).
        public static let storeUnavailable = Code("store_unavailable")
        /// The write was based on a version that is no longer current (a lost compare-and-set).
        public static let conflict = Code("conflict")
    }

    /// What kind of error this is.
    public var code: Code
    /// A sentence for a person.
    public var message: String
    /// The request field at fault, when there is one (`prompt`, `priority`, …).
    public var field: String?
    /// What the layer below reported, as a typed value, when the error came from there: code
    /// decides on this, never on the message's text.
    public var cause: Cause?

    /// The cause of an error as the database or the system reported it.
    public enum Cause: Sendable, Hashable {
        /// A PostgreSQL SQLSTATE, e.g. `23505` (unique violation).
        case sqlState(String)
        /// An SQLite extended result code, e.g. 2067 (`SQLITE_CONSTRAINT_UNIQUE`).
        case sqlite(Int32)
        /// An `errno` value, e.g. `EMFILE`.
        case errno(Int32)
    }

    /// Creates an error.
    public init(_ code: Code, _ message: String, field: String? = nil, cause: Cause? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.cause = cause
    }

    /// Whether the cause is a unique-constraint violation (PostgreSQL 23505, SQLite 2067 or 1555).
    public var isUniqueViolation: Bool {
        switch cause {
        case .sqlState("23505")?, .sqlite(2067)?, .sqlite(1555)?: true
        default: false
        }
    }

    /// `field: message` when a field is named, else the message.
    public var description: String {
        field.map { "\($0): \(message)" } ?? message
    }

    /// A field failed validation: names the field and what was expected.
    public static func invalid(_ field: String, _ expected: String) -> NightshiftError {
        NightshiftError(.invalidInput, expected, field: field)
    }

    /// The queue is at its depth cap: `depth` tasks wait to run (queued, waiting, paused).
    public static func queueFull(depth: Int, cap: Int) -> NightshiftError {
        NightshiftError(.queueFull, "queue is full: \(depth) tasks waiting to run, the cap is \(cap)")
    }

    /// No task with this id.
    public static func taskNotFound(_ id: TaskID) -> NightshiftError {
        NightshiftError(.notFound, "no task with id \(id)", field: "id")
    }
}
