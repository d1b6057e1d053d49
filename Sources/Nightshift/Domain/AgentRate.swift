import Foundation

/// An agent's rate limit: at most ``limit`` runs started per ``window``, as a token bucket that
/// holds ``limit`` tokens and refills continuously at `limit / window` tokens a second. Written
/// `"N/window"`: `"30/1h"`, `"5/90s"`, `"100/d"` (units `s`, `m`, `h`, `d`; a bare unit is one of it).
public struct AgentRate: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The bucket's size: runs that may start at once after a quiet window.
    public var limit: Int
    /// The window over which ``limit`` tokens refill, in seconds.
    public var window: Double

    /// A rate of `limit` per `window` seconds (checked by ``validate()``).
    public init(limit: Int, window: Double) {
        self.limit = limit
        self.window = window
    }

    /// Parses `"N/window"`; the error names `field`.
    public init(parsing text: String, field: String = "rate") throws(NightshiftError) {
        let expected = "expected \"N/window\" with N ≥ 1 and a window > 0 in s, m, h or d (e.g. \"30/1h\"), got '\(text)'"
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let limit = Int(parts[0].trimmingCharacters(in: .whitespaces)), limit >= 1,
              let window = Self.seconds(parts[1].trimmingCharacters(in: .whitespaces)), window > 0, window.isFinite
        else { throw .invalid(field, expected) }
        self.init(limit: limit, window: window)
    }

    /// `"30/1h"`-style text: the window in its largest whole unit.
    public var description: String {
        for (unit, seconds) in [("d", 86_400.0), ("h", 3_600), ("m", 60)] where window >= seconds && window.truncatingRemainder(dividingBy: seconds) == 0 {
            return "\(limit)/\(Int(window / seconds))\(unit)"
        }
        let whole = window.rounded() == window
        return "\(limit)/\(whole ? String(Int(window)) : String(window))s"
    }

    /// Checks the fields, naming `field`.
    public func validate(field: String = "rate") throws(NightshiftError) {
        guard limit >= 1 else { throw .invalid(field, "expected N ≥ 1 runs per window, got \(limit)") }
        guard window > 0, window.isFinite else { throw .invalid(field, "expected a window > 0") }
    }

    /// Tokens a second.
    public var refillPerSecond: Double { Double(limit) / window }

    /// Decodes the text form.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    /// Encodes the text form.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// `1h`, `90s`, `1.5m`, `d`: seconds, or `nil`.
    private static func seconds(_ text: String) -> Double? {
        guard let unit = text.last else { return nil }
        let scale: Double
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3_600
        case "d": scale = 86_400
        default: return nil
        }
        let number = text.dropLast()
        if number.isEmpty { return scale }
        guard number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let value = Double(number) else { return nil }
        return value * scale
    }
}

/// An agent's token bucket as the stores keep it: the tokens it held at ``updatedAt`` (seconds since
/// 1970). A bucket never written is full. Pure arithmetic: the stores read and write it in the
/// claim's transaction, so every node shares one bucket per agent.
public struct RateBucket: Sendable, Hashable {
    /// Tokens at ``updatedAt`` (fractional: refills are continuous).
    public var tokens: Double
    /// When ``tokens`` was computed, in seconds since 1970.
    public var updatedAt: Double

    /// A bucket of `tokens` at `updatedAt`.
    public init(tokens: Double, updatedAt: Double) {
        self.tokens = tokens
        self.updatedAt = updatedAt
    }

    /// The bucket as stored (`nil` columns: never used, so full) brought forward to `now` under `rate`.
    public init(tokens: Double?, updatedAt: Double?, rate: AgentRate, now: Double) {
        guard let tokens, let updatedAt else {
            self.init(tokens: Double(rate.limit), updatedAt: now)
            return
        }
        let refilled = tokens + max(0, now - updatedAt) * rate.refillPerSecond
        self.init(tokens: min(Double(rate.limit), refilled), updatedAt: max(now, updatedAt))
    }

    /// Whole tokens: the runs that may start now.
    public var whole: Int { Int(max(0, tokens + 1e-9).rounded(.down)) }

    /// When the next whole token is there (`nil`: one is there now), in seconds since 1970.
    public func nextToken(rate: AgentRate) -> Double? {
        guard whole < 1 else { return nil }
        return updatedAt + (1 - tokens) / rate.refillPerSecond
    }

    /// When the bucket is full again (`nil`: it is full), in seconds since 1970.
    public func fullAt(rate: AgentRate) -> Double? {
        let missing = Double(rate.limit) - tokens
        guard missing > 1e-9 else { return nil }
        return updatedAt + missing / rate.refillPerSecond
    }
}
