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
public struct Agent: Sendable, Hashable, Codable {
    /// Unique name, used by tasks to pick the agent.
    public var name: String
    /// Which runner runs its tasks.
    public var runner: RunnerKind
    /// The runner's settings (for `command`: `command`, `workdir`, `env`). A JSON object.
    public var config: JSONValue
    /// At most this many of its tasks run at once across all workers; `nil` for no limit.
    public var concurrency: Int?
    /// Default per-run timeout in seconds for its tasks; `nil` for none.
    public var timeout: Double?
    /// Default retry policy for its tasks.
    public var retry: RetryPolicy
    /// The most its runs may cost in total, in USD; `nil` for no limit. Once its runs have spent
    /// it, submits are refused and its queued tasks fail with "budget exceeded".
    public var budgetUSD: Double?
    /// What its runs have cost so far, in USD (kept by the store; ignored when saving).
    public var spentUSD: Double
    /// Whether its memories are put before each task's prompt.
    public var injectMemories: Bool

    /// Creates an agent.
    public init(
        name: String,
        runner: RunnerKind,
        config: JSONValue = .object([:]),
        concurrency: Int? = nil,
        timeout: Double? = nil,
        retry: RetryPolicy = .default,
        budgetUSD: Double? = nil,
        spentUSD: Double = 0,
        injectMemories: Bool = false
    ) {
        self.name = name
        self.runner = runner
        self.config = config
        self.concurrency = concurrency
        self.timeout = timeout
        self.retry = retry
        self.budgetUSD = budgetUSD
        self.spentUSD = spentUSD
        self.injectMemories = injectMemories
    }

    /// What is left of its budget (never below 0), or `nil` without one.
    public var remainingBudgetUSD: Double? {
        budgetUSD.map { max(0, $0 - spentUSD) }
    }

    /// Checks the fields; the error names the first bad one.
    public func validate() throws(NightshiftError) {
        guard TextRules.isAgentName(name) else { throw .invalid("name", "expected \(TextRules.agentNameRule), got '\(name)'") }
        guard config.objectValue != nil else { throw .invalid("config", "expected a JSON object") }
        if let concurrency, concurrency < 1 { throw .invalid("concurrency", "expected an integer ≥ 1, got \(concurrency)") }
        if let timeout, !(timeout > 0 && timeout.isFinite) { throw .invalid("timeout", "expected a duration > 0") }
        if let budgetUSD, !(budgetUSD > 0 && budgetUSD.isFinite) { throw .invalid("budget_usd", "expected a number of USD > 0") }
        try retry.validate()
    }
}
