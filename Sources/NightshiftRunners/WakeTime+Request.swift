import Foundation
import Nightshift

extension WakeTime {
    /// How a wake request names its delay: the member, its unit in words, and that unit in seconds.
    struct Delay: Sendable {
        /// The member holding the delay: `after` on a `wake` line, `minutes` in a `wake_me` call.
        var key: String
        /// The article the member's name takes in a sentence: `an "after"`, `a "minutes"`.
        var article: String
        /// The unit in words: `seconds`, `minutes`.
        var unit: String
        /// Seconds per unit.
        var seconds: Double

        /// A `wake` line's `after`, in seconds.
        static let lineAfter = Delay(key: "after", article: "an", unit: "seconds", seconds: 1)
        /// A `wake_me` call's `minutes`.
        static let toolMinutes = Delay(key: "minutes", article: "a", unit: "minutes", seconds: 60)
    }

    /// A wake request's members, checked alike for a `wake` line and a `wake_me` call: exactly one
    /// of the delay (a number ≥ 0) or `at` (an ISO 8601 time with a time zone, RFC 3339 included),
    /// and an optional string `prompt`. The failure is a phrase naming the member
    /// ("with both \"after\" and \"at\"").
    static func request(
        _ data: [String: JSONValue], delay: Delay
    ) -> Result<(time: WakeTime, prompt: String?), WakeRequestProblem> {
        let prompt: String?
        switch data["prompt"] {
        case nil, .null?: prompt = nil
        case .string(let text)?: prompt = text
        default: return .failure(.init(#"with a "prompt" that is not a string"#))
        }
        switch (data[delay.key], data["at"]) {
        case (nil, nil):
            return .failure(.init(#"without "\#(delay.key)" (\#(delay.unit)) or "at" (ISO 8601 time)"#))
        case (.some, .some):
            return .failure(.init(#"with both "\#(delay.key)" and "at""#))
        case (let amount?, nil):
            guard let count = amount.doubleValue, count.isFinite, count >= 0 else {
                return .failure(.init(#"with \#(delay.article) "\#(delay.key)" that is not a number of \#(delay.unit) ≥ 0"#))
            }
            return .success((.after(count * delay.seconds), prompt))
        case (nil, let at?):
            guard let text = at.stringValue, let date = CommandLineProtocol.parseISO8601(text) else {
                return .failure(.init(#"with an "at" that is not an ISO 8601 time"#))
            }
            return .success((.at(date), prompt))
        }
    }
}

/// What is wrong with a wake request (a `wake` line, a `wake_me` call), as a phrase naming the
/// member ("with both \"minutes\" and \"at\"").
public struct WakeRequestProblem: Error, Sendable, Hashable, CustomStringConvertible {
    /// The phrase.
    public var description: String

    /// Creates the problem.
    public init(_ description: String) {
        self.description = description
    }
}
