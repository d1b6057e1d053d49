import Foundation

/// What a run's tool-approval hook may decide without asking anyone, for a task that asks
/// `on-miss` (``AskPolicy/onMiss``): the tool rules people approved for the rest of the task, and
/// what they decided on the tool calls the agent CLI deferred, by call id.
///
/// The engine builds it from the task's inbox when each run starts (``init(inbox:delivering:)``);
/// the runner hands it to the hook in the hook's own command line, which the agent cannot change
/// (a file could be rewritten by the agent it is meant to hold back).
public struct ToolApprovals: Sendable, Hashable, Codable {
    /// A person's word on one deferred call: the input that woke the task while it waited on it.
    public struct Decision: Sendable, Hashable, Codable {
        /// What the input was (`approve`, `reject`, `answer`, `message`).
        public var kind: InputKind
        /// Its text: the comment, the reason, the answer or the message.
        public var text: String?
        /// Who sent it.
        public var sender: String
        /// For the agent's own question tool: the answer to each question, by the question's text.
        public var answers: [String: String]?

        /// Creates a decision.
        public init(kind: InputKind, text: String?, sender: String, answers: [String: String]? = nil) {
            self.kind = kind
            self.text = text
            self.sender = sender
            self.answers = answers
        }

        /// Whether the call may run: an approval, or an answer to the agent's question (anything
        /// but a reject); a message that woke a task waiting for an approval does not approve.
        public func allows(questionTool: Bool) -> Bool {
            kind == .approve || (questionTool && kind != .reject)
        }

        /// What the agent is told about the decision: who decided, and their words.
        public var explanation: String {
            let words = text.map { $0.isEmpty ? "" : ": \($0)" } ?? ""
            switch kind {
            case .approve: return "Approved by \(sender)\(words)"
            case .reject: return "Rejected by \(sender)\(words)"
            case .answer: return "Answered by \(sender)\(words)"
            case .message: return "Not approved: \(sender) woke the task instead\(words)"
            }
        }
    }

    /// Tool rules (Claude Code's syntax: `Bash`, `Bash(npm test:*)`) a person approved for the
    /// rest of the task.
    public var allow: [String]
    /// The decisions on deferred calls, by the call's id.
    public var calls: [String: Decision]
    /// The deferred call this run resumes (its decision is among ``calls``): the CLI resumes the
    /// session at that call, with no new prompt.
    public var resumesCall: String?
    /// What else this run delivers from the inbox (messages that arrived while the task waited),
    /// told to the agent with the resumed call's decision.
    public var context: String?

    /// The key of an input's decisions that names the deferred call it decides (set by the store).
    public static let callKey = "tool_use_id"
    /// The key that names the deferred call's tool (set by the store).
    public static let toolKey = "tool"
    /// The key of an approval's decisions that widens it: `"tool"` approves the call's tool (or the
    /// rules under ``rulesKey``) for the rest of the task; `"call"` (the default) this call only.
    public static let scopeKey = "scope"
    /// The key of an approval's decisions listing the tool rules it approves (with scope `tool`).
    public static let rulesKey = "tools"
    /// The key of an answer's decisions mapping each question's text to its answer.
    public static let answersKey = "answers"

    /// Nothing approved, nothing decided.
    public init(allow: [String] = [], calls: [String: Decision] = [:], resumesCall: String? = nil, context: String? = nil) {
        self.allow = allow
        self.calls = calls
        self.resumesCall = resumesCall
        self.context = context
    }

    /// The approvals in a task's `inbox` (every input, in order); `delivering` are the inputs this
    /// run hands over: a decision among them is the deferred call the run resumes, and the others
    /// are its ``context``.
    public init(inbox: [TaskInput], delivering: [TaskInput]) {
        self.init()
        for input in inbox {
            guard case .object(let decisions)? = input.decisions, let call = decisions[Self.callKey]?.stringValue else { continue }
            var answers: [String: String]?
            if case .object(let given)? = decisions[Self.answersKey] {
                answers = given.compactMapValues(\.stringValue)
            }
            calls[call] = Decision(kind: input.kind, text: input.text, sender: input.sender, answers: answers)
            if input.kind == .approve, decisions[Self.scopeKey]?.stringValue == "tool" {
                if case .array(let rules)? = decisions[Self.rulesKey] {
                    allow += rules.compactMap(\.stringValue)
                } else if let tool = decisions[Self.toolKey]?.stringValue {
                    allow.append(tool)
                }
            }
        }
        let deciding = delivering.last { input in
            if case .object(let decisions)? = input.decisions { return decisions[Self.callKey] != nil }
            return false
        }
        resumesCall = deciding?.decisions?[Self.callKey]?.stringValue
        let others = delivering.filter { $0.id != deciding?.id }
        if resumesCall != nil, !others.isEmpty { context = TaskInput.prompt(delivering: others) }
    }
}
