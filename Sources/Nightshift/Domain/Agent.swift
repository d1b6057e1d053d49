/// The kind of runner an agent uses. A struct with static members so the set can grow.
public struct RunnerKind: Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The text form used in config files and the API.
    public let rawValue: String
    /// Wraps a kind's text form.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// A string literal.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The text form.
    public var description: String { rawValue }

    /// Any program: argv from the agent's config, prompt on stdin.
    public static let command = RunnerKind("command")
    /// An in-process Swift closure.
    public static let builtin = RunnerKind("builtin")
    /// Anthropic's Claude Code CLI (`claude -p --output-format stream-json`).
    public static let claudeCode = RunnerKind("claude_code")
    /// OpenAI's Codex CLI (`codex exec --json`).
    public static let codex = RunnerKind("codex")
    /// Google's Gemini CLI (`gemini --output-format stream-json`).
    public static let gemini = RunnerKind("gemini")
    /// A durable workflow registered in-process (``WorkflowRunner``).
    public static let workflow = RunnerKind("workflow")

    /// Decodes the text form.
    public init(from decoder: any Decoder) throws {
        self.rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    /// Encodes the text form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A named agent profile: how its tasks are run and the defaults and limits they get.
///
/// Stores keep an agent as its `Codable` document (see docs/design-notes.md, "Agents as
/// documents"): a new field needs no schema migration, only a default when an older document lacks
/// it (``init(from:)`` reads every field but the name and the runner with `decodeIfPresent`).
public struct Agent: Sendable, Hashable, Codable {
    /// The workspace the agent belongs to: names are unique per workspace, and a task runs with the
    /// agent of its own workspace.
    public var workspaceID: String
    /// Unique name in its workspace, used by tasks to pick the agent.
    public var name: String
    /// Which runner runs its tasks.
    public var runner: RunnerKind
    /// The runner's settings (for `command`: `command`, `workdir`, `env`). A JSON object.
    public var config: JSONValue
    /// At most this many of its tasks run at once across all workers; `nil` for no limit.
    public var concurrency: Int?
    /// Default per-run timeout in seconds for its tasks; `nil` for none.
    public var timeout: Double?
    /// Seconds a run may go without reporting an event (an agent CLI's output line) before the
    /// engine stops it as `stalled` and retries it, resuming its session; `nil` for no watchdog.
    public var stallTimeout: Double?
    /// Default retry policy for its tasks.
    public var retry: RetryPolicy
    /// The most its runs may cost in total, in USD; `nil` for no limit. Once its runs have spent
    /// it, submits are refused and its queued tasks fail with "budget exceeded".
    public var budgetUSD: Double?
    /// What its runs have cost so far, in USD (kept by the store; ignored when saving).
    public var spentUSD: Double
    /// Whether its memories are put before each task's prompt.
    public var injectMemories: Bool
    /// When its tasks ask a person before acting (a task may override it).
    public var ask: AskPolicy
    /// At most this many of its runs start per window, across all nodes (a token bucket kept in
    /// the store); `nil` for no limit.
    public var rate: AgentRate?
    /// The agents that share a provider's quota: a usage limit met by one parks them all. `nil`:
    /// the agent's own name (see ``effectiveQuotaGroup``).
    public var quotaGroup: String?
    /// Whether a provider's usage limit parks its quota group until the reset (the run charges no
    /// failure); `false`: the run fails as a retryable failure, not retried before the reset.
    public var parkOnLimit: Bool
    /// What its processes may do (a task may narrow it): ``ExecutionPolicy``.
    public var policy: ExecutionPolicy
    /// The command run before each run (dependencies, with its own policy), if any.
    public var setup: SetupPhase?
    /// The repository each of its tasks gets a worktree of, if any.
    public var git: GitWorkspace?
    /// Values given to its processes as environment variables, never logged.
    public var secrets: [AgentSecret]
    /// A dotenv file whose variables are secrets of its runs, if any.
    public var envFile: EnvFile?
    /// Globs (relative to the workspace) of files kept as each run's artifacts.
    public var artifacts: [String]

    /// Creates an agent.
    public init(
        workspaceID: String = Workspace.defaultID,
        name: String,
        runner: RunnerKind,
        config: JSONValue = .object([:]),
        concurrency: Int? = nil,
        timeout: Double? = nil,
        stallTimeout: Double? = nil,
        retry: RetryPolicy = .default,
        budgetUSD: Double? = nil,
        spentUSD: Double = 0,
        injectMemories: Bool = false,
        ask: AskPolicy = .off,
        rate: AgentRate? = nil,
        quotaGroup: String? = nil,
        parkOnLimit: Bool = true,
        policy: ExecutionPolicy = ExecutionPolicy(),
        setup: SetupPhase? = nil,
        git: GitWorkspace? = nil,
        secrets: [AgentSecret] = [],
        envFile: EnvFile? = nil,
        artifacts: [String] = []
    ) {
        self.policy = policy
        self.setup = setup
        self.git = git
        self.secrets = secrets
        self.envFile = envFile
        self.artifacts = artifacts
        self.ask = ask
        self.rate = rate
        self.quotaGroup = quotaGroup
        self.parkOnLimit = parkOnLimit
        self.workspaceID = workspaceID
        self.name = name
        self.runner = runner
        self.config = config
        self.concurrency = concurrency
        self.timeout = timeout
        self.stallTimeout = stallTimeout
        self.retry = retry
        self.budgetUSD = budgetUSD
        self.spentUSD = spentUSD
        self.injectMemories = injectMemories
    }

    private enum CodingKeys: String, CodingKey {
        case workspaceID, name, runner, config, concurrency, timeout, stallTimeout, retry, budgetUSD, spentUSD, injectMemories, ask, rate
        case quotaGroup, parkOnLimit, policy, setup, git, secrets, envFile, artifacts
    }

    /// Decodes a stored document. Only the name and the runner are required: every other field
    /// takes its default when absent, so documents written before a field existed still decode.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Agent(name: "", runner: .command)
        self.init(
            workspaceID: try container.decodeIfPresent(String.self, forKey: .workspaceID) ?? defaults.workspaceID,
            name: try container.decode(String.self, forKey: .name),
            runner: try container.decode(RunnerKind.self, forKey: .runner),
            config: try container.decodeIfPresent(JSONValue.self, forKey: .config) ?? defaults.config,
            concurrency: try container.decodeIfPresent(Int.self, forKey: .concurrency),
            timeout: try container.decodeIfPresent(Double.self, forKey: .timeout),
            stallTimeout: try container.decodeIfPresent(Double.self, forKey: .stallTimeout),
            retry: try container.decodeIfPresent(RetryPolicy.self, forKey: .retry) ?? defaults.retry,
            budgetUSD: try container.decodeIfPresent(Double.self, forKey: .budgetUSD),
            spentUSD: try container.decodeIfPresent(Double.self, forKey: .spentUSD) ?? defaults.spentUSD,
            injectMemories: try container.decodeIfPresent(Bool.self, forKey: .injectMemories) ?? defaults.injectMemories,
            ask: try container.decodeIfPresent(AskPolicy.self, forKey: .ask) ?? defaults.ask,
            rate: try container.decodeIfPresent(AgentRate.self, forKey: .rate),
            quotaGroup: try container.decodeIfPresent(String.self, forKey: .quotaGroup),
            parkOnLimit: try container.decodeIfPresent(Bool.self, forKey: .parkOnLimit) ?? defaults.parkOnLimit,
            policy: try container.decodeIfPresent(ExecutionPolicy.self, forKey: .policy) ?? defaults.policy,
            setup: try container.decodeIfPresent(SetupPhase.self, forKey: .setup),
            git: try container.decodeIfPresent(GitWorkspace.self, forKey: .git),
            secrets: try container.decodeIfPresent([AgentSecret].self, forKey: .secrets) ?? [],
            envFile: try container.decodeIfPresent(EnvFile.self, forKey: .envFile),
            artifacts: try container.decodeIfPresent([String].self, forKey: .artifacts) ?? [])
    }

    /// What is left of its budget (never below 0), or `nil` without one.
    public var remainingBudgetUSD: Double? {
        budgetUSD.map { max(0, $0 - spentUSD) }
    }

    /// The quota group it belongs to: ``quotaGroup``, else its own name.
    public var effectiveQuotaGroup: String { quotaGroup ?? name }

    /// Checks the fields; the error names the first bad one.
    public func validate() throws(NightshiftError) {
        try Workspace.validate(id: workspaceID, field: "workspace_id")
        guard TextRules.isAgentName(name) else { throw .invalid("name", "expected \(TextRules.agentNameRule), got '\(name)'") }
        guard config.objectValue != nil else { throw .invalid("config", "expected a JSON object") }
        if let concurrency, concurrency < 1 { throw .invalid("concurrency", "expected an integer ≥ 1, got \(concurrency)") }
        if let timeout, !(timeout > 0 && timeout.isFinite) { throw .invalid("timeout", "expected a duration > 0") }
        if let stallTimeout, !(stallTimeout > 0 && stallTimeout.isFinite) { throw .invalid("stall_timeout", "expected a duration > 0") }
        if let budgetUSD, !(budgetUSD > 0 && budgetUSD.isFinite) { throw .invalid("budget_usd", "expected a number of USD > 0") }
        try retry.validate()
        try ask.validate(field: "ask", runner: runner)
        try rate?.validate(field: "rate")
        if let quotaGroup, !TextRules.isAgentName(quotaGroup) {
            throw .invalid("quota_group", "expected \(TextRules.agentNameRule), got '\(quotaGroup)'")
        }
        try setup?.validate()
        try git?.validate()
        for secret in secrets { try secret.validate() }
        try envFile?.validate()
        if let bad = artifacts.first(where: { $0.isEmpty || $0.hasPrefix("/") || $0.split(separator: "/").contains("..") }) {
            throw .invalid("artifacts", "expected globs relative to the workspace (no leading / or ..), got '\(bad)'")
        }
    }
}
