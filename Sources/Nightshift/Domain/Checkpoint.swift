import Foundation

/// Whether a session checkpoint still describes unfinished work.
public enum CheckpointStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// The session's work is unfinished; a new session may resume from it.
    case active
    /// The work is finished or abandoned; nothing resumes from it.
    case resolved
}

/// What an agent session wrote down about its work so that a later session can pick it up: a
/// versioned JSON document (schema version 1) with snake_case keys and RFC 3339 times.
///
/// Agents write these as files (see ``CheckpointDirectory``) or post them to the API; both are
/// read with ``parse(_:agent:sessionID:taskID:now:)``. `Codable` reads and writes the same JSON
/// form, strictly (no defaults filled).
public struct SessionCheckpoint: Sendable, Hashable, Codable {
    /// The only schema version this binary reads and writes.
    public static let currentSchemaVersion = 1

    /// The related work and where it lives.
    public struct Context: Sendable, Hashable {
        /// Ids of the work items (tasks, issues) the session worked on.
        public var workItems: [String]
        /// The version-control branch the work is on, if any.
        public var branch: String?

        /// A context; empty by default.
        public init(workItems: [String] = [], branch: String? = nil) {
            self.workItems = workItems
            self.branch = branch
        }
    }

    /// How far the work got.
    public struct Progress: Sendable, Hashable {
        /// Steps finished.
        public var tasksCompleted: [String]
        /// Steps still to do.
        public var tasksRemaining: [String]
        /// Files the session changed.
        public var filesModified: [String]
        /// Decisions taken, for the next session to respect.
        public var decisions: [String]

        /// A progress record; empty by default.
        public init(
            tasksCompleted: [String] = [], tasksRemaining: [String] = [], filesModified: [String] = [],
            decisions: [String] = []
        ) {
            self.tasksCompleted = tasksCompleted
            self.tasksRemaining = tasksRemaining
            self.filesModified = filesModified
            self.decisions = decisions
        }
    }

    /// The schema version of the document; always ``currentSchemaVersion``.
    public var schemaVersion: Int
    /// The store-assigned id (a UUIDv7); empty until the checkpoint is first saved.
    public var id: String
    /// The agent whose session wrote it.
    public var agent: String
    /// The agent's own session id, if known.
    public var sessionID: String?
    /// The task the session ran for, if any.
    public var taskID: TaskID?
    /// Where in its work the session is (`planning`, `implementing`, …): free text.
    public var phase: String
    /// Whether the work is still open.
    public var status: CheckpointStatus
    /// When the checkpoint was first written (whole milliseconds).
    public var createdAt: Date
    /// When it last changed (whole milliseconds).
    public var updatedAt: Date
    /// The related work items and branch.
    public var context: Context
    /// Steps done and to do, files changed, decisions.
    public var progress: Progress
    /// A sentence for the session that resumes the work.
    public var resumeHint: String?
    /// When cleanup archived it; archived checkpoints are left out of listings by default.
    public var archivedAt: Date?

    /// Creates a checkpoint; times are rounded to whole milliseconds, as their JSON form keeps them.
    public init(
        id: String = "", agent: String, sessionID: String? = nil, taskID: TaskID? = nil, phase: String,
        status: CheckpointStatus = .active, createdAt: Date, updatedAt: Date? = nil, context: Context = Context(),
        progress: Progress = Progress(), resumeHint: String? = nil, archivedAt: Date? = nil
    ) {
        self.schemaVersion = Self.currentSchemaVersion
        self.id = id
        self.agent = agent
        self.sessionID = sessionID
        self.taskID = taskID
        self.phase = phase
        self.status = status
        self.createdAt = JSONTime.normalized(createdAt)
        self.updatedAt = JSONTime.normalized(updatedAt ?? createdAt)
        self.context = context
        self.progress = progress
        self.resumeHint = resumeHint
        self.archivedAt = archivedAt.map(JSONTime.normalized)
    }

    /// `date` cut to whole milliseconds, the precision of the JSON form: times set through it
    /// survive a trip through a store unchanged.
    public static func roundedTime(_ date: Date) -> Date {
        JSONTime.normalized(date)
    }

    /// Checks what a store relies on: the schema version, a non-empty agent and phase.
    public func validate() throws(NightshiftError) {
        guard schemaVersion == Self.currentSchemaVersion else {
            throw .invalid("schema_version", "expected \(Self.currentSchemaVersion), got \(schemaVersion)")
        }
        guard !agent.isEmpty else { throw .invalid("agent", "is required (a non-empty string)") }
        guard !phase.isEmpty else { throw .invalid("phase", "is required (a non-empty string)") }
    }

    /// The JSON form: every key present, absent values as `null`.
    public var json: JSONValue {
        [
            "schema_version": .int(Int64(schemaVersion)), "id": .string(id), "agent": .string(agent),
            "session_id": sessionID.map(JSONValue.string) ?? .null,
            "task_id": taskID.map { .string($0.rawValue) } ?? .null,
            "phase": .string(phase), "status": .string(status.rawValue),
            "created_at": JSONTime.json(createdAt), "updated_at": JSONTime.json(updatedAt),
            "context": [
                "work_items": .array(context.workItems.map(JSONValue.string)),
                "branch": context.branch.map(JSONValue.string) ?? .null,
            ],
            "progress": [
                "tasks_completed": .array(progress.tasksCompleted.map(JSONValue.string)),
                "tasks_remaining": .array(progress.tasksRemaining.map(JSONValue.string)),
                "files_modified": .array(progress.filesModified.map(JSONValue.string)),
                "decisions": .array(progress.decisions.map(JSONValue.string)),
            ],
            "resume_hint": resumeHint.map(JSONValue.string) ?? .null,
            "archived_at": JSONTime.json(archivedAt),
        ]
    }

    /// Encodes ``json``.
    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }

    /// Decodes the JSON form strictly: `agent`, `status` and both times must be present.
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        do {
            self = try CheckpointParser(value, defaults: nil).checkpoint()
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    /// Reads a checkpoint an agent wrote. Fills what the agent may leave out: `created_at` and
    /// `updated_at` (`now`), `status` (`active`), `agent`, `session_id` and `task_id` (from the
    /// arguments), `context` and `progress` (empty). Throws `invalid_input` naming the field for a
    /// missing or unsupported `schema_version`, a missing `phase`, an unknown status, a value of
    /// the wrong type or an unknown key.
    public static func parse(
        _ json: JSONValue, agent: String, sessionID: String?, taskID: TaskID?, now: Date
    ) throws(NightshiftError) -> SessionCheckpoint {
        try CheckpointParser(json, defaults: .init(agent: agent, sessionID: sessionID, taskID: taskID, now: now)).checkpoint()
    }
}
