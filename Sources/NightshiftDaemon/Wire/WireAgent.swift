import Foundation
import Nightshift

/// An agent (a named runner profile) as the API answers it.
public struct WireAgent: WireValue, Hashable {
    /// Its name.
    public var name: String
    /// Its runner kind (`claude_code`, `command`, …).
    public var runner: String
    /// The runner's config.
    public var config: JSONValue
    /// How many of its tasks may run at once, if limited.
    public var concurrency: Int?
    /// Seconds a run may take, if limited.
    public var timeout: Double?
    /// Seconds a run may go without an event before it is stopped as `stalled` and retried, if watched.
    public var stallTimeout: Double?
    /// Attempts in all, the first included.
    public var maxAttempts: Int
    /// Seconds before the first retry.
    public var initialBackoff: Double
    /// The longest wait between retries, in seconds.
    public var maxBackoff: Double
    /// Its spending limit in US dollars, if any.
    public var budgetUSD: Double?
    /// What its runs have spent in US dollars.
    public var spentUSD: Double
    /// Whether its memories are put before each prompt.
    public var injectMemories: Bool
    /// When its tasks ask a person before acting: `off` or `always` (each waits for an approve
    /// before its first run); a task's own `ask` overrides it.
    public var ask: String
    /// At most this many of its runs start per window (`"30/1h"`), if limited.
    public var rate: String?
    /// The agents sharing its provider quota: a usage limit parks them all (its own name unless set).
    public var quotaGroup: String
    /// Whether a usage limit parks its quota group (else the run fails, retried after the reset).
    public var parkOnLimit: Bool
    /// Its rate tokens and its quota group's park now (`null` where the server did not read them).
    public var pacing: WirePacing?
    /// What its processes may do (``ExecutionPolicy``'s keys), if set.
    public var policy: JSONValue?
    /// The command run before each run (`command`, `timeout`, `policy`), if any.
    public var setup: JSONValue?
    /// The git repository each task gets a worktree of, if any.
    public var repo: String?
    /// What each task's branch starts from (default: the repository's HEAD).
    public var base: String?
    /// Whether a task's worktree stays after it ends.
    public var keepWorktree: Bool?
    /// The most live tasks per repository, across agents and nodes.
    public var repoConcurrency: Int?
    /// Worktrees kept checked out at the base for the next tasks (default 1).
    public var spareWorktrees: Int?
    /// Secrets by variable name: `{"env": "VAR"}` or `{"file": "/path"}`, with `phases`.
    public var secrets: JSONValue?
    /// A dotenv file whose variables are secrets.
    public var envFile: String?
    /// The phases that get `env_file`'s variables (default `["agent"]`).
    public var envFilePhases: [String]?
    /// Globs of workspace files kept as each run's artifacts.
    public var artifacts: [String]?

    enum CodingKeys: String, CodingKey {
        case policy, setup, repo, base, secrets, artifacts
        case keepWorktree = "keep_worktree", repoConcurrency = "repo_concurrency", envFile = "env_file", envFilePhases = "env_file_phases"
        case spareWorktrees = "spare_worktrees"
        case name, runner, config, concurrency, timeout, ask, rate, pacing
        case maxAttempts = "max_attempts", initialBackoff = "initial_backoff", maxBackoff = "max_backoff"
        case budgetUSD = "budget_usd", spentUSD = "spent_usd", injectMemories = "inject_memories"
        case stallTimeout = "stall_timeout"
        case quotaGroup = "quota_group", parkOnLimit = "park_on_limit"
    }
}

extension WireAgent {
    /// The wire form of `agent`, with its `pacing` when known.
    public init(_ agent: Agent, pacing: AgentPacing? = nil) {
        self.init(
            name: agent.name, runner: agent.runner.rawValue, config: agent.config, concurrency: agent.concurrency,
            timeout: agent.timeout, stallTimeout: agent.stallTimeout, maxAttempts: agent.retry.maxAttempts, initialBackoff: agent.retry.initialBackoff,
            maxBackoff: agent.retry.maxBackoff, budgetUSD: agent.budgetUSD, spentUSD: agent.spentUSD,
            injectMemories: agent.injectMemories, ask: agent.ask.rawValue, rate: agent.rate?.description,
            quotaGroup: agent.effectiveQuotaGroup, parkOnLimit: agent.parkOnLimit, pacing: pacing.map(WirePacing.init))
        let isolation = agent.isolationJSON
        policy = isolation["policy"]
        setup = isolation["setup"]
        repo = isolation["repo"]?.stringValue
        base = isolation["base"]?.stringValue
        if case .bool(let keep)? = isolation["keep_worktree"] { keepWorktree = keep }
        if case .int(let cap)? = isolation["repo_concurrency"] { repoConcurrency = Int(cap) }
        if case .int(let count)? = isolation["spare_worktrees"] { spareWorktrees = Int(count) }
        secrets = isolation["secrets"]
        envFile = isolation["env_file"]?.stringValue
        envFilePhases = Self.strings(isolation["env_file_phases"])
        artifacts = Self.strings(isolation["artifacts"])
    }

    private static func strings(_ value: JSONValue?) -> [String]? {
        guard case .array(let items)? = value else { return nil }
        return items.compactMap(\.stringValue)
    }
}

/// The body of `POST /v1/agents` and `PUT /v1/agents/{name}`: an agent to create or replace. Nil
/// members take the server's defaults.
public struct WireAgentWrite: WireRequest, Hashable {
    /// The name; required on POST, and on PUT equal to the path's if given.
    public var name: String?
    /// The runner kind.
    public var runner: String
    /// The runner's config (default `{}`).
    public var config: JSONValue?
    /// How many of its tasks may run at once.
    public var concurrency: Int?
    /// Seconds a run may take.
    public var timeout: Double?
    /// Seconds a run may go without an event before it is stopped as `stalled` and retried.
    public var stallTimeout: Double?
    /// Attempts in all, the first included.
    public var maxAttempts: Int?
    /// Seconds before the first retry.
    public var initialBackoff: Double?
    /// The longest wait between retries, in seconds.
    public var maxBackoff: Double?
    /// The spending limit in US dollars.
    public var budgetUSD: Double?
    /// Whether its memories are put before each prompt (default false).
    public var injectMemories: Bool?
    /// When its tasks ask a person before acting: `off` (the default), `always`, or `on-miss` (a
    /// tool call outside its allowlist waits for an approval; `claude_code` agents only).
    public var ask: String?
    /// At most this many runs start per window: `"N/window"`, e.g. `"30/1h"` (units s, m, h, d).
    public var rate: String?
    /// The agents that share its provider quota (default: its own name).
    public var quotaGroup: String?
    /// Whether a usage limit parks its quota group (default true).
    public var parkOnLimit: Bool?
    /// What its processes may do (``ExecutionPolicy``'s keys), if set.
    public var policy: JSONValue?
    /// The command run before each run (`command`, `timeout`, `policy`), if any.
    public var setup: JSONValue?
    /// The git repository each task gets a worktree of, if any.
    public var repo: String?
    /// What each task's branch starts from (default: the repository's HEAD).
    public var base: String?
    /// Whether a task's worktree stays after it ends.
    public var keepWorktree: Bool?
    /// The most live tasks per repository, across agents and nodes.
    public var repoConcurrency: Int?
    /// Worktrees kept checked out at the base for the next tasks (default 1).
    public var spareWorktrees: Int?
    /// Secrets by variable name: `{"env": "VAR"}` or `{"file": "/path"}`, with `phases`.
    public var secrets: JSONValue?
    /// A dotenv file whose variables are secrets.
    public var envFile: String?
    /// The phases that get `env_file`'s variables (default `["agent"]`).
    public var envFilePhases: [String]?
    /// Globs of workspace files kept as each run's artifacts.
    public var artifacts: [String]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case policy, setup, repo, base, secrets, artifacts
        case keepWorktree = "keep_worktree", repoConcurrency = "repo_concurrency", envFile = "env_file", envFilePhases = "env_file_phases"
        case spareWorktrees = "spare_worktrees"

        case name, runner, config, concurrency, timeout, ask, rate
        case maxAttempts = "max_attempts", initialBackoff = "initial_backoff", maxBackoff = "max_backoff"
        case budgetUSD = "budget_usd", injectMemories = "inject_memories", stallTimeout = "stall_timeout", quotaGroup = "quota_group"
        case parkOnLimit = "park_on_limit"
    }

    /// An agent write; only `runner` is required.
    public init(
        name: String? = nil, runner: String, config: JSONValue? = nil, concurrency: Int? = nil, timeout: Double? = nil,
        maxAttempts: Int? = nil, initialBackoff: Double? = nil, maxBackoff: Double? = nil, budgetUSD: Double? = nil,
        injectMemories: Bool? = nil, ask: String? = nil, stallTimeout: Double? = nil, rate: String? = nil, quotaGroup: String? = nil,
        parkOnLimit: Bool? = nil, policy: JSONValue? = nil
    ) {
        self.policy = policy
        self.rate = rate
        self.quotaGroup = quotaGroup
        self.parkOnLimit = parkOnLimit
        self.name = name
        self.runner = runner
        self.config = config
        self.concurrency = concurrency
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.budgetUSD = budgetUSD
        self.injectMemories = injectMemories
        self.ask = ask
        self.stallTimeout = stallTimeout
    }

    /// The agent this body describes; `pathName` is the name in the path of a PUT.
    func agent(pathName: String?) throws -> Agent {
        guard let agentName = pathName ?? name else { throw NightshiftError(.invalidInput, "is required (a string)", field: "name") }
        if let pathName, let name, pathName != name {
            throw NightshiftError(.invalidInput, "differs from the name in the path", field: "name")
        }
        var retry = RetryPolicy.default
        if let maxAttempts { retry.maxAttempts = maxAttempts }
        if let initialBackoff { retry.initialBackoff = initialBackoff }
        if let maxBackoff { retry.maxBackoff = maxBackoff }
        var agent = Agent(
            name: agentName, runner: RunnerKind(runner), config: config ?? .object([:]), concurrency: concurrency,
            timeout: timeout, stallTimeout: stallTimeout, retry: retry, budgetUSD: budgetUSD, injectMemories: injectMemories ?? false,
            ask: try ask.map { try AskPolicy(wire: $0, field: "ask") } ?? .off,
            rate: try rate.map { text throws(NightshiftError) in try AgentRate(parsing: text, field: "rate") },
            quotaGroup: quotaGroup, parkOnLimit: parkOnLimit ?? true)
        var isolation: [String: JSONValue] = [:]
        isolation["policy"] = policy
        isolation["setup"] = setup
        isolation["repo"] = repo.map(JSONValue.string)
        isolation["base"] = base.map(JSONValue.string)
        isolation["keep_worktree"] = keepWorktree.map(JSONValue.bool)
        isolation["repo_concurrency"] = repoConcurrency.map { .int(Int64($0)) }
        isolation["spare_worktrees"] = spareWorktrees.map { .int(Int64($0)) }
        isolation["secrets"] = secrets
        isolation["env_file"] = envFile.map(JSONValue.string)
        isolation["env_file_phases"] = envFilePhases.map { .array($0.map(JSONValue.string)) }
        isolation["artifacts"] = artifacts.map { .array($0.map(JSONValue.string)) }
        try agent.readIsolation(isolation)
        try agent.validate()
        return agent
    }
}
