import Foundation

/// A workspace: the owner of tasks, runs, events, agents, lanes, checkpoints and memories. Every
/// read and write the API makes is scoped to one (see ``WorkspaceScope``); a token belongs to one.
public struct Workspace: Sendable, Hashable {
    /// The workspace every store starts with, and the one the bootstrap token administers.
    public static let defaultID = "default"

    /// Its id: 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit.
    public var id: String
    /// When it was created.
    public var createdAt: Date

    /// Creates the value.
    public init(id: String, createdAt: Date) {
        self.id = id
        self.createdAt = createdAt
    }

    /// Checks a workspace id (the rule of agent names); the error names `field`.
    public static func validate(id: String, field: String = "workspace") throws(NightshiftError) {
        guard TextRules.isAgentName(id) else {
            throw .invalid(field, "expected a workspace id: \(TextRules.agentNameRule), got '\(id)'")
        }
    }
}

/// What a token may do in its workspace. A struct with static members, so the set can grow.
public struct AccessRole: Sendable, Hashable, CustomStringConvertible {
    /// The text form used by the API and the CLI.
    public let rawValue: String

    private init(_ rawValue: String) { self.rawValue = rawValue }

    /// Everything in its workspace, tokens included; an admin of `default` may also create
    /// workspaces, and tokens for any workspace.
    public static let admin = AccessRole("admin")
    /// Submits and acts on tasks; manages agents, memories and checkpoints.
    public static let member = AccessRole("member")
    /// Reads only (GET).
    public static let readOnly = AccessRole("read_only")

    /// Every role.
    public static let all: [AccessRole] = [.admin, .member, .readOnly]

    /// The role with this text form, if there is one.
    public init?(rawValue: String) {
        guard let role = Self.all.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = role
    }

    /// The text form.
    public var description: String { rawValue }
}

/// An API token as stored: its SHA-256 digest, never the token itself.
public struct AccessToken: Sendable, Hashable {
    /// Its id (a UUIDv7), which lists show and revocation takes.
    public var id: String
    /// The workspace it acts in.
    public var workspaceID: String
    /// What it may do there.
    public var role: AccessRole
    /// A name for people (who or what holds it); may be empty.
    public var name: String
    /// The SHA-256 digest of the token's text.
    public var digest: [UInt8]
    /// When it was created.
    public var createdAt: Date
    /// When it was revoked; `nil` while it is valid.
    public var revokedAt: Date?

    /// Creates the value.
    public init(
        id: String, workspaceID: String, role: AccessRole, name: String, digest: [UInt8], createdAt: Date, revokedAt: Date? = nil
    ) {
        self.id = id
        self.workspaceID = workspaceID
        self.role = role
        self.name = name
        self.digest = digest
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

extension AccessToken {
    /// A digest as lower-case hex: how the stores keep it.
    package static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(digest.count * 2)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes of a hex digest (`nil` if it is not hex).
    package static func bytes(hex: String) -> [UInt8]? {
        let text = Array(hex.utf8)
        guard text.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 2)
        for index in stride(from: 0, to: text.count, by: 2) {
            guard let byte = UInt8(String(decoding: text[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
