import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

/// `submit --parent` and `show`'s subtask tree, `submit --ask always` then `approve`, the ask
/// column of `agents`, and `status`'s blocked tasks, run as child processes against a real
/// `nightshift serve` whose config file sets `[server] blocked_stale_after`, `[subtasks]` and an
/// agent's `ask`.
@Suite("CLI: subtasks and ask", .serialized)
struct SubtaskCLITests {
    /// Submits with `arguments` (and `--json`); answers the task.
    static func submit(_ cli: CLIRunner, _ arguments: [String]) async throws -> JSONValue {
        try await cli.json(["submit"] + arguments + ["--json"])
    }

    /// The items of an array member, `[]` for anything else.
    static func items(_ value: JSONValue?) -> [JSONValue] {
        guard case .array(let items)? = value else { return [] }
        return items
    }

    /// The id of a task `submit` answered.
    static func id(_ task: JSONValue) throws -> String {
        try #require(task["id"]?.stringValue, "\(task)")
    }

    @Test("submit --parent takes the parent's agent; show prints a subtask's parent and draws a task's tree of children and grandchildren")
    func subtaskTree() async throws {
        try await withDaemon { cli in
            let parent = try Self.id(try await Self.submit(cli, ["plan the work", "--delay", "3600"]))
            let first = try await Self.submit(cli, ["first half\nwith details", "--parent", parent, "--delay", "3600"])
            #expect(first["agent"] == "shell" && first["parent_id"] == .string(parent) && first["subtask_depth"] == 1, "\(first)")
            let firstID = try Self.id(first)
            let second = try Self.id(try await Self.submit(cli, ["echo second half", "--parent", parent]))
            let grandchild = try await Self.submit(cli, ["a quarter", "--parent", firstID, "--delay", "3600"])
            #expect(grandchild["subtask_depth"] == 2, "\(grandchild)")
            let grandchildID = try Self.id(grandchild)
            #expect(try await eventually(timeout: .seconds(20)) { try await cli.json(["show", second, "--json"])["state"] == "done" })

            let show = try await cli.run(["show", parent])
            #expect(show.status == 0, "\(show)")
            let lines = show.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let start = try #require(lines.firstIndex(of: "subtasks"), "\(show)")
            #expect(Array(lines[(start + 1)...].prefix(4)) == [
                "  \(firstID)  queued  shell  first half …",
                "    \(grandchildID)  queued  shell  a quarter",
                "  \(second)  done  shell  echo second half",
                "",
            ], "\(show)")
            #expect(!lines.contains { $0.hasPrefix("parent ") }, "a top-level task has no parent: \(show)")

            let child = try await cli.run(["show", firstID])
            let fields = child.stdout.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) } }
            #expect(fields.contains(["parent", parent]), "\(child)")
            #expect(child.stdout.contains("    \(grandchildID)") == false && child.stdout.contains("  \(grandchildID)  queued  shell  a quarter"), "\(child)")
            let leaf = try await cli.run(["show", grandchildID])
            #expect(leaf.status == 0 && !leaf.stdout.contains("subtasks"), "a task without subtasks draws no tree: \(leaf)")

            let bad = try await cli.run(["submit", "x", "--parent", "nope"])
            #expect(bad.status == 2 && bad.stderr.contains("parent_id"), "\(bad)")
            let missing = try await cli.run(["show", "01a1fd4e-f656-70f5-9507-84af15236666"])
            #expect(missing.status == 3, "\(missing)")
        }
    }

    /// Two agents that read their stdin (where an approval arrives) and answer `through the gate`;
    /// `gate` asks before each task runs.
    static let config = """
        [server]
        blocked_stale_after = 0
        [subtasks]
        max_depth = 1
        [agents.reader]
        runner = "command"
        command = ["/bin/sh", "-c", "cat >/dev/null; echo '{\\"type\\":\\"result\\",\\"text\\":\\"through the gate\\"}'"]
        [agents.gate]
        runner = "command"
        command = ["/bin/sh", "-c", "cat >/dev/null; echo '{\\"type\\":\\"result\\",\\"text\\":\\"through the gate\\"}'"]
        ask = "always"
        """

    @Test("submit --ask always waits and status lists it as blocked; approve runs it; the config's ask, blocked_stale_after and [subtasks] apply")
    func askAndBlocked() async throws {
        try await withDaemon(config: Self.config) { cli in
            let held = try await Self.submit(cli, ["deploy", "--agent", "reader", "--ask", "always"])
            let id = try Self.id(held)
            #expect(held["state"] == "waiting" && held["waiting_for"]?["kind"] == "approval", "\(held)")
            let show = try await cli.run(["show", id])
            #expect(show.stdout.contains("Approve this task before its first run") && show.stdout.contains("nightshift approve \(id)"), "\(show)")

            // blocked_stale_after = 0: a waiting task is blocked from its first millisecond on.
            var status = try await cli.run(["status"])
            #expect(try await eventually { status = try await cli.run(["status"]); return status.stdout.contains("Blocked") }, "\(status)")
            let lines = status.stdout.split(separator: "\n").map(String.init)
            let header = try #require(lines.firstIndex(of: "Blocked"), "\(status)")
            #expect(lines[header + 1].split(separator: " ", omittingEmptySubsequences: true) == ["TASK", "AGENT", "WAITING", "SINCE", "WAITING", "FOR"])
            #expect(lines[header + 2].hasPrefix("\(id)  reader  ") && lines[header + 2].hasSuffix("approval: Approve this task before its first run"), "\(status)")
            let json = try await cli.json(["status", "--json"])
            #expect(Self.items(json["blocked_stale"]).first?["task_id"] == .string(id), "\(json)")

            let approve = try await cli.run(["approve", id])
            #expect(approve.status == 0 && approve.stdout == "\(id)  input 1  approve  pending\n", "\(approve)")
            let done = try await InboxCLITests.ended(cli, id)
            #expect(done["state"] == "done" && done["attempt"] == 1 && done["failures"] == 0, "\(done)")
            #expect(done["result"] == "through the gate", "\(done)")
            #expect(!(try await cli.run(["status"])).stdout.contains("Blocked"), "nothing waits any more")

            // The config file's agent asks; a task's --ask off overrides it.
            let gated = try await Self.submit(cli, ["go", "--agent", "gate"])
            #expect(gated["state"] == "waiting" && gated["waiting_for"]?["kind"] == "approval", "\(gated)")
            let open = try Self.id(try await Self.submit(cli, ["go", "--agent", "gate", "--ask", "off"]))
            let ran = try await InboxCLITests.ended(cli, open)
            #expect(ran["state"] == "done" && ran["result"] == "through the gate", "\(ran)")
            let typo = try await cli.run(["submit", "go", "--ask", "sometimes"])
            #expect(typo.status == 2 && typo.stderr.contains("ask") && typo.stderr.contains("expected one of"), "\(typo)")

            // [subtasks] max_depth = 1: a child, but no grandchild.
            let top = try Self.id(try await Self.submit(cli, ["top", "--delay", "3600"]))
            let child = try Self.id(try await Self.submit(cli, ["child", "--parent", top, "--delay", "3600"]))
            let deeper = try await cli.run(["submit", "grandchild", "--parent", child])
            #expect(deeper.status == 2 && deeper.stderr.contains("parent_id") && deeper.stderr.contains("at most 1 deep"), "\(deeper)")
        }
    }

    @Test("agents add --ask always says so; agents list shows an ASK column once an agent asks")
    func agentsAsk() async throws {
        try await withDaemon { cli in
            let plain = try await cli.run(["agents"])
            #expect(plain.status == 0 && !plain.stdout.contains("ASK"), "no agent asks: \(plain)")
            let added = try await cli.run(["agents", "add", "careful", "--runner", "command", "--config", #"{"command":["true"]}"#, "--ask", "always"])
            #expect(added.status == 0 && added.stdout == "careful  command  ask always\n", "\(added)")
            let list = try await cli.run(["agents"])
            let rows = list.stdout.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
            #expect(rows.first == ["NAME", "RUNNER", "CONCURRENCY", "TIMEOUT", "ATTEMPTS", "ASK", "COMMAND"], "\(list)")
            #expect(rows.contains { $0.first == "careful" && $0.dropLast().last == "always" }, "\(list)")
            #expect(rows.contains { $0.first == "shell" && $0.contains("off") }, "\(list)")
            let json = try await cli.json(["agents", "list", "--json"])
            #expect(Self.items(json["agents"]).first { $0["name"] == "careful" }?["ask"] == "always", "\(json)")

            let task = try await Self.submit(cli, ["go", "--agent", "careful"])
            #expect(task["state"] == "waiting", "\(task)")
            let onMiss = try await cli.run(["agents", "set", "careful", "--runner", "command", "--ask", "on-miss"])
            #expect(onMiss.status == 2 && onMiss.stderr.contains("ask") && onMiss.stderr.contains("tool-approval hook"), "\(onMiss)")
        }
    }
}
