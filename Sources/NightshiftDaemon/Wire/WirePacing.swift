import Foundation
import Nightshift

/// An agent's pacing as the API answers it (in an agent and in the status): its rate limit's
/// tokens left and next refill, and whether its quota group is parked by a provider's usage limit.
public struct WirePacing: WireValue, Hashable {
    /// Its quota group (its own name unless set).
    public var quotaGroup: String
    /// Its rate (`"30/1h"`), if it has one.
    public var rate: String?
    /// Whole tokens left in its bucket: runs that may start now (`null` without a rate).
    public var tokens: Int?
    /// When the next token is added (`null`: the bucket is full, or there is no rate).
    public var nextRefill: Date?
    /// When its quota group's park ends (`null`: not parked).
    public var parkedUntil: Date?
    /// Why it is parked: the provider's message.
    public var parkReason: String?

    enum CodingKeys: String, CodingKey {
        case rate, tokens
        case quotaGroup = "quota_group", nextRefill = "next_refill", parkedUntil = "parked_until", parkReason = "park_reason"
    }
}

extension WirePacing {
    /// The wire form of `pacing`.
    init(_ pacing: AgentPacing) {
        self.init(
            quotaGroup: pacing.quotaGroup, rate: pacing.rate?.description, tokens: pacing.tokens, nextRefill: pacing.nextRefill,
            parkedUntil: pacing.parkedUntil, parkReason: pacing.parkReason)
    }

    /// "parked until T (reason)", "7/30 tokens, next at T", or `nil` with nothing to tell.
    public var summary: String? {
        var parts: [String] = []
        if let parkedUntil { parts.append("parked until \(JSONTime.text(parkedUntil))" + (parkReason.map { " (\($0))" } ?? "")) }
        if let rate, let tokens {
            parts.append("\(tokens) of \(rate) left" + (nextRefill.map { ", next token at \(JSONTime.text($0))" } ?? ""))
        }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}
