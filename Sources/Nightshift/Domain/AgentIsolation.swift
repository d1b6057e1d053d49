import Foundation

/// A command an agent runs before each of its runs, in the same sandbox and workspace (typically to
/// install dependencies, with the network on), under its own policy; a failure fails the run.
public struct SetupPhase: Sendable, Hashable, Codable {
    /// The argv.
    public var command: [String]
    /// The setup's policy over the agent's (fields it leaves unset are the agent's). It may allow
    /// more than the agent: it is the operator's own command, not the agent.
    public var policy: ExecutionPolicy
    /// The most seconds it may take; `nil`: the run's timeout.
    public var timeout: Double?

    /// Creates a setup phase.
    public init(command: [String], policy: ExecutionPolicy = ExecutionPolicy(), timeout: Double? = nil) {
        self.command = command
        self.policy = policy
        self.timeout = timeout
    }

    /// Checks the fields; errors name `field.key`.
    public func validate(field: String = "setup") throws(NightshiftError) {
        guard let first = command.first, !first.isEmpty else {
            throw .invalid("\(field).command", "expected a non-empty array of strings, e.g. [\"npm\", \"ci\"]")
        }
        if let timeout, !(timeout > 0 && timeout.isFinite) { throw .invalid("\(field).timeout", "expected a duration > 0") }
    }
}

/// An agent whose tasks each work in their own git worktree of ``repo``, on a branch
/// `nightshift/<task id>` made from ``base``.
public struct GitWorkspace: Sendable, Hashable, Codable {
    /// The repository's path (its work tree or a bare repository).
    public var repo: String
    /// What each task's branch starts from (a branch, tag or commit); `nil`: the repository's `HEAD`.
    public var base: String?
    /// Whether a task's worktree stays after the task ends (its branch always does).
    public var keepWorktree: Bool
    /// The most live tasks with a worktree of this repository at once, across agents and nodes;
    /// `nil`: no cap.
    public var repoConcurrency: Int?
    /// How many worktrees of the repository wait checked out at the base, so that a task's worktree
    /// costs a rename rather than a checkout (filled in the background); 0: none.
    public var spareWorktrees: Int

    /// Creates a git workspace.
    public init(repo: String, base: String? = nil, keepWorktree: Bool = false, repoConcurrency: Int? = nil, spareWorktrees: Int = 1) {
        self.spareWorktrees = spareWorktrees
        self.repo = repo
        self.base = base
        self.keepWorktree = keepWorktree
        self.repoConcurrency = repoConcurrency
    }

    /// The lane the tasks of agents with this repository run in when it has a ``repoConcurrency``
    /// (a task that names its own lane is not capped): `repo:<path>`, or for a long path its end and
    /// a hash of the whole.
    public var lane: String {
        if repo.utf8.count <= 120 { return "repo:" + repo }
        return "repo:…" + String(repo.suffix(80)) + "#" + StableHash.hex(repo)
    }

    /// The branch a task works on.
    public static func branch(for task: TaskID) -> String { "nightshift/\(task.rawValue)" }

    /// Checks the fields that can be checked without git; errors name the key.
    public func validate() throws(NightshiftError) {
        guard repo.hasPrefix("/") else { throw .invalid("repo", "expected an absolute path to a git repository, got '\(repo)'") }
        if let base, base.isEmpty || base.hasPrefix("-") || base.contains("..") || base.contains("\0") {
            throw .invalid("base", "expected a branch, tag or commit name, got '\(base)'")
        }
        if let repoConcurrency, repoConcurrency < 1 { throw .invalid("repo_concurrency", "expected an integer ≥ 1, got \(repoConcurrency)") }
        guard (0...16).contains(spareWorktrees) else { throw .invalid("spare_worktrees", "expected an integer from 0 to 16, got \(spareWorktrees)") }
    }

    private enum CodingKeys: String, CodingKey {
        case repo, base, keepWorktree, repoConcurrency, spareWorktrees
    }

    /// Decodes a stored document; `spareWorktrees` may be absent (1).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            repo: try container.decode(String.self, forKey: .repo), base: try container.decodeIfPresent(String.self, forKey: .base),
            keepWorktree: try container.decodeIfPresent(Bool.self, forKey: .keepWorktree) ?? false,
            repoConcurrency: try container.decodeIfPresent(Int.self, forKey: .repoConcurrency),
            spareWorktrees: try container.decodeIfPresent(Int.self, forKey: .spareWorktrees) ?? 1)
    }
}

/// Which of a run's processes get a secret.
public enum RunPhase: String, Sendable, Hashable, Codable, CaseIterable {
    /// The setup command.
    case setup
    /// The agent.
    case agent
}

/// A value given to an agent's processes as an environment variable, read when each run starts from
/// the daemon's environment or a file, and never written to events, errors or logs.
public struct AgentSecret: Sendable, Hashable, Codable {
    /// The variable's name in the processes' environment.
    public var name: String
    /// Read from the daemon's variable of this name, if set.
    public var env: String?
    /// Read from this file (a final newline dropped), if set.
    public var file: String?
    /// The phases whose processes get it.
    public var phases: [RunPhase]

    /// Creates a secret.
    public init(name: String, env: String? = nil, file: String? = nil, phases: [RunPhase] = [.agent]) {
        self.name = name
        self.env = env
        self.file = file
        self.phases = phases
    }

    /// Checks the fields; errors name `secrets.NAME.key`.
    public func validate() throws(NightshiftError) {
        let field = "secrets.\(name)"
        guard !name.isEmpty, !name.contains("="), !name.contains("\0") else {
            throw .invalid("secrets", "expected environment variable names as keys, got '\(name)'")
        }
        guard (env == nil) != (file == nil) else { throw .invalid(field, "expected exactly one of env (a daemon variable's name) or file (a path)") }
        if let file, !file.hasPrefix("/") { throw .invalid("\(field).file", "expected an absolute path, got '\(file)'") }
        if phases.isEmpty { throw .invalid("\(field).phases", "expected at least one of \"setup\", \"agent\"") }
    }
}

/// A file of `NAME=value` lines (a dotenv file: `#` comments, blank lines and an optional `export `
/// prefix allowed, values optionally quoted) whose variables are secrets of an agent's runs.
public struct EnvFile: Sendable, Hashable, Codable {
    /// Its absolute path, read when each run starts.
    public var path: String
    /// The phases whose processes get its variables.
    public var phases: [RunPhase]

    /// Creates an env file reference.
    public init(path: String, phases: [RunPhase] = [.agent]) {
        self.path = path
        self.phases = phases
    }

    /// Checks the fields; errors name `env_file`.
    public func validate() throws(NightshiftError) {
        guard path.hasPrefix("/") else { throw .invalid("env_file", "expected an absolute path, got '\(path)'") }
        if phases.isEmpty { throw .invalid("env_file_phases", "expected at least one of \"setup\", \"agent\"") }
    }

    /// The variables in a dotenv file's `text`; throws naming the first bad line.
    public static func parse(_ text: String, path: String) throws(NightshiftError) -> [(name: String, value: String)] {
        var variables: [(name: String, value: String)] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "="), equals != line.startIndex else {
                throw .invalid("env_file", "\(path) line \(index + 1): expected NAME=value")
            }
            let name = String(line[..<equals]).trimmingCharacters(in: .whitespaces)
            var value = String(line[line.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            variables.append((name, value))
        }
        return variables
    }
}

extension Agent {
    /// The lane its tasks take when they name none: its repository's when that caps its live tasks
    /// (``GitWorkspace/repoConcurrency``), else none. Stores keep it as a column for submits to read.
    public var repoLane: String? { git?.repoConcurrency == nil ? nil : git?.lane }

    /// The keys of an agent's isolation settings, the same in the config file's `[agents.NAME]`
    /// and the API's agent objects: `policy`, `setup`, `repo`, `base`, `keep_worktree`,
    /// `repo_concurrency`, `secrets`, `env_file`, `env_file_phases`, `artifacts`.
    public static let isolationKeys = [
        "policy", "setup", "repo", "base", "keep_worktree", "repo_concurrency", "spare_worktrees", "secrets", "env_file", "env_file_phases",
        "artifacts",
    ]

    /// Reads the isolation settings among `object`'s members (other members are ignored); errors
    /// name the key (`setup.command`, `secrets.TOKEN.env`).
    public mutating func readIsolation(_ object: [String: JSONValue]) throws(NightshiftError) {
        func string(_ key: String, _ value: JSONValue?) throws(NightshiftError) -> String? {
            guard let value, value != .null else { return nil }
            guard let text = value.stringValue, !text.isEmpty else { throw .invalid(key, "expected a non-empty string, got \(value.jsonText)") }
            return text
        }
        func strings(_ key: String, _ value: JSONValue?) throws(NightshiftError) -> [String]? {
            guard let value, value != .null else { return nil }
            guard case .array(let items) = value, let texts = Optional(items.compactMap(\.stringValue)), texts.count == items.count else {
                throw .invalid(key, "expected an array of strings, got \(value.jsonText)")
            }
            return texts
        }
        func phases(_ key: String, _ value: JSONValue?) throws(NightshiftError) -> [RunPhase]? {
            guard let texts = try strings(key, value) else { return nil }
            var phases: [RunPhase] = []
            for text in texts {
                guard let phase = RunPhase(rawValue: text) else { throw .invalid(key, "expected \"setup\" or \"agent\", got '\(text)'") }
                phases.append(phase)
            }
            return phases
        }
        if let value = object["policy"], value != .null { policy = try ExecutionPolicy(json: value, field: "policy") }
        if let value = object["setup"], value != .null {
            guard let table = value.objectValue else { throw .invalid("setup", "expected an object with command, timeout and policy") }
            if let unknown = table.keys.sorted().first(where: { !["command", "timeout", "policy"].contains($0) }) {
                throw .invalid("setup.\(unknown)", "unknown key; expected command, timeout or policy")
            }
            let timeout: Double? = switch table["timeout"] {
            case nil, .null?: nil
            case .string(let text)?: DurationText.seconds(text)
            case let number?: number.doubleValue
            }
            if table["timeout"] != nil, table["timeout"] != .null, timeout == nil {
                throw .invalid("setup.timeout", "expected a duration (\"10m\") or seconds")
            }
            setup = SetupPhase(
                command: try strings("setup.command", table["command"]) ?? [],
                policy: try table["policy"].map { value throws(NightshiftError) in try ExecutionPolicy(json: value, field: "setup.policy") }
                    ?? ExecutionPolicy(),
                timeout: timeout)
        }
        if let repo = try string("repo", object["repo"]) {
            var workspace = GitWorkspace(repo: repo, base: try string("base", object["base"]))
            if let value = object["keep_worktree"], value != .null {
                guard case .bool(let keep) = value else { throw .invalid("keep_worktree", "expected true or false") }
                workspace.keepWorktree = keep
            }
            if let value = object["repo_concurrency"], value != .null {
                guard case .int(let cap) = value else { throw .invalid("repo_concurrency", "expected an integer ≥ 1, got \(value.jsonText)") }
                workspace.repoConcurrency = Int(clamping: cap)
            }
            if let value = object["spare_worktrees"], value != .null {
                guard case .int(let count) = value else { throw .invalid("spare_worktrees", "expected an integer from 0 to 16, got \(value.jsonText)") }
                workspace.spareWorktrees = Int(clamping: count)
            }
            git = workspace
        } else if let key = ["base", "keep_worktree", "repo_concurrency", "spare_worktrees"].first(where: { object[$0] != nil && object[$0] != .null }) {
            throw .invalid(key, "applies only with repo (the git repository each task gets a worktree of)")
        }
        if let value = object["secrets"], value != .null {
            guard let table = value.objectValue else { throw .invalid("secrets", "expected an object of NAME = { env = \"VAR\" } or { file = \"/path\" }") }
            secrets = []
            for (name, entry) in table.sorted(by: { $0.key < $1.key }) {
                let field = "secrets.\(name)"
                guard let spec = entry.objectValue else { throw .invalid(field, "expected an object with env or file, and phases") }
                if let unknown = spec.keys.sorted().first(where: { !["env", "file", "phases"].contains($0) }) {
                    throw .invalid("\(field).\(unknown)", "unknown key; expected env, file or phases")
                }
                secrets.append(AgentSecret(
                    name: name, env: try string("\(field).env", spec["env"]), file: try string("\(field).file", spec["file"]),
                    phases: try phases("\(field).phases", spec["phases"]) ?? [.agent]))
            }
        }
        if let path = try string("env_file", object["env_file"]) {
            envFile = EnvFile(path: path, phases: try phases("env_file_phases", object["env_file_phases"]) ?? [.agent])
        }
        if let globs = try strings("artifacts", object["artifacts"]) { artifacts = globs }
    }

    /// The isolation settings in their wire and config form (only those set).
    public var isolationJSON: [String: JSONValue] {
        var object: [String: JSONValue] = [:]
        if !policy.isEmpty { object["policy"] = policy.json }
        if let setup {
            var table: [String: JSONValue] = ["command": .array(setup.command.map(JSONValue.string))]
            if !setup.policy.isEmpty { table["policy"] = setup.policy.json }
            if let timeout = setup.timeout { table["timeout"] = .double(timeout) }
            object["setup"] = .object(table)
        }
        if let git {
            object["repo"] = .string(git.repo)
            if let base = git.base { object["base"] = .string(base) }
            object["keep_worktree"] = .bool(git.keepWorktree)
            if let cap = git.repoConcurrency { object["repo_concurrency"] = .int(Int64(cap)) }
            object["spare_worktrees"] = .int(Int64(git.spareWorktrees))
        }
        if !secrets.isEmpty {
            object["secrets"] = .object(Dictionary(uniqueKeysWithValues: secrets.map { secret in
                var spec: [String: JSONValue] = ["phases": .array(secret.phases.map { .string($0.rawValue) })]
                if let env = secret.env { spec["env"] = .string(env) }
                if let file = secret.file { spec["file"] = .string(file) }
                return (secret.name, JSONValue.object(spec))
            }))
        }
        if let envFile {
            object["env_file"] = .string(envFile.path)
            object["env_file_phases"] = .array(envFile.phases.map { .string($0.rawValue) })
        }
        if !artifacts.isEmpty { object["artifacts"] = .array(artifacts.map(JSONValue.string)) }
        return object
    }
}
