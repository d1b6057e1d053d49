import AsyncHTTPClient
import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A command work detector declared in nightshift.toml, run by a real `nightshift serve`: its
/// scan's JSON lines become tasks, each worked by its agent and then its `process` command once;
/// `detect`, `detectors`, `status`, a signal over HTTP, and a bad scan. (A bad `[detectors]`
/// section is ConfigTests' to check: `serve` stops on any config error alike, as CLITests shows.)
@Suite("CLI: work detectors", .serialized)
struct DetectorCLITests {
    @Test("a command detector's items become tasks, each processed once; detect --force, detectors, status and a signal")
    func commandDetector() async throws {
        let home = try makeHome()
        let items = home.appendingPathComponent("items.jsonl")
        // Each process command appends its input as one line in one write (processes run at once).
        let processed = home.appendingPathComponent("processed.jsonl")
        try """
            {"key": "issue-1", "priority": 3, "payload": {"title": "crash on start"}}
            {"key": "issue-2", "payload": {"title": "slow list"}}

            """.write(to: items, atomically: true, encoding: .utf8)
        try """
            [agents.fixer]
            runner = "command"
            command = ["/bin/sh", "-c", "read line; printf '{\\"type\\":\\"result\\",\\"text\\":\\"fixed %s\\"}\\\\n' \\"$line\\""]
            [detectors.issues]
            command = ["/bin/cat", "\(items.path)"]
            agent = "fixer"
            prompt = "{{item.key}}: {{item.payload.title}}"
            every = "1h"
            process = ["/bin/sh", "-c", "line=$(cat); printf '%s\\n' \\\"$line\\\" >> '\(processed.path)'"]
            """.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let port = try freePort()
        let cli = CLIRunner(url: "http://127.0.0.1:\(port)", home: home)
        let daemon = try DaemonProcess(home: home, arguments: ["--listen", "127.0.0.1:\(port)", "--poll-interval", "0.05", "--log-level", "warning"])
        #expect(try await eventually(timeout: .seconds(30)) { try await cli.run(["status", "--json"]).status == 0 }, "\(daemon.output)")

        // The first scan is due at start: two tasks, each processed once its agent is done.
        #expect(try await eventually(timeout: .seconds(60)) {
            (try? String(contentsOf: processed, encoding: .utf8))?.split(separator: "\n").count == 2
        }, "\(daemon.output)")
        let lines = try String(contentsOf: processed, encoding: .utf8).split(separator: "\n").map { try JSONValue(jsonText: String($0)) }
        #expect(Set(lines.compactMap { $0["result"]?.stringValue }) == ["fixed issue-1: crash on start", "fixed issue-2: slow list"], "\(lines)")
        #expect(lines.allSatisfy { $0["task_id"]?.stringValue != nil && $0["item"]?["key"] != nil })
        let listed = try await cli.json(["detectors", "--json"])
        let detector = try #require(listed["detectors"]?.arrayValue?.first, "\(listed)")
        #expect(detector["name"] == "issues" && detector["agent"] == "fixer" && detector["interval_s"] == 3600)
        #expect(detector["scans"] == 1 && detector["last_found"] == 2 && detector["last_submitted"] == 2 && detector["last_error"] == .null)

        #expect(try await eventually(timeout: .seconds(30)) {
            try await cli.json(["list", "--agent", "issues", "--json"])["tasks"]?.arrayValue?.allSatisfy { $0["state"] == "done" } == true
        })
        // Not due for an hour; --force scans, and finds the two again: their tasks are done, so new ones.
        let notDue = try await cli.run(["detect", "issues"])
        #expect(notDue.status == 0 && notDue.stdout.contains("not scanned"), "\(notDue)")
        let forced = try await cli.json(["detect", "--force", "issues", "--json"])
        #expect(forced == ["scanned": true, "found": 2, "submitted": 2, "error": .null], "\(forced)")

        // A signal over HTTP hands it an item without a scan.
        let token = try String(contentsOf: home.appendingPathComponent("token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        func signal(_ body: String) async throws -> (status: UInt, body: JSONValue) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/detectors/issues/signal")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.body = .bytes(Array(body.utf8))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            return (response.status.code, try JSONValue(jsonText: String(buffer: try await response.body.collect(upTo: 1 << 16))))
        }
        let accepted = try await signal(#"{"items":[{"key":"issue-9","payload":{"title":"typo"}}]}"#)
        #expect(accepted.status == 200 && accepted.body == ["scanned": false, "found": 1, "submitted": 1, "error": .null], "\(accepted)")
        let refused = try await signal(#"{"items":[{"key":""}]}"#)
        #expect(refused.status == 422 && refused.body["error"]?["field"] == "items[0].key", "\(refused)")

        // A line that is not an item fails the scan naming the line; nothing of it is submitted.
        try "{\"key\": \"issue-3\"}\nnot json\n".write(to: items, atomically: true, encoding: .utf8)
        let bad = try await cli.run(["detect", "--force", "issues"])
        #expect(bad.status == 1 && bad.stderr.contains("line 2"), "\(bad)")
        let status = try await cli.run(["status"])
        #expect(status.stdout.contains("Detectors") && status.stdout.contains("line 2"), "\(status.stdout)")
        let unknown = try await cli.run(["detect", "nope"])
        #expect(unknown.status == 3, "\(unknown)")
        #expect(try await eventually(timeout: .seconds(60)) {
            (try? String(contentsOf: processed, encoding: .utf8))?.split(separator: "\n").count == 5
        }, "the forced scan's two and the signal's one are processed too: \((try? String(contentsOf: processed, encoding: .utf8)) ?? "")\n\(daemon.output)")
        #expect(await daemon.stop(SIGTERM) == 0, "\(daemon.output)")
    }
}
