import Foundation
import Nightshift
import Testing

/// Rate buckets, parks and the claim's pacing accounting, as plain values.
@Suite("Pacing")
struct PacingTests {
    static let now = 1_800_000_000.0

    @Test("a rate parses from N/window with s, m, h, d and prints back; bad ones name the field", arguments: [
        ("30/1h", 30, 3_600.0, "30/1h"), ("5/90s", 5, 90, "5/90s"), ("100/d", 100, 86_400, "100/1d"), ("2/1.5m", 2, 90, "2/90s"),
        (" 7 / 2h ", 7, 7_200, "7/2h"),
    ])
    func parse(text: String, limit: Int, window: Double, printed: String) throws {
        let rate = try AgentRate(parsing: text)
        #expect(rate.limit == limit && rate.window == window)
        #expect(rate.description == printed)
        #expect(try AgentRate(parsing: rate.description) == rate)
    }

    @Test("a bad rate is refused naming rate", arguments: ["5/0s", "0/1h", "x", "", "3", "3/", "/1h", "-1/1h", "3/1w", "3/1h/2", "3/-1h"])
    func badRate(text: String) {
        #expect(throws: NightshiftError.self) { try AgentRate(parsing: text) }
        do {
            _ = try AgentRate(parsing: text)
        } catch {
            #expect(error.field == "rate")
            #expect(error.code == .invalidInput)
        }
    }

    @Test("an agent's rate, quota group and park_on_limit survive its document; older documents take the defaults")
    func agentDocument() throws {
        let agent = Agent(name: "a", runner: .command, rate: AgentRate(limit: 30, window: 3600), quotaGroup: "anthropic", parkOnLimit: false)
        let decoded = try JSONDecoder().decode(Agent.self, from: JSONEncoder().encode(agent))
        #expect(decoded == agent)
        #expect(decoded.effectiveQuotaGroup == "anthropic")
        let old = try JSONDecoder().decode(Agent.self, from: Data(#"{"name":"b","runner":"command"}"#.utf8))
        #expect(old.rate == nil && old.quotaGroup == nil && old.parkOnLimit && old.effectiveQuotaGroup == "b")
        #expect(throws: NightshiftError.invalid("quota_group", "expected \(TextRules.agentNameRule), got 'a b'")) {
            try Agent(name: "c", runner: .command, quotaGroup: "a b").validate()
        }
    }

    @Test("a bucket starts full, refills continuously up to its size, and says when the next token comes")
    func bucket() {
        let rate = AgentRate(limit: 4, window: 3_600)
        let fresh = RateBucket(tokens: nil, updatedAt: nil, rate: rate, now: Self.now)
        #expect(fresh.whole == 4 && fresh.nextToken(rate: rate) == nil)
        let empty = RateBucket(tokens: 0, updatedAt: Self.now, rate: rate, now: Self.now)
        #expect(empty.whole == 0)
        #expect(empty.nextToken(rate: rate) == Self.now + 900)
        let later = RateBucket(tokens: 0, updatedAt: Self.now, rate: rate, now: Self.now + 1_800)
        #expect(later.whole == 2)
        let full = RateBucket(tokens: 0, updatedAt: Self.now, rate: rate, now: Self.now + 100_000)
        #expect(full.tokens == 4)
    }

    @Test("the claim's accounting takes a token per task, holds an empty bucket's agent back, and reports its next token")
    func claimAccounting() {
        let agent = ScopedName(workspace: "default", name: "paced")
        let other = ScopedName(workspace: "default", name: "free")
        let pace = AgentPace(rate: AgentRate(limit: 2, window: 60), tokens: 2, updatedAt: Self.now, parkedUntil: nil, now: Self.now)
        var limits = ConcurrencyLimits(agentLimits: [:], laneLimits: [:], paces: [agent: pace])
        #expect(!limits.isEmpty && !limits.hasConcurrencyLimits)
        do {
            let fits = limits.admit(agent: agent, lane: nil)
            #expect(fits)
        }
        #expect(limits.saturatedAgents.isEmpty)
        do {
            let fits = limits.admit(agent: agent, lane: nil)
            #expect(fits)
        }
        do {
            let fits = limits.admit(agent: agent, lane: nil)
            #expect(!fits, "the bucket is empty")
        }
        do {
            let fits = limits.admit(agent: other, lane: nil)
            #expect(fits, "an agent without a rate is not held back")
        }
        #expect(limits.saturatedAgents == [agent])
        #expect(limits.nextOpening == Self.now + 30)
        #expect(limits.bucketWrites.map(\.bucket) == [RateBucket(tokens: 0, updatedAt: Self.now)])
    }

    @Test("a parked agent is held back until the park ends; a park over is no park")
    func parkedAccounting() {
        let agent = ScopedName(workspace: "default", name: "a")
        var limits = ConcurrencyLimits(
            agentLimits: [:], laneLimits: [:],
            paces: [agent: AgentPace(rate: nil, tokens: nil, updatedAt: nil, parkedUntil: Self.now + 600, now: Self.now)])
        do {
            let fits = limits.admit(agent: agent, lane: nil)
            #expect(!fits)
        }
        #expect(limits.saturatedAgents == [agent])
        #expect(limits.nextOpening == Self.now + 600)
        #expect(limits.bucketWrites.isEmpty)
        var over = ConcurrencyLimits(
            agentLimits: [:], laneLimits: [:],
            paces: [agent: AgentPace(rate: nil, tokens: nil, updatedAt: nil, parkedUntil: Self.now - 1, now: Self.now)])
        do {
            let fits = over.admit(agent: agent, lane: nil)
            #expect(fits)
        }
        #expect(over.nextOpening == nil)
    }

    @Test("a park lasts until the reset plus the margin; without a reset, the default, doubling while parks follow each other, capped")
    func parkLength() {
        let group = ScopedName(workspace: "default", name: "g")
        let policy = ParkPolicy(margin: 60, defaultDuration: 1_800, maxDuration: 5_000)
        let known = QuotaPark.starting(
            group: group, resetsAt: Date(timeIntervalSince1970: Self.now + 3_600), reason: "r", policy: policy, previous: nil, now: Self.now)
        #expect(known.until == Self.now + 3_660 && known.streak == 0)
        let first = QuotaPark.starting(group: group, resetsAt: nil, reason: "r", policy: policy, previous: nil, now: Self.now)
        #expect(first.until == Self.now + 1_800 && first.streak == 1)
        // The probe at its end meets the limit again: twice as long.
        let second = QuotaPark.starting(group: group, resetsAt: nil, reason: "r", policy: policy, previous: first, now: first.until + 5)
        #expect(second.until == first.until + 5 + 3_600 && second.streak == 2)
        let third = QuotaPark.starting(group: group, resetsAt: nil, reason: "r", policy: policy, previous: second, now: second.until + 5)
        #expect(third.until == second.until + 5 + 5_000, "capped at park_max")
        // Long after the last park: the default again.
        let fresh = QuotaPark.starting(group: group, resetsAt: nil, reason: "r", policy: policy, previous: third, now: third.until + 100_000)
        #expect(fresh.until == third.until + 100_000 + 1_800 && fresh.streak == 1)
        // A reset that has passed is no reset: the default applies.
        let stale = QuotaPark.starting(
            group: group, resetsAt: Date(timeIntervalSince1970: Self.now - 3_600), reason: "r", policy: policy, previous: nil, now: Self.now)
        #expect(stale.until == Self.now + 1_800)
        // A park never shortens one in force.
        let shorter = QuotaPark.starting(
            group: group, resetsAt: Date(timeIntervalSince1970: Self.now + 10), reason: "r", policy: policy, previous: known, now: Self.now)
        #expect(shorter.until == known.until)
    }

    @Test("pacing shows the tokens left, the next refill and an active park only")
    func pacing() {
        let now = Date(timeIntervalSince1970: Self.now)
        let pacing = AgentPacing(
            agent: ScopedName(workspace: "default", name: "a"), quotaGroup: "g", rate: AgentRate(limit: 10, window: 100),
            bucketTokens: 2.5, bucketAt: Self.now, park: (Self.now + 60, "limit"), now: now)
        #expect(pacing.tokens == 2)
        #expect(pacing.nextRefill == Date(timeIntervalSince1970: Self.now + 5))
        #expect(pacing.parkedUntil == Date(timeIntervalSince1970: Self.now + 60) && pacing.parkReason == "limit")
        let over = AgentPacing(
            agent: ScopedName(workspace: "default", name: "a"), quotaGroup: "g", rate: nil, bucketTokens: nil, bucketAt: nil,
            park: (Self.now - 1, "limit"), now: now)
        #expect(over.parkedUntil == nil && over.parkReason == nil && over.tokens == nil && over.nextRefill == nil)
    }

    @Test("parked queues the task again with no failure or interruption charged")
    func lifecycle() throws {
        let id = TaskID(trusted: "t")
        #expect(try Lifecycle.next(from: .running, on: .settle(.parked), task: id, budget: RetryBudget(failures: 9, maxAttempts: 1)) == .queued)
        #expect(throws: IllegalTransition.self) { try Lifecycle.next(from: .queued, on: .settle(.parked), task: id) }
    }

    @Test("a parked settle charges no failure, parks the group and makes the task available at the park's end")
    func settlePlanParked() throws {
        let facts = try PlanTests.facts(.running)
        let now = PlanTests.now
        let reset = now.addingTimeInterval(3_600)
        let outcome = RunOutcome.parked("limit reached", resetsAt: reset, park: ParkRequest(group: "g", policy: ParkPolicy(margin: 60)))
        let settlement = Settlement(lease: Lease(taskID: facts.id, runID: "run-1", token: "lease"), outcome: outcome, now: now)
        let groups = SettlePlan.parksToRead([settlement], facts: [facts.id: facts])
        #expect(groups == [ScopedName(workspace: facts.workspace, name: "g")])
        let plan = try SettlePlan([settlement], facts: [facts.id: facts], agentSpend: [:], parks: [:], settler: "w") { 0.5 }
        let move = try #require(plan.moves.first)
        #expect(move.next == .queued && move.failures == facts.failures && move.interruptions == facts.interruptions)
        #expect(move.availableAt == reset.timeIntervalSince1970 + 60)
        #expect(plan.parked == groups)
        #expect(plan.parks[ScopedName(workspace: facts.workspace, name: "g")]?.until == reset.timeIntervalSince1970 + 60)
        #expect(plan.failed == 0)
        #expect(move.details["parked_until"] == JSONTime.json(reset.addingTimeInterval(60)))
    }

    @Test("a usage limit that does not park fails retryably and is not retried before the reset")
    func settlePlanUnparked() throws {
        let facts = try PlanTests.facts(.running)
        let now = PlanTests.now
        let reset = now.addingTimeInterval(3_600)
        let settlement = Settlement(
            lease: Lease(taskID: facts.id, runID: "run-1", token: "lease"), outcome: .usageLimit("limit reached", resetsAt: reset), now: now)
        let plan = try SettlePlan([settlement], facts: [facts.id: facts], agentSpend: [:], settler: "w") { 0.5 }
        let move = try #require(plan.moves.first)
        #expect(move.next == .queued && move.failures == facts.failures + 1)
        #expect(move.availableAt == reset.timeIntervalSince1970)
        #expect(plan.parked.isEmpty)
    }
}

