import Foundation

/// Reads the JSON form of a ``SessionCheckpoint``; every error names the field at fault by its
/// path (`progress.decisions[2]`).
struct CheckpointParser {
    /// What an agent-written checkpoint may leave out, and what fills it.
    struct Defaults {
        var agent: String
        var sessionID: String?
        var taskID: TaskID?
        var now: Date
    }

    private static let keys: Set<String> = [
        "schema_version", "id", "agent", "session_id", "task_id", "phase", "status", "created_at", "updated_at",
        "context", "progress", "resume_hint", "archived_at",
    ]
    private static let contextKeys: Set<String> = ["work_items", "branch"]
    private static let progressKeys: Set<String> = ["tasks_completed", "tasks_remaining", "files_modified", "decisions"]

    let value: JSONValue
    /// `nil` for the strict form (`Codable`): nothing is filled in.
    let defaults: Defaults?

    init(_ value: JSONValue, defaults: Defaults?) {
        self.value = value
        self.defaults = defaults
    }

    func checkpoint() throws(NightshiftError) -> SessionCheckpoint {
        guard let members = value.objectValue else {
            throw .invalid("body", "expected a JSON object, got \(value.kindName)")
        }
        // The version first: a document of another version is refused for that reason alone.
        switch members["schema_version"] {
        case nil, .null?:
            throw .invalid("schema_version", "is required; expected \(SessionCheckpoint.currentSchemaVersion)")
        case .int(let version)? where version == SessionCheckpoint.currentSchemaVersion:
            break
        case .int(let version)?:
            throw .invalid("schema_version", "expected \(SessionCheckpoint.currentSchemaVersion), got \(version)")
        case let other?:
            throw .invalid("schema_version", "expected the integer \(SessionCheckpoint.currentSchemaVersion), got \(other.kindName)")
        }
        try Self.rejectUnknown(members, allowed: Self.keys, prefix: "")

        guard let phase = try Self.string(members, "phase"), !phase.isEmpty else {
            throw .invalid("phase", "is required (a non-empty string)")
        }
        let agent = try Self.string(members, "agent") ?? defaults?.agent ?? ""
        guard !agent.isEmpty else { throw .invalid("agent", "is required (a non-empty string)") }

        var taskID = defaults?.taskID
        if let text = try Self.string(members, "task_id") {
            guard let id = TaskID(text) else { throw .invalid("task_id", "expected a task id (a UUID), got '\(text)'") }
            taskID = id
        }

        let status: CheckpointStatus
        if let text = try Self.string(members, "status") {
            guard let known = CheckpointStatus(rawValue: text) else {
                throw .invalid("status", "expected one of \(CheckpointStatus.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
            }
            status = known
        } else if defaults != nil {
            status = .active
        } else {
            throw .invalid("status", "is required")
        }

        let createdAt = try time(members, "created_at")
        let updatedAt = try time(members, "updated_at")
        var archivedAt: Date?
        if let value = members["archived_at"], value != .null { archivedAt = try JSONTime.date(value, field: "archived_at") }

        let context = try Self.object(members, "context")
        try Self.rejectUnknown(context, allowed: Self.contextKeys, prefix: "context.")
        let progress = try Self.object(members, "progress")
        try Self.rejectUnknown(progress, allowed: Self.progressKeys, prefix: "progress.")

        return SessionCheckpoint(
            id: try Self.string(members, "id") ?? "", agent: agent,
            sessionID: try Self.string(members, "session_id") ?? defaults?.sessionID, taskID: taskID, phase: phase,
            status: status, createdAt: createdAt, updatedAt: updatedAt,
            context: .init(
                workItems: try Self.strings(context, "work_items", prefix: "context."),
                branch: try Self.string(context, "branch", prefix: "context.")),
            progress: .init(
                tasksCompleted: try Self.strings(progress, "tasks_completed", prefix: "progress."),
                tasksRemaining: try Self.strings(progress, "tasks_remaining", prefix: "progress."),
                filesModified: try Self.strings(progress, "files_modified", prefix: "progress."),
                decisions: try Self.strings(progress, "decisions", prefix: "progress.")),
            resumeHint: try Self.string(members, "resume_hint"), archivedAt: archivedAt)
    }

    private func time(_ members: [String: JSONValue], _ key: String) throws(NightshiftError) -> Date {
        if let value = members[key], value != .null { return try JSONTime.date(value, field: key) }
        guard let now = defaults?.now else { throw .invalid(key, "is required (an RFC 3339 time)") }
        return now
    }

    private static func rejectUnknown(_ members: [String: JSONValue], allowed: Set<String>, prefix: String) throws(NightshiftError) {
        if let unknown = members.keys.filter({ !allowed.contains($0) }).sorted().first {
            throw .invalid(prefix + unknown, "unknown field; expected one of \(allowed.sorted().joined(separator: ", "))")
        }
    }

    private static func string(_ members: [String: JSONValue], _ key: String, prefix: String = "") throws(NightshiftError) -> String? {
        switch members[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        case let other?: throw .invalid(prefix + key, "expected a string, got \(other.kindName)")
        }
    }

    private static func object(_ members: [String: JSONValue], _ key: String) throws(NightshiftError) -> [String: JSONValue] {
        switch members[key] {
        case nil, .null?: return [:]
        case .object(let object)?: return object
        case let other?: throw .invalid(key, "expected an object, got \(other.kindName)")
        }
    }

    private static func strings(_ members: [String: JSONValue], _ key: String, prefix: String) throws(NightshiftError) -> [String] {
        switch members[key] {
        case nil, .null?: return []
        case .array(let values)?:
            var texts: [String] = []
            for (index, value) in values.enumerated() {
                guard case .string(let text) = value else {
                    throw .invalid("\(prefix)\(key)[\(index)]", "expected a string, got \(value.kindName)")
                }
                texts.append(text)
            }
            return texts
        case let other?: throw .invalid(prefix + key, "expected an array of strings, got \(other.kindName)")
        }
    }
}
