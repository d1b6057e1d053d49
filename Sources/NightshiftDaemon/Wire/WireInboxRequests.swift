import Foundation
import Nightshift

/// The body of `POST /v1/tasks/{id}/inputs`: a message, an answer, or an approve or reject of
/// what the task waits for.
public struct WireInputRequest: WireRequest, Hashable {
    /// `message`, `answer`, `approve` or `reject`.
    public var kind: String
    /// The message or answer (required for those), or the comment or reason of a decision.
    public var text: String?
    /// Per-item decisions (a JSON object or array), passed to the agent as sent.
    public var decisions: JSONValue?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, text, decisions
    }

    /// An input of `kind`.
    public init(kind: String, text: String? = nil, decisions: JSONValue? = nil) {
        self.kind = kind
        self.text = text
        self.decisions = decisions
    }

    /// The input to add, sent by `sender` with the `Idempotency-Key` header `idempotencyKey`.
    /// Throws `invalid_input` naming `kind` for a kind that is none of the four, and whatever
    /// ``NewInput/validate()`` finds (naming `text`, `decisions` or `idempotency_key`).
    func newInput(sender: String, idempotencyKey: String?) throws -> NewInput {
        guard let kind = InputKind(rawValue: kind) else {
            let kinds = InputKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw NightshiftError.invalid("kind", "expected one of \(kinds), got '\(self.kind)'")
        }
        let input = NewInput(kind: kind, text: text, decisions: decisions, sender: sender, idempotencyKey: idempotencyKey)
        try input.validate()
        return input
    }
}

/// The body of `POST /v1/tasks/{id}/wake` (optional): a prompt the task wakes with.
public struct WireWakeRequest: WireRequest, Hashable {
    /// What the agent continues with; without it the task simply wakes.
    public var prompt: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case prompt
    }

    /// A wake, with `prompt` if given.
    public init(prompt: String? = nil) {
        self.prompt = prompt
    }

    /// The prompt, checked: non-empty and at most ``NewInput/maxTextBytes``; 422 naming `prompt`.
    func checkedPrompt() throws -> String? {
        guard let prompt else { return nil }
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw NightshiftError.invalid("prompt", "expected a non-empty prompt, or no prompt member to wake without one")
        }
        guard prompt.utf8.count <= NewInput.maxTextBytes else {
            throw NightshiftError.invalid("prompt", "expected at most \(NewInput.maxTextBytes) bytes, got \(prompt.utf8.count)")
        }
        return prompt
    }
}

/// The body of `POST /v1/tasks/{id}/drop` and `POST /v1/tasks/{id}/cancel` (optional): why,
/// which becomes the task's `error`.
public struct WireDropRequest: WireRequest, Hashable {
    /// Why the task is dropped or cancelled.
    public var reason: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case reason
    }

    /// The longest reason accepted, in bytes.
    public static let maxReasonBytes = 64 << 10

    /// A drop or cancel, with `reason` if given.
    public init(reason: String? = nil) {
        self.reason = reason
    }

    /// The reason, checked: non-empty and at most ``maxReasonBytes``; 422 naming `reason`.
    func checkedReason() throws -> String? {
        guard let reason else { return nil }
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw NightshiftError.invalid("reason", "expected a non-empty reason, or no reason member")
        }
        guard reason.utf8.count <= Self.maxReasonBytes else {
            throw NightshiftError.invalid("reason", "expected at most \(Self.maxReasonBytes) bytes, got \(reason.utf8.count)")
        }
        return reason
    }
}
