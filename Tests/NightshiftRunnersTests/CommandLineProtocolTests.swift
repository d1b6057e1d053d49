import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

@Suite("Command line protocol")
struct CommandLineProtocolTests {
    @Test("plain text, non-objects, and objects without a protocol type are plain output")
    func plainLines() {
        for line in [
            "", "hello", "{", "{not json}", "[1,2]", "\"text\"", "42", "{}",
            #"{"message":"no type"}"#, #"{"type":"progress","pct":5}"#, #"{"type":7}"#, #"{"type":"LOG","message":"x"}"#,
        ] {
            #expect(CommandLineProtocol.parse(line) == nil, "\(line)")
        }
    }

    @Test("a log line keeps its members and defaults the level to info")
    func log() {
        #expect(CommandLineProtocol.parse(#"{"type":"log","message":"hi"}"#) == .log(["message": "hi", "level": "info"]))
        #expect(
            CommandLineProtocol.parse(#"  {"type":"log","message":"hi","level":"error","step":2}  "#)
                == .log(["message": "hi", "level": "error", "step": 2])
        )
    }

    @Test("a log line without a string message or with a non-string level is invalid")
    func invalidLog() {
        #expect(CommandLineProtocol.parse(#"{"type":"log"}"#) == .invalid(#"log line without a string "message""#))
        #expect(CommandLineProtocol.parse(#"{"type":"log","message":3}"#) == .invalid(#"log line without a string "message""#))
        guard case .invalid? = CommandLineProtocol.parse(#"{"type":"log","message":"m","level":1}"#) else {
            Issue.record("non-string level accepted")
            return
        }
    }

    @Test("a checkpoint line carries the object minus its type")
    func checkpoint() {
        #expect(
            CommandLineProtocol.parse(#"{"type":"checkpoint","step":"tests","done":[1,2]}"#)
                == .checkpoint(["step": "tests", "done": [1, 2]])
        )
        #expect(CommandLineProtocol.parse(#"{"type":"checkpoint"}"#) == .checkpoint([:]))
    }

    @Test("a result line needs a string text")
    func result() {
        #expect(CommandLineProtocol.parse(#"{"type":"result","text":"all done"}"#) == .result("all done"))
        #expect(CommandLineProtocol.parse(#"{"type":"result","text":""}"#) == .result(""))
        #expect(CommandLineProtocol.parse(#"{"type":"result"}"#) == .invalid(#"result line without a string "text""#))
        #expect(CommandLineProtocol.parse(#"{"type":"result","text":null}"#) == .invalid(#"result line without a string "text""#))
    }

    @Test("a wait_for_input line needs a string question")
    func waitForInput() {
        #expect(
            CommandLineProtocol.parse(#"{"type":"wait_for_input","question":"Which branch?"}"#)
                == .waitForInput(question: "Which branch?", options: nil)
        )
        #expect(
            CommandLineProtocol.parse(#"{"type":"wait_for_input"}"#)
                == .invalid(#"wait_for_input line without a string "question""#)
        )
    }

    @Test("a wake line takes after in seconds or at as an ISO 8601 time, and an optional prompt")
    func wake() throws {
        #expect(CommandLineProtocol.parse(#"{"type":"wake","after":90}"#) == .wake(.after(90), prompt: nil))
        #expect(
            CommandLineProtocol.parse(#"{"type":"wake","after":1.5,"prompt":"check CI"}"#)
                == .wake(.after(1.5), prompt: "check CI")
        )
        let expected = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z
        #expect(CommandLineProtocol.parse(#"{"type":"wake","at":"2026-01-01T00:00:00Z"}"#) == .wake(.at(expected), prompt: nil))
        #expect(
            CommandLineProtocol.parse(#"{"type":"wake","at":"2026-01-01T02:00:00+02:00","prompt":"go"}"#)
                == .wake(.at(expected), prompt: "go")
        )
        guard case .wake(.at(let fractional), nil)? = CommandLineProtocol.parse(#"{"type":"wake","at":"2026-01-01T00:00:00.250Z"}"#)
        else {
            Issue.record("fractional seconds rejected")
            return
        }
        #expect(abs(fractional.timeIntervalSince(expected) - 0.25) < 0.001)
    }

    @Test("a wake line without a usable time or with a bad prompt is invalid")
    func invalidWake() {
        for line in [
            #"{"type":"wake"}"#, #"{"type":"wake","prompt":"x"}"#, #"{"type":"wake","after":-1}"#,
            #"{"type":"wake","after":"10"}"#, #"{"type":"wake","at":"tomorrow"}"#, #"{"type":"wake","at":5}"#,
            #"{"type":"wake","after":1,"at":"2026-01-01T00:00:00Z"}"#, #"{"type":"wake","after":1,"prompt":5}"#,
        ] {
            guard case .invalid? = CommandLineProtocol.parse(line) else {
                Issue.record("accepted: \(line)")
                continue
            }
        }
        #expect(
            CommandLineProtocol.parse(#"{"type":"wake"}"#)
                == .invalid(#"wake line without "after" (seconds) or "at" (ISO 8601 time)"#)
        )
    }

    @Test("a spawn line carries its members; the subtask takes prompt, agent, labels, priority, budget_usd and lane")
    func spawn() throws {
        let line = #"{"type":"spawn","prompt":"count","agent":"child","labels":["a"],"priority":2,"budget_usd":1.5,"lane":"db"}"#
        let message = try #require(CommandLineProtocol.parse(line))
        guard case .spawn(let data) = message else {
            Issue.record("\(message)")
            return
        }
        let child = try NewTask.subtask(from: data).get()
        #expect(child.prompt == "count" && child.agent == "child" && child.labels == ["a"] && child.priority == 2)
        #expect(child.budgetUSD == 1.5 && child.lane == "db")
        #expect(CommandLineProtocol.parse(#"{"type":"spawn","prompt":"x","lane":3}"#) == .invalid(#"spawn line with a "lane" that is not a string"#))
    }

    @Test("a wake time resolves against the time the line was read")
    func wakeTimeResolution() {
        let now = Date(timeIntervalSince1970: 1_000)
        #expect(WakeTime.after(60).date(from: now) == Date(timeIntervalSince1970: 1_060))
        #expect(WakeTime.at(Date(timeIntervalSince1970: 5)).date(from: now) == Date(timeIntervalSince1970: 5))
    }
}
