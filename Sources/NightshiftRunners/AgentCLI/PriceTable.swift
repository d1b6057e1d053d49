import Nightshift

/// USD prices per million tokens, by model: the `prices` config key of the agent CLIs that report
/// tokens but no cost (Codex, Gemini), from which a run's cost is estimated.
///
/// ```toml
/// [agents.coder.prices."gpt-5-codex"]
/// input = 1.25          # uncached input tokens
/// cached_input = 0.125  # input tokens read from the prompt cache; default: `input`
/// output = 10.0
/// ```
struct PriceTable: Sendable, Hashable {
    /// One model's prices, USD per 1M tokens.
    struct Price: Sendable, Hashable {
        /// Per uncached input token.
        var input: Double
        /// Per input token read from the prompt cache.
        var cachedInput: Double
        /// Per output token.
        var output: Double
    }

    /// Token counts to price.
    struct Tokens: Sendable, Hashable {
        /// Input tokens not read from the cache.
        var uncachedInput = 0
        /// Input tokens read from the cache.
        var cachedInput = 0
        /// Output tokens.
        var output = 0
        /// Input tokens written to the prompt cache (priced as uncached input).
        var cacheWrite = 0

        /// Both counts added, kind by kind.
        static func + (left: Tokens, right: Tokens) -> Tokens {
            Tokens(
                uncachedInput: left.uncachedInput + right.uncachedInput, cachedInput: left.cachedInput + right.cachedInput,
                output: left.output + right.output, cacheWrite: left.cacheWrite + right.cacheWrite)
        }
    }

    /// The prices by model name.
    var models: [String: Price]

    /// A table of `models`.
    init(models: [String: Price] = [:]) {
        self.models = models
    }

    private static let expected = "a table {input, output, cached_input?} of USD per 1M tokens (numbers ≥ 0)"

    /// Reads the `prices` key: a table of model name → {input, output, cached_input?}.
    static func read(_ reader: inout RunnerConfigReader) throws(NightshiftError) -> PriceTable {
        guard let entries = try reader.object("prices") else { return PriceTable() }
        var models: [String: Price] = [:]
        for (model, entry) in entries {
            let key = "prices.\(model)"
            guard let members = entry.objectValue, Set(members.keys).isSubset(of: ["input", "cached_input", "output"]) else {
                throw reader.problem(key, expected)
            }
            func number(_ name: String) -> Double? {
                guard let value = members[name]?.doubleValue, value >= 0, value.isFinite else { return nil }
                return value
            }
            guard let input = number("input"), let output = number("output") else { throw reader.problem(key, expected) }
            if members["cached_input"] != nil, number("cached_input") == nil { throw reader.problem(key, expected) }
            models[model] = Price(input: input, cachedInput: number("cached_input") ?? input, output: output)
        }
        return PriceTable(models: models)
    }

    /// The cost of `tokens` of `model`, or `nil` when the table has no price for it.
    func cost(of tokens: Tokens, model: String?) -> Double? {
        guard let model, let price = models[model] else { return nil }
        let micro = Double(tokens.uncachedInput + tokens.cacheWrite) * price.input + Double(tokens.cachedInput) * price.cachedInput
            + Double(tokens.output) * price.output
        return micro / 1_000_000
    }

    /// The data of the `log` warning for a model the table has no price for.
    static func missingPrice(model: String?) -> JSONValue {
        ["level": "warning", "message": .string("no price for model \(model ?? "(not named)"); cost recorded as 0")]
    }
}
