import Foundation

/// What an agent's processes may do: run commands, see and write the workspace, reach the network,
/// and how much they may use. An agent has one (its default); a task may narrow it.
///
/// Every field is optional: an absent field takes the agent's value, and an agent's absent field
/// the default (``resolved``), which is what Nightshift did before policies existed: `full`,
/// `rw`, network on, no sandbox, no resource limits. The ask policy and the retry policy, which
/// also bound a run, stay where they were: `ask` and `retry` on the agent and the task.
///
/// Wire and config form: a JSON object or TOML table with the keys of ``keys`` (see
/// docs/sandbox.md). How each runner applies it: ``RunnerKind`` flags, docs/sandbox.md's table.
public struct ExecutionPolicy: Sendable, Hashable, Codable {
    /// Which commands and tools the agent may run.
    public enum Security: String, Sendable, Hashable, Codable, CaseIterable {
        /// None: no shell, no tool that acts (reads only).
        case deny
        /// Only the rules in ``ExecutionPolicy/allow``.
        case allowlist
        /// Anything its other limits allow.
        case full
    }

    /// How the agent sees its workspace (the task's working directory or worktree).
    public enum WorkspaceAccess: String, Sendable, Hashable, Codable, CaseIterable {
        /// Not at all: under the sandbox it is not mounted.
        case none
        /// Read-only.
        case ro
        /// Read and write.
        case rw
    }

    /// What the agent's processes are wrapped in.
    public enum Sandbox: String, Sendable, Hashable, Codable, CaseIterable {
        /// Nothing beyond a process group and a scrubbed environment.
        case none
        /// bubblewrap: a read-only root, fresh `/tmp`, PID namespace, the workspace bound per
        /// ``WorkspaceAccess``, no network unless allowed. Fails closed when unavailable.
        case bubblewrap
    }

    /// Which commands and tools it may run; `nil`: its agent's, else `full`.
    public var security: Security?
    /// For `allowlist`: the tool rules or commands allowed (Claude Code's syntax: `Bash(npm test:*)`,
    /// `Read`); `nil`: its agent's.
    public var allow: [String]?
    /// How it sees its workspace; `nil`: its agent's, else `rw`.
    public var workspace: WorkspaceAccess?
    /// Whether it may reach the network; `nil`: its agent's, else `true`.
    public var network: Bool?
    /// With the network on, the hosts it is meant to reach (told to the runners that filter by
    /// host); `nil`: any host.
    public var hosts: [String]?
    /// What its processes are wrapped in; `nil`: its agent's, else `none`.
    public var sandbox: Sandbox?
    /// The most memory its processes may use together, in bytes; `nil`: no limit.
    public var memoryBytes: Int64?
    /// The most CPU time each of its processes may use, in seconds; `nil`: no limit.
    public var cpuSeconds: Int?
    /// The most processes it may have at once; `nil`: no limit.
    public var maxProcesses: Int?
    /// The most bytes it may write to stdout and stderr together before the run is stopped;
    /// `nil`: no limit.
    public var maxOutputBytes: Int64?

    /// Creates a policy; every field left `nil` is inherited.
    public init(
        security: Security? = nil, allow: [String]? = nil, workspace: WorkspaceAccess? = nil, network: Bool? = nil,
        hosts: [String]? = nil, sandbox: Sandbox? = nil, memoryBytes: Int64? = nil, cpuSeconds: Int? = nil,
        maxProcesses: Int? = nil, maxOutputBytes: Int64? = nil
    ) {
        self.security = security
        self.allow = allow
        self.workspace = workspace
        self.network = network
        self.hosts = hosts
        self.sandbox = sandbox
        self.memoryBytes = memoryBytes
        self.cpuSeconds = cpuSeconds
        self.maxProcesses = maxProcesses
        self.maxOutputBytes = maxOutputBytes
    }

    /// The keys of the wire and config form.
    public static let keys = [
        "security", "allow", "workspace", "network", "hosts", "sandbox", "memory", "cpu_seconds", "max_processes",
        "max_output_bytes",
    ]

    /// Whether no field is set.
    public var isEmpty: Bool { self == ExecutionPolicy() }

    /// Every field set: this policy's, else `base`'s.
    public func inheriting(_ base: ExecutionPolicy) -> ExecutionPolicy {
        ExecutionPolicy(
            security: security ?? base.security, allow: allow ?? base.allow, workspace: workspace ?? base.workspace,
            network: network ?? base.network, hosts: hosts ?? base.hosts, sandbox: sandbox ?? base.sandbox,
            memoryBytes: memoryBytes ?? base.memoryBytes, cpuSeconds: cpuSeconds ?? base.cpuSeconds,
            maxProcesses: maxProcesses ?? base.maxProcesses, maxOutputBytes: maxOutputBytes ?? base.maxOutputBytes)
    }

    /// The policy a run gets: this one with the defaults for what it leaves unset.
    public var resolved: Resolved {
        Resolved(
            security: security ?? .full, allow: allow ?? [], workspace: workspace ?? .rw, network: network ?? true,
            hosts: hosts, sandbox: sandbox ?? .none, memoryBytes: memoryBytes, cpuSeconds: cpuSeconds,
            maxProcesses: maxProcesses, maxOutputBytes: maxOutputBytes)
    }

    /// A policy with every field decided: what a run is held to.
    public struct Resolved: Sendable, Hashable {
        /// Which commands and tools it may run.
        public var security: Security
        /// For `allowlist`: the rules allowed.
        public var allow: [String]
        /// How it sees its workspace.
        public var workspace: WorkspaceAccess
        /// Whether it may reach the network.
        public var network: Bool
        /// The hosts it is meant to reach; `nil`: any.
        public var hosts: [String]?
        /// What its processes are wrapped in.
        public var sandbox: Sandbox
        /// Memory limit in bytes, if any.
        public var memoryBytes: Int64?
        /// CPU seconds per process, if limited.
        public var cpuSeconds: Int?
        /// Processes at once, if limited.
        public var maxProcesses: Int?
        /// Output bytes, if limited.
        public var maxOutputBytes: Int64?

        /// Whether any resource limit applies to its processes (output aside).
        public var limitsResources: Bool { memoryBytes != nil || cpuSeconds != nil || maxProcesses != nil }
    }

    /// The first field in which `self` (a task's override) allows more than `base` (its agent's
    /// policy, resolved), with what `base` allows; `nil` when it is no wider anywhere.
    public func widening(_ base: Resolved) -> (field: String, allowed: String)? {
        func rank(_ security: Security) -> Int { Security.allCases.firstIndex(of: security)! }
        func rank(_ access: WorkspaceAccess) -> Int { WorkspaceAccess.allCases.firstIndex(of: access)! }
        if let security, rank(security) > rank(base.security) { return ("security", base.security.rawValue) }
        if let allow, base.security == .allowlist, let extra = allow.first(where: { !base.allow.contains($0) }) {
            return ("allow", "the agent's rules (\(base.allow.joined(separator: ", "))); '\(extra)' is not among them")
        }
        if let workspace, rank(workspace) > rank(base.workspace) { return ("workspace", base.workspace.rawValue) }
        if network == true, !base.network { return ("network", "false") }
        if let baseHosts = base.hosts, let extra = hosts?.first(where: { !baseHosts.contains($0) }) {
            return ("hosts", "\(baseHosts.joined(separator: ", ")); '\(extra)' is not among them")
        }
        if sandbox == ExecutionPolicy.Sandbox.none, base.sandbox == .bubblewrap { return ("sandbox", "bubblewrap") }
        if let limit = base.memoryBytes, (memoryBytes ?? limit) > limit { return ("memory", ByteCount.text(limit)) }
        if let limit = base.cpuSeconds, (cpuSeconds ?? limit) > limit { return ("cpu_seconds", String(limit)) }
        if let limit = base.maxProcesses, (maxProcesses ?? limit) > limit { return ("max_processes", String(limit)) }
        if let limit = base.maxOutputBytes, (maxOutputBytes ?? limit) > limit { return ("max_output_bytes", String(limit)) }
        return nil
    }

    /// Reads the wire and config form: a JSON object with ``keys``. Errors name `field.key`.
    public init(json: JSONValue, field: String = "policy") throws(NightshiftError) {
        guard let object = json.objectValue else { throw .invalid(field, "expected an object with keys \(Self.keys.joined(separator: ", "))") }
        if let unknown = object.keys.sorted().first(where: { !Self.keys.contains($0) }) {
            throw .invalid("\(field).\(unknown)", "unknown key; expected one of \(Self.keys.joined(separator: ", "))")
        }
        func name(_ key: String) -> String { "\(field).\(key)" }
        func choice<T: RawRepresentable & CaseIterable>(_ key: String, _: T.Type) throws(NightshiftError) -> T? where T.RawValue == String {
            guard let value = object[key], value != .null else { return nil }
            let names = T.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            guard let text = value.stringValue, let choice = T(rawValue: text) else {
                throw .invalid(name(key), "expected one of \(names), got \(value.jsonText)")
            }
            return choice
        }
        func strings(_ key: String) throws(NightshiftError) -> [String]? {
            guard let value = object[key], value != .null else { return nil }
            guard case .array(let items) = value, let texts = Optional(items.compactMap(\.stringValue)), texts.count == items.count,
                  texts.allSatisfy({ !$0.isEmpty && !$0.contains("\0") })
            else { throw .invalid(name(key), "expected an array of non-empty strings") }
            return texts
        }
        func count(_ key: String) throws(NightshiftError) -> Int? {
            guard let value = object[key], value != .null else { return nil }
            guard case .int(let number) = value, number >= 1, number <= Int64(Int32.max) else {
                throw .invalid(name(key), "expected an integer ≥ 1, got \(value.jsonText)")
            }
            return Int(number)
        }
        func bytes(_ key: String) throws(NightshiftError) -> Int64? {
            guard let value = object[key], value != .null else { return nil }
            let parsed: Int64? = switch value {
            case .int(let number): number >= 1 ? number : nil
            case .string(let text): ByteCount.parse(text)
            default: nil
            }
            guard let parsed, parsed >= 1 else {
                throw .invalid(name(key), "expected a size such as \"512M\", \"2G\" or a number of bytes ≥ 1, got \(value.jsonText)")
            }
            return parsed
        }
        security = try choice("security", Security.self)
        allow = try strings("allow")
        workspace = try choice("workspace", WorkspaceAccess.self)
        if let value = object["network"], value != .null {
            guard case .bool(let flag) = value else { throw .invalid(name("network"), "expected true or false, got \(value.jsonText)") }
            network = flag
        }
        hosts = try strings("hosts")
        if let hosts, let bad = hosts.first(where: { !Self.isHostName($0) }) {
            throw .invalid(name("hosts"), "expected host names (\"api.github.com\", \"*.npmjs.org\"), got '\(bad)'")
        }
        sandbox = try choice("sandbox", Sandbox.self)
        memoryBytes = try bytes("memory")
        if let memoryBytes, memoryBytes < 1 << 20 {
            throw .invalid(name("memory"), "expected at least 1M, got \(memoryBytes) bytes")
        }
        cpuSeconds = try count("cpu_seconds")
        maxProcesses = try count("max_processes")
        maxOutputBytes = try bytes("max_output_bytes")
        if allow != nil, let security, security != .allowlist {
            throw .invalid(name("allow"), "applies only with security = \"allowlist\", not \"\(security.rawValue)\"")
        }
    }

    /// The wire and config form: the set fields only.
    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let security { object["security"] = .string(security.rawValue) }
        if let allow { object["allow"] = .array(allow.map(JSONValue.string)) }
        if let workspace { object["workspace"] = .string(workspace.rawValue) }
        if let network { object["network"] = .bool(network) }
        if let hosts { object["hosts"] = .array(hosts.map(JSONValue.string)) }
        if let sandbox { object["sandbox"] = .string(sandbox.rawValue) }
        if let memoryBytes { object["memory"] = .string(ByteCount.text(memoryBytes)) }
        if let cpuSeconds { object["cpu_seconds"] = .int(Int64(cpuSeconds)) }
        if let maxProcesses { object["max_processes"] = .int(Int64(maxProcesses)) }
        if let maxOutputBytes { object["max_output_bytes"] = .int(maxOutputBytes) }
        return .object(object)
    }

    /// Decodes the wire form.
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        do { try self.init(json: value) } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    /// Encodes the wire form.
    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    /// A host name, optionally with a leading `*.` wildcard: letters, digits, `-` and `.`.
    private static func isHostName(_ text: String) -> Bool {
        let name = text.hasPrefix("*.") ? String(text.dropFirst(2)) : text
        return !name.isEmpty && name.count <= 253
            && name.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == ".") }
    }
}

/// Sizes in bytes written `"512M"`, `"2G"`, `"64k"`, `"1.5G"` (binary units: k = 1024) or as a
/// plain number of bytes.
public enum ByteCount {
    /// The bytes in `text`, or `nil` if it is not a size.
    public static func parse(_ text: String) -> Int64? {
        var digits = text.trimmingCharacters(in: .whitespaces)
        if digits.hasSuffix("B") || digits.hasSuffix("b") { digits.removeLast() }
        if digits.hasSuffix("i") { digits.removeLast() }
        let scale: Double
        switch digits.last {
        case "k"?, "K"?: scale = 1024
        case "m"?, "M"?: scale = 1024 * 1024
        case "g"?, "G"?: scale = 1024 * 1024 * 1024
        case "t"?, "T"?: scale = 1024 * 1024 * 1024 * 1024
        default: scale = 1
        }
        if scale != 1 { digits.removeLast() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let number = Double(digits), number.isFinite
        else { return nil }
        let bytes = (number * scale).rounded()
        guard bytes >= 0, bytes < 9e18 else { return nil }
        return Int64(bytes)
    }

    /// `bytes` in the largest binary unit that divides it (`"2G"`, `"512M"`), else a number.
    public static func text(_ bytes: Int64) -> String {
        for (unit, scale) in [("T", Int64(1) << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        where bytes >= scale && bytes % scale == 0 {
            return "\(bytes / scale)\(unit)"
        }
        return String(bytes)
    }
}
