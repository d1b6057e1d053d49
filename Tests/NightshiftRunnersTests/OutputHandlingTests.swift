import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

@Suite("Output handling")
struct OutputHandlingTests {
    @Test("lines split across buffers, CRLF endings, blank lines and a last line without newline")
    func splitting() {
        var splitter = LineSplitter(limit: 100)
        var lines = splitter.append(Array("one\ntw".utf8))
        lines += splitter.append(Array("o\r\n\nthr".utf8))
        lines += splitter.append(Array("ee".utf8))
        #expect(lines.map(\.text) == ["one", "two", ""])
        #expect(splitter.finish() == OutputLine(text: "three", truncated: false))
        #expect(splitter.finish() == nil)
    }

    @Test("a long line keeps its first bytes, is marked truncated, and the next line is intact")
    func truncation() {
        var splitter = LineSplitter(limit: 4)
        var lines = splitter.append(Array("abcdefgh".utf8))
        lines += splitter.append(Array("ijk\nok\nabcd\r\n".utf8))
        #expect(lines == [
            OutputLine(text: "abcd", truncated: true),
            OutputLine(text: "ok", truncated: false),
            OutputLine(text: "abcd", truncated: false),
        ])
        _ = splitter.append(Array("xxxxxxx".utf8))
        #expect(splitter.finish() == OutputLine(text: "xxxx", truncated: true))
    }

    @Test("a cut never splits a UTF-8 character")
    func truncationAtCharacterBoundary() {
        var splitter = LineSplitter(limit: 4)
        let lines = splitter.append(Array("aé€x\n".utf8))  // a(1) é(2) €(3): the limit falls inside €
        #expect(lines == [OutputLine(text: "aé", truncated: true)])
    }

    @Test("invalid UTF-8 is repaired, not an error")
    func invalidUTF8() {
        var splitter = LineSplitter(limit: 100)
        let lines = splitter.append([0x61, 0xFF, 0x62, 0x0A])
        #expect(lines == [OutputLine(text: "a\u{FFFD}b", truncated: false)])
    }

    @Test("the head buffer joins lines and marks where it cut")
    func headBuffer() {
        var small = HeadBuffer(capacity: 100)
        small.append(line: "one")
        small.append(line: "two")
        #expect(small.text == "one\ntwo")

        var capped = HeadBuffer(capacity: 10)
        capped.append(line: "12345")
        capped.append(line: "67890")  // "\n67890": 5 of its 6 bytes fit
        capped.append(line: "abc")  // "\nabc": dropped
        #expect(capped.text == "12345\n6789\n…[output truncated: 5 more bytes]")
    }

    @Test("the tail buffer keeps the end of the output")
    func tailBuffer() {
        var tail = TailBuffer(capacity: 8)
        tail.append(line: "first line")
        tail.append(line: "last")
        #expect(tail.text == "…ine\nlast")
        var short = TailBuffer(capacity: 100)
        short.append(line: "  oops ")
        short.append(line: "")
        #expect(short.text == "oops")
    }

    @Test("stdout lines become events; protocol lines are handled and kept out of the output")
    func interpreter() {
        var interpreter = StdoutInterpreter(outputLimit: 1024)
        let now = Date(timeIntervalSince1970: 100)
        func feed(_ text: String, truncated: Bool = false) -> [String] {
            interpreter.handle(OutputLine(text: text, truncated: truncated), now: now).map(\.type)
        }
        #expect(feed("plain") == ["stdout"])
        #expect(feed(#"{"type":"other"}"#) == ["stdout"])
        #expect(feed(#"{"type":"log","message":"m"}"#) == ["log"])
        #expect(feed(#"{"type":"checkpoint","n":1}"#) == ["checkpoint"])
        #expect(feed(#"{"type":"result","text":"r1"}"#) == ["result"])
        #expect(feed(#"{"type":"result"}"#) == ["log"])
        #expect(feed(#"{"type":"result","text":"r2"}"#) == ["result"])
        #expect(feed(#"{"type":"result","text":"cut"#, truncated: true) == ["stdout"])
        #expect(feed(#"{"type":"wake","after":5,"prompt":"p"}"#) == [])
        #expect(interpreter.result == "r2")
        #expect(interpreter.waitRequest == .wake(at: Date(timeIntervalSince1970: 105), prompt: "p"))
        #expect(interpreter.output.text == "plain\n{\"type\":\"other\"}\n{\"type\":\"result\",\"text\":\"cut")
        #expect(feed(#"{"type":"wait_for_input","question":"q"}"#) == [])
        #expect(interpreter.waitRequest == .input(question: "q", options: nil))
    }

    @Test("the warning for an invalid line says what was wrong and shows the line")
    func warningData() {
        var interpreter = StdoutInterpreter(outputLimit: 1024)
        let events = interpreter.handle(OutputLine(text: #"{"type":"result"}"#, truncated: false), now: Date())
        #expect(events.count == 1)
        #expect(events[0].data["level"] == "warning")
        #expect(events[0].data["message"]?.stringValue?.contains("result line without a string \"text\"") == true)
        #expect(events[0].data["line"] == #"{"type":"result"}"#)
    }

    @Test("outcomes: exit 0, waits, failures with the stderr tail, signals")
    func outcomes() {
        var stdout = StdoutInterpreter(outputLimit: 1024)
        _ = stdout.handle(OutputLine(text: "out", truncated: false), now: Date())
        let success = CommandOutcome.outcome(of: ProcessReport(status: .exited(0), stdout: stdout, stderrTail: ""))
        #expect(success == .succeeded("out", usage: RunUsage(exitCode: 0)))

        let failure = CommandOutcome.outcome(of: ProcessReport(status: .exited(2), stdout: stdout, stderrTail: "bad flag"))
        #expect(failure == .failed("exit status 2: bad flag", retryable: true, usage: RunUsage(exitCode: 2)))

        let killed = CommandOutcome.outcome(of: ProcessReport(status: .signaled(9), stdout: stdout, stderrTail: ""))
        #expect(killed == .failed("killed by signal 9", retryable: true))

        _ = stdout.handle(OutputLine(text: #"{"type":"wait_for_input","question":"q?"}"#, truncated: false), now: Date())
        let waiting = CommandOutcome.outcome(of: ProcessReport(status: .exited(0), stdout: stdout, stderrTail: ""))
        #expect(waiting == .waitingForInput("q?", usage: RunUsage(exitCode: 0)))
        let waitThenFail = CommandOutcome.outcome(of: ProcessReport(status: .exited(1), stdout: stdout, stderrTail: ""))
        #expect(waitThenFail.resolution == .failed(retryable: true))
    }
}
