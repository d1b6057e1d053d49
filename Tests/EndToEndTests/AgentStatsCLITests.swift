import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

/// `nightshift agents stats` against a `nightshift serve` child whose agent is the fake `claude`
/// (Tests/Fixtures/claude replaying `success_tool_use`: one Bash and one Edit call, $0.04437585).
@Suite("CLI: agents stats")
struct AgentStatsCLITests {
    @Test("agents stats: a row per day with runs and the totals, sparklines of runs and cost over 7 days, tool calls by tool")
    func stats() async throws {
        let claude = try AgentFixtures.path("claude")
        let config = """
            [agents.claude]
            runner = "claude_code"
            executable = "\(claude)"
            env = ["PATH"]
            """
        try await withDaemon(config: config) { cli in
            for prompt in ["fix it", "fix it again"] {
                let waited = try await cli.run(["submit", prompt, "--agent", "claude", "--wait", "--json"])
                #expect(waited.status == 0, "\(waited)")
            }
            let json = try await cli.json(["agents", "stats", "claude", "--json"])
            #expect(json["days"]?.arrayValue?.count == 1, "\(json)")
            #expect(json["totals"]?["runs"] == 2 && json["totals"]?["succeeded"] == 2)
            #expect(json["totals"]?["tool_calls"] == ["Bash": 2, "Edit": 2])
            #expect(json["totals"]?["cost_usd"]?.doubleValue == 2 * 0.04437585)

            let shown = try await cli.run(["agents", "stats", "claude"])
            #expect(shown.status == 0, "\(shown)")
            let lines = shown.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let words = lines.map { $0.split(separator: " ").map(String.init) }
            #expect(lines.first?.hasPrefix("claude  ") == true && lines.first?.hasSuffix("(UTC)") == true, "\(shown.stdout)")
            #expect(words.dropFirst().first == ["DAY", "RUNS", "OK", "FAILED", "IN", "OUT", "CACHE-R", "CACHE-W", "COST", "TURNS", "TIME"])
            let today = WireRunFigures.dayText(Date())
            #expect(words.contains { $0.first == today && $0.dropFirst().prefix(3) == ["2", "2", "0"] }, "\(shown.stdout)")
            #expect(words.contains { $0.first == "total" && $0.contains("$0.0888") }, "\(shown.stdout)")
            #expect(lines.contains("runs  ▁▁▁▁▁▁█  max 2"), "\(shown.stdout)")
            #expect(lines.contains("cost  ▁▁▁▁▁▁█  max $0.0888"), "\(shown.stdout)")
            #expect(lines.last(where: { !$0.isEmpty }) == "tools Bash 2, Edit 2")

            let empty = try await cli.run(["agents", "stats", "claude", "--from", "2020-01-01", "--to", "2020-01-07"])
            #expect(empty.stdout.hasSuffix("2020-01-01 to 2020-01-07 (UTC)\nno runs\n"), "\(empty)")
            #expect(try await cli.run(["agents", "stats", "nobody"]).status == 3)
            let bad = try await cli.run(["agents", "stats", "claude", "--from", "2026-13-01"])
            #expect(bad.status == 2 && bad.stderr.contains("from"), "\(bad)")
        }
    }
}
