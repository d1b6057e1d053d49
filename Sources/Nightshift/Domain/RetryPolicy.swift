/// How often and how soon a failed task is tried again: exponential backoff with jitter, capped.
public struct RetryPolicy: Sendable, Hashable, Codable {
    /// Attempts in all, the first included. 1 means never retry.
    public var maxAttempts: Int
    /// The delay before the first retry, in seconds.
    public var initialBackoff: Double
    /// The largest delay between attempts, in seconds.
    public var maxBackoff: Double

    /// The default: 2 attempts, backoff from 1 s up to 5 minutes.
    public init(maxAttempts: Int = 2, initialBackoff: Double = 1, maxBackoff: Double = 300) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
    }

    /// The default policy.
    public static let `default` = RetryPolicy()

    /// The delay after the `failures`-th failure (1-based): `initial × 2^(failures-1)`, capped at
    /// `maxBackoff`, then "equal jitter" — half fixed, half random — so retries of tasks that failed
    /// together spread out. `random` is a number in 0..<1.
    public func delay(afterFailure failures: Int, random: Double) -> Double {
        let exponent = max(0, min(failures - 1, 30))
        let base = min(maxBackoff, initialBackoff * Double(1 << exponent))
        return base / 2 + base / 2 * min(max(random, 0), 1)
    }

    /// Checks the fields; the error names the first bad one.
    public func validate(fieldPrefix: String = "") throws(NightshiftError) {
        guard maxAttempts >= 1 else { throw .invalid(fieldPrefix + "max_attempts", "expected an integer ≥ 1, got \(maxAttempts)") }
        guard initialBackoff >= 0, initialBackoff.isFinite else {
            throw .invalid(fieldPrefix + "initial_backoff", "expected a number of seconds ≥ 0")
        }
        guard maxBackoff >= initialBackoff, maxBackoff.isFinite else {
            throw .invalid(fieldPrefix + "max_backoff", "expected a number of seconds ≥ initial_backoff")
        }
    }
}
