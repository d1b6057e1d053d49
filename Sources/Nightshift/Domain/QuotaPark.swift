import Foundation

/// How long a provider's usage limit parks a quota group: the reset plus a margin when the
/// provider says when it resets, else a default that doubles with each park that follows one.
public struct ParkPolicy: Sendable, Hashable {
    /// Added to a reset time the provider gave, in seconds: its clock and ours differ, and a
    /// limit may lift a little after the time it names.
    public var margin: Double
    /// The park when the provider names no reset, in seconds: a probe after it finds out whether
    /// the limit has lifted.
    public var defaultDuration: Double
    /// The longest park a default may grow to by doubling, in seconds.
    public var maxDuration: Double

    /// A policy; the defaults: a 60 s margin, a 30 min default park, doubling up to 8 h.
    public init(margin: Double = 60, defaultDuration: Double = 1_800, maxDuration: Double = 8 * 3_600) {
        self.margin = margin
        self.defaultDuration = defaultDuration
        self.maxDuration = maxDuration
    }
}

/// A quota group parked until a usage limit resets, as the stores keep it: claims skip the queued
/// tasks of every agent of the group until ``until``. The row outlives the park: ``streak`` counts
/// the default parks in a row, so the next one doubles.
public struct QuotaPark: Sendable, Hashable {
    /// The group's workspace and name (an agent's `quota_group`, by default its own name).
    public var group: ScopedName
    /// When claims may take its tasks again, in seconds since 1970.
    public var until: Double
    /// Why: the provider's message.
    public var reason: String
    /// When the park began, in seconds since 1970.
    public var since: Double
    /// Default parks in a row, this one included (0: the provider named the reset).
    public var streak: Int

    /// Creates a park.
    public init(group: ScopedName, until: Double, reason: String, since: Double, streak: Int) {
        self.group = group
        self.until = until
        self.reason = reason
        self.since = since
        self.streak = streak
    }

    /// The park a usage limit starts at `now`: until `resetsAt` plus the margin when known, else
    /// the default duration, doubled for each default park just before it (`previous`, if it ended
    /// less than its own length ago), at most the policy's maximum. A park never shortens one
    /// still in force.
    public static func starting(
        group: ScopedName, resetsAt: Date?, reason: String, policy: ParkPolicy, previous: QuotaPark?, now: Double
    ) -> QuotaPark {
        var until: Double
        var streak = 0
        if let resetsAt, resetsAt.timeIntervalSince1970 > now - policy.margin {
            until = resetsAt.timeIntervalSince1970 + policy.margin
        } else {
            var duration = policy.defaultDuration
            if let previous, previous.streak > 0, now < previous.until + (previous.until - previous.since) {
                streak = previous.streak
                duration = min(policy.maxDuration, policy.defaultDuration * pow(2, Double(min(streak, 40))))
            }
            streak += 1
            until = now + max(duration, 0)
        }
        if let previous, previous.until > until, previous.until > now { until = previous.until }
        return QuotaPark(group: group, until: until, reason: reason, since: now, streak: streak)
    }
}

/// What a run that met its provider's usage limit asks of the settle: park its agent's quota group.
public struct ParkRequest: Sendable, Hashable {
    /// The quota group of the run's agent.
    public var group: String
    /// How long to park.
    public var policy: ParkPolicy

    /// Creates a request.
    public init(group: String, policy: ParkPolicy) {
        self.group = group
        self.policy = policy
    }
}

/// An agent's pacing as a status shows it: what is left of its rate bucket and whether its quota
/// group is parked.
public struct AgentPacing: Sendable, Hashable {
    /// The agent.
    public var agent: ScopedName
    /// Its quota group.
    public var quotaGroup: String
    /// Its rate, if it has one.
    public var rate: AgentRate?
    /// Whole tokens left in its bucket (`nil` without a rate).
    public var tokens: Int?
    /// When the next token is added (`nil`: the bucket is full, or there is no rate).
    public var nextRefill: Date?
    /// When its quota group's park ends (`nil`: not parked).
    public var parkedUntil: Date?
    /// Why its quota group is parked.
    public var parkReason: String?

    /// Creates a value.
    public init(
        agent: ScopedName, quotaGroup: String, rate: AgentRate?, tokens: Int?, nextRefill: Date?, parkedUntil: Date?, parkReason: String?
    ) {
        self.agent = agent
        self.quotaGroup = quotaGroup
        self.rate = rate
        self.tokens = tokens
        self.nextRefill = nextRefill
        self.parkedUntil = parkedUntil
        self.parkReason = parkReason
    }

    /// Computes the pacing of an agent at `now` from what the store read: its rate and bucket
    /// columns, and its group's park (ignored once over).
    public init(agent: ScopedName, quotaGroup: String, rate: AgentRate?, bucketTokens: Double?, bucketAt: Double?, park: (until: Double, reason: String)?, now: Date) {
        let time = now.timeIntervalSince1970
        var tokens: Int?
        var refill: Date?
        if let rate {
            let bucket = RateBucket(tokens: bucketTokens, updatedAt: bucketAt, rate: rate, now: time)
            tokens = bucket.whole
            // The next whole token: after the fraction in the bucket fills up.
            if bucket.whole < rate.limit {
                let fraction = bucket.tokens - Double(bucket.whole)
                refill = Date(timeIntervalSince1970: time + (1 - fraction) / rate.refillPerSecond)
            }
        }
        let active = park.flatMap { $0.until > time ? $0 : nil }
        self.init(
            agent: agent, quotaGroup: quotaGroup, rate: rate, tokens: tokens, nextRefill: refill,
            parkedUntil: active.map { Date(timeIntervalSince1970: $0.until) }, parkReason: active?.reason)
    }
}
