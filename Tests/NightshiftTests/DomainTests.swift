import Foundation
import Nightshift
import Testing

@Suite("Domain values")
struct DomainTests {
    @Test("task ids are UUIDv7 and sort by creation time")
    func uuidV7() throws {
        let early = TaskID.generate(at: Date(timeIntervalSince1970: 1_700_000_000))
        let late = TaskID.generate(at: Date(timeIntervalSince1970: 1_700_000_001))
        #expect(early < late)
        let text = early.rawValue
        #expect(text.count == 36)
        #expect(Array(text)[14] == "7", "version nibble")
        #expect("89ab".contains(Array(text)[19]), "variant bits")
        #expect(TaskID(text) == early)
        #expect(TaskID("not-a-uuid") == nil)
        #expect(UUID(uuidString: text)?.uuidString.lowercased() == text, "canonical lower-case text")
        // Later than any other id this process makes, so the time is not the previous id's.
        let future = UUIDv7.generate(at: Date(timeIntervalSince1970: 4_102_444_800.123))
        #expect(future.replacingOccurrences(of: "-", with: "").prefix(12) == String(4_102_444_800_123, radix: 16).leftPadded(to: 12), "48-bit milliseconds first")
    }

    @Test("bad input names the field and what was expected", arguments: [
        (NewTask(agent: "a", prompt: "  "), "prompt"),
        (NewTask(agent: "a", prompt: "\n\t\u{00A0}\u{3000}\u{2028}"), "prompt"),
        (NewTask(agent: "", prompt: "x"), "agent"),
        (NewTask(agent: "a", prompt: "x", priority: -1), "priority"),
        (NewTask(agent: "a", prompt: "x", timeout: -5), "timeout"),
        (NewTask(agent: "a", prompt: "x", timeout: 0), "timeout"),
        (NewTask(agent: "a", prompt: "x", retry: RetryPolicy(maxAttempts: -1)), "max_attempts"),
        (NewTask(agent: "a", prompt: String(repeating: "x", count: NewTask.maxPromptBytes + 1)), "prompt"),
        (NewTask(agent: "a", prompt: "x", payload: [1, 2]), "payload"),
        (NewTask(agent: "a", prompt: "x", payload: "text"), "payload"),
    ])
    func validation(task: NewTask, field: String) {
        let error = #expect(throws: NightshiftError.self) { try task.validate() }
        #expect(error?.code == .invalidInput)
        #expect(error?.field == field)
        #expect(error?.message.hasPrefix("expected") == true)
    }

    @Test("a 1 MiB prompt is accepted")
    func promptAtLimit() throws {
        try NewTask(agent: "a", prompt: String(repeating: "x", count: NewTask.maxPromptBytes)).validate()
    }

    @Test("JSON text round-trips and escapes control characters")
    func jsonText() throws {
        let value: JSONValue = ["b": [1, 2.5, nil, true], "a": "line\n\"quoted\"\u{1}", "c": ["nested": "ü"]]
        let text = value.jsonText
        #expect(text.hasPrefix("{\"a\":"), "sorted keys")
        #expect(text.contains("\\u0001"))
        #expect(try JSONValue(jsonText: text) == value)
    }
}

@Suite("UUIDv7 ordering")
struct UUIDv7OrderingTests {
    @Test("ids made in the same millisecond still increase")
    func monotonic() {
        let instant = Date(timeIntervalSince1970: 1_900_000_000)
        let ids = (0..<10_000).map { _ in UUIDv7.generate(at: instant) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { Array($0)[14] == "7" && "89ab".contains(Array($0)[19]) })
    }
}

@Suite("JSON text parsing")
struct JSONParseTests {
    @Test("values parse to what JSONDecoder would give", arguments: [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#, #"[]"#, #"{}"#, #"  [ 1 , -2.5e3 , 0.125 ]  "#,
        #""esc\"aped \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00""#, #"9007199254740993"#, #"-0"#, #"1E2"#,
    ])
    func agreesWithFoundation(text: String) throws {
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(try JSONValue(jsonText: text) == expected)
    }

    @Test("errors give the reason and byte offset", arguments: [
        ("{\"a\":}", 5), ("[1,2", 4), ("\"open", 5), ("tru", 0), ("{} x", 3), ("", 0), ("{\"a\" 1}", 5), ("01x", 2),
    ])
    func errors(text: String, offset: Int) {
        let error = #expect(throws: JSONParseError.self) { try JSONValue(jsonText: text) }
        #expect(error?.offset == offset, "\(text): \(String(describing: error))")
    }

    @Test("deep nesting is refused, not a stack overflow")
    func depth() {
        #expect(throws: JSONParseError.self) { try JSONValue(jsonText: String(repeating: "[", count: 100_000)) }
    }
}

@Suite("Budget")
struct BudgetTests {
    @Test("the task's budget is checked before the agent's; reaching a budget counts; dollars lose trailing zeros")
    func rule() {
        #expect(Budget.exceeded(agent: "a", taskSpent: 0.49, taskBudget: 0.5, agentSpent: 0, agentBudget: nil) == nil)
        #expect(Budget.exceeded(agent: "a", taskSpent: 0.5, taskBudget: 0.5, agentSpent: 9, agentBudget: 1)
            == "budget exceeded: the task's runs cost $0.5 of its $0.5 budget")
        #expect(Budget.exceeded(agent: "a", taskSpent: 0.1, taskBudget: 0.5, agentSpent: 1.23456, agentBudget: 1)
            == "budget exceeded: agent a has spent $1.2346 of its $1 budget")
        #expect(Budget.submitRefusal(agent: "a", spent: 0.99, budget: 1) == nil)
        #expect(Budget.submitRefusal(agent: "a", spent: 1, budget: nil) == nil)
        let refusal = Budget.submitRefusal(agent: "a", spent: 1, budget: 1)
        #expect(refusal?.code == .budgetExceeded && refusal?.field == "agent")
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
