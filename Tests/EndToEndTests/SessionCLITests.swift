import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftSQLite
import Testing

/// `nightshift checkpoints` and `nightshift memory` against a `nightshift serve` child.
@Suite("CLI: checkpoints and memories", .serialized)
struct SessionCLITests {
    @Test("checkpoints: list, show, resolve, cleanup and quarantine through a real daemon")
    func checkpoints() async throws {
        try await withDaemon { cli in
            let token = try String(contentsOf: cli.home.appendingPathComponent("token"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let client = NightshiftClient(baseURL: cli.url, token: token)
            let saved = try await client.saveCheckpoint([
                "schema_version": 1, "agent": "coder", "phase": "implementing", "resume_hint": "finish the parser",
                "progress": ["tasks_remaining": ["tests"]],
            ])
            let id = saved.id
            _ = try await client.saveCheckpoint([
                "schema_version": 1, "agent": "coder", "phase": "old", "status": "resolved",
                "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            ])

            let listed = try await cli.json(["checkpoints", "list", "--agent", "coder", "--status", "active", "--max-age", "7d", "--json"])
            guard case .array(let checkpoints)? = listed["checkpoints"] else {
                Issue.record("checkpoints list --json: \(listed)")
                return
            }
            #expect(checkpoints.map { $0["id"] } == [.string(id)])
            let table = try await cli.run(["checkpoints", "list"])
            #expect(table.status == 0)
            #expect(table.stdout.contains(id) && table.stdout.contains("finish the parser") && table.stdout.contains("resolved"))

            #expect(try await cli.json(["checkpoints", "show", id, "--json"])["phase"] == "implementing")
            let shown = try await cli.run(["checkpoints", "show", id])
            #expect(shown.status == 0 && shown.stdout.contains("tests") && shown.stdout.contains("implementing"))
            #expect(try await cli.run(["checkpoints", "show", "no-such-checkpoint"]).status == 3)

            #expect(try await cli.json(["checkpoints", "resolve", id, "--json"])["status"] == "resolved")
            let again = try await cli.run(["checkpoints", "resolve", id])
            #expect(again.status == 0 && again.stdout.contains("resolved"), "resolving twice succeeds: \(again)")

            #expect(try await cli.run(["checkpoints", "cleanup", "--older-than-days", "0"]).status == 2)
            #expect(try await cli.json(["checkpoints", "cleanup", "--older-than-days", "30", "--json"]) == ["archived": 1])
            #expect(try await cli.run(["checkpoints", "cleanup", "--older-than-days", "30"]).stdout == "archived 0 checkpoints\n")

            // Another process (this one) records a quarantined file in the daemon's database.
            let store = try SQLiteTaskStore(path: cli.home.appendingPathComponent("nightshift.db").path)
            try await store.recordQuarantined(QuarantinedCheckpoint(
                fileName: "v2.json", quarantinedPath: "/tmp/q/v2.json", error: "schema_version: expected 1, got 2",
                agent: "coder", taskID: nil, time: Date()))
            let quarantined = try await cli.json(["checkpoints", "quarantine", "--json"])
            if case .array(let files)? = quarantined["quarantined"] {
                #expect(files.map { $0["error"] } == ["schema_version: expected 1, got 2"])
            } else {
                Issue.record("checkpoints quarantine --json: \(quarantined)")
            }
            #expect(try await cli.run(["checkpoints", "quarantine"]).stdout.contains("v2.json"))
        }
    }

    @Test("memory: set, get, list, delete; a stale --expected-version exits 1")
    func memory() async throws {
        try await withDaemon { cli in
            let set = try await cli.json(["memory", "set", "coder", "repo/layout", "Sources/ holds the modules", "--json"])
            #expect(set["version"] == 1)
            #expect(try await cli.run(["memory", "set", "coder", "repo/layout", "v2", "--expected-version", "1"]).stdout == "repo/layout  version 2\n")
            let stale = try await cli.run(["memory", "set", "coder", "repo/layout", "v3", "--expected-version", "1"])
            #expect(stale.status == 1, "\(stale)")
            #expect(stale.stderr.hasPrefix("error: ") && stale.stderr.contains("conflict"))
            #expect(try await cli.run(["memory", "get", "coder", "repo/layout"]).stdout == "v2\n")
            // Another workspace's memory, written with a token of that workspace, is not listed here.
            #expect(try await cli.run(["workspaces", "create", "w2"]).status == 0)
            let created = try await cli.json(["tokens", "create", "--workspace", "w2", "--role", "member", "--name", "e2e", "--json"])
            let w2 = ["NIGHTSHIFT_TOKEN": try #require(created["token"]?.stringValue)]
            #expect(try await cli.run(["memory", "set", "coder", "style", "tabs"], environment: w2).status == 0)
            #expect(try await cli.run(["memory", "get", "coder", "style"]).status == 3, "w2's memory is not default's")
            let listed = try await cli.json(["memory", "list", "coder", "--prefix", "repo/", "--json"])
            if case .array(let memories)? = listed["memories"] {
                #expect(memories.map { $0["key"] } == ["repo/layout"])
            } else {
                Issue.record("memory list --json: \(listed)")
            }
            let table = try await cli.run(["memory", "list", "coder"], environment: w2).stdout
            #expect(table.components(separatedBy: "tabs").count == 2, "one row for the one memory:\n\(table)")
            // tokens list shows the token (never its text); once revoked it is refused.
            let id = try #require(created["id"]?.stringValue)
            let tokens = try await cli.run(["tokens", "list"]).stdout
            #expect(tokens.contains(id) && tokens.contains("w2") && !tokens.contains(w2["NIGHTSHIFT_TOKEN"]!), "\(tokens)")
            #expect(try await cli.run(["tokens", "revoke", id]).status == 0)
            let refused = try await cli.run(["memory", "list", "coder"], environment: w2)
            #expect(refused.status != 0 && refused.stderr.contains("unauthorized"), "\(refused)")
            #expect(try await cli.run(["memory", "delete", "coder", "repo/layout"]).status == 0)
            #expect(try await cli.run(["memory", "delete", "coder", "repo/layout"]).status == 3)
            #expect(try await cli.run(["memory", "get", "coder", "repo/layout"]).status == 3)
        }
    }

    @Test("concurrent writers in several processes lose no increment: CLI compare-and-set loops and a second store")
    func concurrentProcesses() async throws {
        try await withDaemon { cli in
            let cliWriters = 3
            let cliIncrements = 4
            let storeWriters = 2
            let storeIncrements = 25
            let store = try SQLiteTaskStore(path: cli.home.appendingPathComponent("nightshift.db").path)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<cliWriters {
                    group.addTask {
                        for _ in 0..<cliIncrements {
                            while true {
                                let read = try await cli.run(["memory", "get", "counter", "n", "--json"])
                                var version: Int64 = 0
                                var value = 0
                                if read.status == 0 {
                                    let memory = try JSONValue(jsonText: read.stdout)
                                    if case .int(let current)? = memory["version"] { version = current }
                                    value = Int(memory["summary"]?.stringValue ?? "") ?? 0
                                } else {
                                    #expect(read.status == 3, "\(read)")
                                }
                                let write = try await cli.run([
                                    "memory", "set", "counter", "n", String(value + 1), "--expected-version", String(version),
                                ])
                                if write.status == 0 { break }
                                #expect(write.status == 1 && write.stderr.contains("conflict"), "\(write)")
                            }
                        }
                    }
                }
                for _ in 0..<storeWriters {
                    group.addTask {
                        for _ in 0..<storeIncrements {
                            _ = try await store.updateMemory(workspace: "default", agent: "counter", key: "n", now: Date()) { current in
                                String((current.flatMap { Int($0.summary) } ?? 0) + 1)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total = cliWriters * cliIncrements + storeWriters * storeIncrements
            let final = try await cli.json(["memory", "get", "counter", "n", "--json"])
            #expect(final["summary"] == .string(String(total)))
            #expect(final["version"] == .int(Int64(total)))
        }
    }
}
