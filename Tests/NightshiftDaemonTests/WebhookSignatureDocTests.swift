import Foundation
import NightshiftTestSupport
import Nightshift
import NightshiftDaemon
import Testing

/// docs/hooks.md gives a receiver's signature check in Python: it is run, as written, against
/// what the sender signs.
@Suite("Webhook signature: the documented receiver's check")
struct WebhookSignatureDocTests {
    /// The ```python block of docs/hooks.md.
    static func snippet() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/hooks.md"), encoding: .utf8)
        let start = try #require(text.range(of: "```python\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// `python3` (or `$NIGHTSHIFT_TEST_PYTHON`) running `script`; answers its standard output.
    static func python(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProcessInfo.processInfo.environment["NIGHTSHIFT_TEST_PYTHON"] ?? "/usr/bin/python3")
        process.arguments = ["-c", script]
        let output = Pipe()
        process.standardOutput = output
        try ProcessLaunch.run(process)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test("the documented check accepts what the sender signs, and refuses a changed body, another secret and an old timestamp")
    func pythonVerifies() throws {
        let body = #"{"seq":42,"time":"2026-12-06T08:00:00.000Z","task_id":"t","type":"task.done","data":{"agent":"a"}}"#
        let now = Int64(Date().timeIntervalSince1970)
        let signature = WebhookHTTPSender.signature(secret: "s3cret", timestamp: now, body: body)
        let old = WebhookHTTPSender.signature(secret: "s3cret", timestamp: now - 3600, body: body)
        let script = try Self.snippet() + """

            body = \(String(reflecting: body)).encode()
            headers = {"X-Nightshift-Timestamp": "\(now)", "X-Nightshift-Signature": "\(signature)"}
            print(verify(b"s3cret", headers, body))
            print(verify(b"s3cret", headers, body.replace(b"42", b"43")))
            print(verify(b"other", headers, body))
            print(verify(b"s3cret", {"X-Nightshift-Timestamp": "\(now - 3600)", "X-Nightshift-Signature": "\(old)"}, body))
            """
        #expect(try Self.python(script).split(separator: "\n") == ["True", "False", "False", "False"])
    }
}
