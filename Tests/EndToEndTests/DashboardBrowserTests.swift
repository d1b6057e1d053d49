import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

/// The dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright for
/// Python from the virtual environment scripts/test sets up, found through
/// `NIGHTSHIFT_TEST_PYTHON` like the MCP peer's): Tests/Fixtures/dashboard_browser.py signs in,
/// watches a task live, answers it, approves one and rejects another on /needs-you, cancels a task,
/// checks escaping, the HTML (forms shown) and the console; checks dark mode's colours, a phone's
/// width and the pages without JavaScript (whose forms still work); and saves a screenshot of every
/// page under `.build-test-artifacts/dashboard/`.
@Suite("dashboard in a browser", .timeLimit(.minutes(3)))
struct DashboardBrowserTests {
    /// Where the screenshots go: `.build-test-artifacts/dashboard/` in the checkout (gitignored).
    static let artifacts = AgentFixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build-test-artifacts/dashboard", isDirectory: true)

    @Test(
        "log in, see a running task's events arrive live, answer, approve, reject, cancel; dark mode, a phone, no JavaScript; escaped, valid, no console errors",
        .enabled(if: PythonPeer.enabled, "\(PythonPeer.variable) is not set: the browser test is skipped (./scripts/test sets it)"))
    func browser() async throws {
        let python = try PythonPeer.require()
        let agent = try AgentFixtures.path("dashboard_agent.sh")
        let claude = try AgentFixtures.path("claude")
        let bin = try makeHome().appendingPathComponent("bin", isDirectory: true)
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let wrapper = bin.appendingPathComponent("subagent").path
        try "#!/bin/sh\nFAKE_CLAUDE_SCENARIO=real_subagent exec '\(claude)' \"$@\"\n".write(toFile: wrapper, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
        var config = "[agents.subagent]\nrunner = \"claude_code\"\nexecutable = \"\(wrapper)\"\nenv = [\"PATH\"]\n"
        for mode in ["talker", "approver", "sleeper", "echo"] {
            config += "[agents.\(mode)]\nrunner = \"command\"\ncommand = [\"/bin/sh\", \"\(agent)\", \"\(mode)\"]\n"
        }
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        try await withDaemon(config: config) { cli in
            let token = try String(contentsOf: cli.home.appendingPathComponent("token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let script = AgentFixtures.directory.appendingPathComponent("dashboard_browser.py").path
            let result = try await MCPServerTests.run(python, [script, cli.url, token, Self.artifacts.path], timeout: .seconds(150))
            try #require(result.status == 0, "the browser test failed:\n\(result.stderr)\n\(result.stdout)")
            let report = try JSONValue(jsonText: result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(report["list_live"] == true && report["task_live"] == true, "\(report)")
            #expect(report["answered"] == true && report["cancelled"] == true, "\(report)")
            #expect(report["approved"] == true && report["rejected"] == true, "\(report)")
            #expect(report["no_js"]?["answered"] == true && report["no_js"]?["cancelled"] == true, "\(report)")
            let schemes = report["schemes"]?.arrayValue ?? []
            #expect(schemes.contains { $0["scheme"] == "dark" } && schemes.allSatisfy { $0["ok"] == true }, "\(schemes)")
            let phone = report["phone"]?["pages"]?.arrayValue ?? []
            #expect(phone.count >= 6 && phone.allSatisfy { $0["fits"] == true }, "\(phone)")
            #expect(report["cookie"]?["httpOnly"] == true && report["cookie"]?["sameSite"] == "Strict", "\(report)")
            #expect(report["console_errors"] == [], "\(report)")
            #expect(report["pages"]?.arrayValue?.allSatisfy { $0["valid"] == true } == true, "\(report)")
            let shots = report["screenshots"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(shots.count >= 27, "\(shots)")
            for shot in shots { #expect(FileManager.default.fileExists(atPath: shot), "\(shot)") }
        }
    }
}
