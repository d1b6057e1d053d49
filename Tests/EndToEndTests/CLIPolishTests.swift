import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

/// Shell completions, `open`, the `--wait` progress line, and colours that follow the terminal and
/// `NO_COLOR`.
@Suite struct CLIPolishTests {
    @Test("completion scripts for bash, zsh and fish name the commands and their options")
    func completions() async throws {
        try await withDaemon { cli in
            for shell in ["bash", "zsh", "fish"] {
                let script = try await cli.run(["--generate-completion-script", shell])
                #expect(script.status == 0, "\(shell): \(script)")
                for word in ["submit", "open", "cancel", "--wait", "no-progress"] {
                    #expect(script.stdout.contains(word), "\(shell) completions lack \(word)")
                }
            }
            #expect(try await cli.run(["--generate-completion-script", "tcsh"]).status == 2)
        }
    }

    @Test("open prints the task's dashboard URL (with --json its id and URL); an unknown task exits 3")
    func openURL() async throws {
        try await withDaemon { cli in
            let id = try #require(try await cli.json(["submit", "echo hi", "--json"])["id"]?.stringValue)
            let opened = try await cli.run(["open", id])
            #expect(opened.status == 0, "\(opened)")
            #expect(opened.stdout == "\(cli.url)/tasks/\(id)\n")
            let json = try await cli.json(["open", id, "--json"])
            #expect(json["url"]?.stringValue == "\(cli.url)/tasks/\(id)" && json["id"]?.stringValue == id)
            let unknown = try await cli.run(["open", "no-such-task"])
            #expect(unknown.status == 3, "\(unknown)")
            #expect(unknown.stdout.isEmpty)
        }
    }

    @Test("submit --wait --progress keeps a progress line on stderr (state, elapsed, cost) and ends it with the final state and the task's cost; none without a terminal or with --no-progress")
    func waitProgress() async throws {
        let claude = try AgentFixtures.path("claude")
        try await withDaemon(config: "[agents.claude]\nrunner = \"claude_code\"\nexecutable = \"\(claude)\"\nenv = [\"PATH\"]\n") { cli in
            let shown = try await cli.run(["submit", "sleep 1.2; echo finished", "--wait", "--progress"])
            #expect(shown.status == 0, "\(shown)")
            let id = try #require(shown.stdout.split(separator: "\n").first.map(String.init))
            #expect(shown.stdout.hasSuffix("finished\n"))
            #expect(shown.stderr.contains("\r\u{1B}[2K\(id) running · "), "\(shown.stderr.debugDescription)")
            let last = shown.stderr.split(separator: "\r").last.map(String.init) ?? ""
            #expect(last.wholeMatch(of: /\x1B\[2K\S+ done · [0-9]+s · \$0\.0000\n/) != nil && last.contains(id), "\(shown.stderr.debugDescription)")

            // A Claude Code run (the fake replays a real session) costs: the last line says what.
            let costly = try await cli.run(["submit", "fix the rounding", "--agent", "claude", "--wait", "--progress"])
            #expect(costly.status == 0, "\(costly)")
            let costlyID = try #require(costly.stdout.split(separator: "\n").first.map(String.init))
            let cost = try #require(try await cli.json(["show", costlyID, "--json"])["cost_usd"]?.doubleValue)
            #expect(cost > 0)
            #expect(costly.stderr.hasSuffix(" · $\(String(format: "%.4f", cost))\n") && costly.stderr.contains("\(costlyID) done · "), "\(costly.stderr.debugDescription)")

            let quiet = try await cli.run(["submit", "echo quiet", "--wait"])
            #expect(quiet.status == 0 && quiet.stderr.isEmpty, "stderr is not a terminal: \(quiet)")
            let off = try await cli.run(["submit", "echo off", "--wait", "--no-progress"])
            #expect(off.status == 0 && off.stderr.isEmpty, "\(off)")
        }
    }

    @Test("on a terminal the state is coloured; NO_COLOR, TERM=dumb or a pipe turn colour off")
    func colours() async throws {
        try await withDaemon { cli in
            let id = try #require(try await cli.json(["submit", "echo hi", "--wait", "--json"])["id"]?.stringValue)
            // `script` gives the command a pseudo-terminal for its stdout.
            func onTerminal(_ environment: [String: String]) async throws -> String {
                let command = ([NightshiftBinary.url.path] + cli.arguments(["show", id])).map { "'\($0)'" }.joined(separator: " ")
                let result = try await CLIProcess(
                    executable: "/usr/bin/script", arguments: ["-qec", command, "/dev/null"], environment: cli.environment(environment),
                    directory: cli.home
                ).finish()
                #expect(result.status == 0, "\(result)")
                return result.stdout
            }
            let coloured = try await onTerminal(["TERM": "xterm"])
            #expect(coloured.contains("\u{1B}["), "\(coloured.debugDescription)")
            #expect(!(try await onTerminal(["TERM": "xterm", "NO_COLOR": "1"])).contains("\u{1B}["))
            #expect(!(try await onTerminal(["TERM": "dumb"])).contains("\u{1B}["))
            #expect(!(try await cli.run(["show", id])).stdout.contains("\u{1B}["))
        }
    }
}
