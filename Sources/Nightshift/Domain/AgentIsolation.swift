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

    /// Creates a git workspace.
    public init(repo: String, base: String? = nil, keepWorktree: Bool = false, repoConcurrency: Int? = nil) {
        self.repo = repo
        self.base = base
        self.keepWorktree = keepWorktree
        self.repoConcurrency = repoConcurrency
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
