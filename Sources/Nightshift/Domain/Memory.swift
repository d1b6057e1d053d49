import Foundation

/// A note an agent keeps between sessions: a summary under a key, per workspace and agent,
/// versioned so that concurrent writers can detect each other (compare-and-set).
public struct Memory: Sendable, Hashable, Codable {
    /// The longest key, in characters.
    public static let maxKeyLength = 256
    /// The largest summary, in UTF-8 bytes (64 KiB).
    public static let maxSummaryBytes = 64 * 1024
    /// The workspace used when none is given.
    public static let defaultWorkspace = "default"

    /// The workspace the memory belongs to.
    public var workspaceID: String
    /// The agent that keeps it.
    public var agent: String
    /// Its key: 1 to 256 characters.
    public var key: String
    /// The remembered text: at most 64 KiB.
    public var summary: String
    /// 1 when first written, plus 1 for every write since.
    public var version: Int
    /// When it was first written.
    public var createdAt: Date
    /// When it was last written.
    public var updatedAt: Date

    /// Creates a memory value (stores create and version them; see ``MemoryStore``).
    public init(
        workspaceID: String = Memory.defaultWorkspace, agent: String, key: String, summary: String, version: Int = 1,
        createdAt: Date, updatedAt: Date? = nil
    ) {
        self.workspaceID = workspaceID
        self.agent = agent
        self.key = key
        self.summary = summary
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
    }

    /// Checks where a memory lives: a non-empty workspace and agent, a key of 1 to 256 characters.
    public static func validate(workspace: String, agent: String, key: String) throws(NightshiftError) {
        guard !workspace.isEmpty else { throw .invalid("workspace", "expected a non-empty workspace id") }
        guard !agent.isEmpty else { throw .invalid("agent", "expected a non-empty agent name") }
        guard !key.isEmpty, key.count <= maxKeyLength else {
            throw .invalid("key", "expected 1 to \(maxKeyLength) characters, got \(key.count)")
        }
        try TextRules.checkIdentifier(workspace, field: "workspace")
        try TextRules.checkIdentifier(agent, field: "agent")
        try TextRules.checkIdentifier(key, field: "key")
    }

    /// Checks a summary: at most 64 KiB of UTF-8.
    public static func validate(summary: String) throws(NightshiftError) {
        try TextRules.checkText(summary, field: "summary")
        guard summary.utf8.count <= maxSummaryBytes else {
            throw .invalid("summary", "expected at most \(maxSummaryBytes) bytes, got \(summary.utf8.count)")
        }
    }

    /// The JSON form: `workspace_id`, `agent`, `key`, `summary`, `version`, `created_at`, `updated_at`.
    public var json: JSONValue {
        [
            "workspace_id": .string(workspaceID), "agent": .string(agent), "key": .string(key),
            "summary": .string(summary), "version": .int(Int64(version)),
            "created_at": JSONTime.json(createdAt), "updated_at": JSONTime.json(updatedAt),
        ]
    }

    /// Encodes ``json``.
    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }

    /// Decodes the JSON form; every member is required.
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        func fail(_ reason: String) -> DecodingError {
            DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: reason))
        }
        func text(_ key: String) throws -> String {
            guard let text = value[key]?.stringValue else { throw fail("\(key): expected a string") }
            return text
        }
        guard case .int(let version)? = value["version"] else { throw fail("version: expected an integer") }
        do {
            self.init(
                workspaceID: try text("workspace_id"), agent: try text("agent"), key: try text("key"),
                summary: try text("summary"), version: Int(version),
                createdAt: try JSONTime.date(value["created_at"] ?? .null, field: "created_at"),
                updatedAt: try JSONTime.date(value["updated_at"] ?? .null, field: "updated_at"))
        } catch let error as NightshiftError {
            throw fail(error.description)
        }
    }
}
