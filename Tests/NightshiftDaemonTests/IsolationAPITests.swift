import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

/// Execution policy, worktrees, diffs and artifacts over real loopback HTTP, with the real `git`.
@Suite("HTTP API: isolation")
struct IsolationAPITests {
    /// A repository with one commit on `main`; its path.
    static func makeRepository() async throws -> String {
        try await TestRepository.make(commits: [["README.md": "hello\n"]])
    }

    /// A member token of the default workspace.
    static func member(_ api: APIHarness) async throws -> String {
        try #require(try await api.request(.POST, "/v1/tokens", body: #"{"role":"member","name":"m"}"#).json?["token"]?.stringValue)
    }

    @Test("an agent's policy and isolation settings are kept and answered; a bad one is refused naming the field")
    func agentSettings() async throws {
        let repo = try await Self.makeRepository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        try await APIHarness.with(handlers: [:]) { api in
            let body = """
                {"name":"coder","runner":"command","config":{"command":["/bin/sh","-c","true"]},
                 "policy":{"security":"allowlist","allow":["Bash(npm test:*)"],"workspace":"rw","network":false,"sandbox":"bubblewrap","memory":"2G","max_processes":64},
                 "setup":{"command":["npm","ci"],"policy":{"network":true},"timeout":"10m"},
                 "repo":"\(repo)","base":"main","repo_concurrency":2,
                 "secrets":{"NPM_TOKEN":{"env":"NPM_TOKEN","phases":["setup"]}},"artifacts":["out/*.md"]}
                """
            let created = try await api.request(.POST, "/v1/agents", body: body)
            #expect(created.status == 201, "\(created.body)")
            let agent = try #require(try await api.request(.GET, "/v1/agents/coder").json)
            #expect(agent["policy"]?["memory"] == "2G")
            #expect(agent["policy"]?["network"] == false)
            #expect(agent["policy"]?["allow"] == ["Bash(npm test:*)"])
            #expect(agent["setup"]?["policy"]?["network"] == true)
            #expect(agent["setup"]?["timeout"] == 600)
            #expect(agent["repo"] == .string(repo))
            #expect(agent["repo_concurrency"] == 2)
            #expect(agent["secrets"]?["NPM_TOKEN"]?["env"] == "NPM_TOKEN")
            #expect(agent["artifacts"] == ["out/*.md"])

            let cases: [(String, String, Int)] = [
                (#""policy":{"memory":"lots"}"#, "policy.memory", 422),
                (#""policy":{"sandbox":"docker"}"#, "policy.sandbox", 422),
                (#""policy":{"nework":false}"#, "policy.nework", 422),
                (#""repo":"/nonexistent/repo""#, "repo", 422),
                (#""setup":{"command":[]}"#, "setup.command", 422),
                (#""secrets":{"X":{"env":"A","file":"/b"}}"#, "secrets.X", 422),
            ]
            for (member, field, status) in cases {
                let answer = try await api.request(.POST, "/v1/agents", body: #"{"name":"bad","runner":"command","config":{"command":["true"]},"# + member + "}")
                #expect(answer.status == status, "\(member): \(answer.body)")
                #expect(answer.json?["error"]?["field"] == .string(field), "\(member): \(answer.body)")
            }
            let notRepo = try await api.request(.POST, "/v1/agents", body: #"{"name":"bad","runner":"command","config":{"command":["true"]},"repo":"/tmp"}"#)
            #expect(notRepo.json?["error"]?["message"]?.stringValue?.contains("agent bad: /tmp is not a git repository") == true, "\(notRepo.body)")
        }
    }

    @Test("a task's policy may narrow its agent's; a wider one is 403 naming the field, unless the token is an admin's")
    func taskPolicy() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let agent = #"{"name":"coder","runner":"command","config":{"command":["/bin/sh","-c","true"]},"policy":{"network":false,"workspace":"ro","memory":"1G"}}"#
            #expect(try await api.request(.POST, "/v1/agents", body: agent).status == 201)
            let member = try await Self.member(api)
            let later = "\"delay\":3600"
            let narrower = try await api.request(
                .POST, "/v1/tasks", body: #"{"agent":"coder","prompt":"p",\#(later),"policy":{"workspace":"none","memory":"512M"}}"#, token: member)
            #expect(narrower.status == 201, "\(narrower.body)")
            #expect(narrower.json?["policy"] == ["workspace": "none", "memory": "512M"])
            let id = try #require(narrower.json?["id"]?.stringValue)
            #expect(try await api.request(.GET, "/v1/tasks/\(id)").json?["policy"]?["workspace"] == "none")

            for (policy, field) in [(#"{"network":true}"#, "policy.network"), (#"{"workspace":"rw"}"#, "policy.workspace"), (#"{"memory":"4G"}"#, "policy.memory")] {
                let wider = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"coder","prompt":"p",\#(later),"policy":\#(policy)}"#, token: member)
                #expect(wider.status == 403, "\(policy): \(wider.body)")
                #expect(wider.json?["error"]?["field"] == .string(field))
                #expect(wider.json?["error"]?["message"]?.stringValue?.contains("wider than agent coder allows") == true)
            }
            let admin = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"coder","prompt":"p",\#(later),"policy":{"network":true}}"#)
            #expect(admin.status == 201, "\(admin.body)")
            let bad = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"coder","prompt":"p","policy":{"memory":"12 parsecs"}}"#, token: member)
            #expect(bad.status == 422)
            #expect(bad.json?["error"]?["field"] == "policy.memory")
        }
    }

    @Test("a run in a worktree leaves its diff and its artifacts, served by the API")
    func diffAndArtifacts() async throws {
        let repo = try await Self.makeRepository()
        defer { try? FileManager.default.removeItem(atPath: repo) }
        try await APIHarness.with(handlers: [:]) { api in
            let script = #"mkdir -p out && echo report > out/summary.md && echo changed >> README.md && echo '{\"type\":\"artifact\",\"path\":\"README.md\",\"name\":\"readme.txt\"}'"#
            let agent = #"{"name":"coder","runner":"command","config":{"command":["/bin/sh","-c","\#(script)"]},"repo":"\#(repo)","artifacts":["out/*.md"]}"#
            let created = try await api.request(.POST, "/v1/agents", body: agent)
            #expect(created.status == 201, "\(created.body)")
            let id = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"coder","prompt":"go"}"#).json?["id"]?.stringValue)
            #expect(try await eventually(timeout: .seconds(30)) { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })

            let diff = try await api.request(.GET, "/v1/tasks/\(id)/diff")
            #expect(diff.status == 200)
            #expect(diff.json?["files_changed"] == 2, "\(diff.body)")
            #expect(diff.json?["stat"]?.stringValue?.contains("README.md") == true)
            let patch = try await api.request(.GET, "/v1/tasks/\(id)/diff", headers: [("Accept", "text/x-diff")])
            #expect(patch.body.contains("+changed") && patch.body.contains("+++ b/out/summary.md"), "\(patch.body)")

            let listed = try await api.request(.GET, "/v1/tasks/\(id)/artifacts")
            let names = listed.json?["artifacts"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(Set(names) == ["summary.md", "readme.txt"], "\(listed.body)")
            #expect(try await api.request(.GET, "/v1/tasks/\(id)/artifacts/summary.md").body == "report\n")
            #expect(try await api.request(.GET, "/v1/tasks/\(id)/artifacts/readme.txt").body == "hello\nchanged\n")
            #expect(try await api.request(.GET, "/v1/tasks/\(id)/artifacts/nothing.md").status == 404)
            // Another workspace's token sees neither.
            let outsider = try await WorkspaceAPITests.token(api, workspace: "other", role: "admin")
            for path in ["diff", "artifacts", "artifacts/summary.md"] {
                #expect(try await api.request(.GET, "/v1/tasks/\(id)/\(path)", token: outsider).status == 404, "\(path)")
            }

            // A task whose agent has no repository has no diff.
            let plain = try #require(try await api.request(
                .POST, "/v1/agents", body: #"{"name":"plain","runner":"command","config":{"command":["true"]}}"#).json)
            #expect(plain["name"] == "plain")
            let other = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"plain","prompt":"go"}"#).json?["id"]?.stringValue)
            #expect(try await eventually(timeout: .seconds(30)) { try await api.request(.GET, "/v1/tasks/\(other)").json?["state"] == "done" })
            #expect(try await api.request(.GET, "/v1/tasks/\(other)/diff").status == 404)
        }
    }
}
