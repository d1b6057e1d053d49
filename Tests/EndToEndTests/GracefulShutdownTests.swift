import AsyncHTTPClient
import Foundation
import Nightshift
import NightshiftSQLite
import NightshiftTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Graceful shutdown", .serialized)
struct GracefulShutdownTests {
    @Test("SIGTERM ends event streams at once and answers 503 with Retry-After while draining; a follower waits for the daemon and exits 0")
    func followAcrossGracefulShutdown() async throws {
        let home = try makeHome()
        let port = try freePort()
        try """
            [agents.slow]
            runner = "command"
            command = ["/bin/sh", "-c", "if [ \\"$NIGHTSHIFT_ATTEMPT\\" = 1 ]; then sleep 30; fi; echo finished"]
            """.write(to: home.appendingPathComponent("nightshift.toml"), atomically: true, encoding: .utf8)
        let arguments = ["--listen", "127.0.0.1:\(port)", "--poll-interval", "0.05"]
        let cli = CLIRunner(url: "http://127.0.0.1:\(port)", home: home)
        let first = try DaemonProcess(home: home, arguments: arguments + ["--shutdown-grace", "3"])
        #expect(try await eventually(timeout: .seconds(30)) { try await cli.run(["status", "--json"]).status == 0 })
        let submitted = try await cli.run(["submit", "--agent", "slow", "x"])
        let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try await eventually(timeout: .seconds(20)) { try await cli.json(["show", id, "--json"])["state"] == "running" })

        let follower = try cli.start(["logs", id, "--follow"])
        let followerOutput = { (try? String(contentsOf: follower.stdoutFile, encoding: .utf8)) ?? "" }
        let followerErrors = { (try? String(contentsOf: follower.stderrFile, encoding: .utf8)) ?? "" }
        #expect(try await eventually(timeout: .seconds(20)) { followerOutput().contains("running") }, "the follower is connected")

        kill(first.pid, SIGTERM)
        // While the running task has its grace, the API answers "come back later" instead of refusing.
        let token = try String(contentsOf: home.appendingPathComponent("token"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/status")
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        var draining: HTTPClientResponse?
        _ = try await eventually(timeout: .seconds(3)) {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            if response.status.code == 503 { draining = response }
            return draining != nil
        }
        let answer = try #require(draining, "503 while draining")
        let retryAfter = Int(answer.headers.first(name: "Retry-After") ?? "")
        #expect(retryAfter.map { (1...4).contains($0) } == true, "Retry-After: \(String(describing: retryAfter))")
        let body = String(buffer: try await answer.body.collect(upTo: 1 << 16))
        #expect(body.contains("shutting_down"), "\(body)")

        // The follower's stream does not hold the shutdown up: the daemon is gone once the grace is over.
        let exited = try await eventually(timeout: .seconds(10)) { !first.process.isRunning }
        #expect(exited, "the daemon exits after its grace period although a client follows a running task")
        if exited { #expect(first.process.terminationStatus == 0) }
        #expect(first.output.contains("shutting down"), "the daemon says it is draining: \(first.output)")
        #expect(first.output.contains("nightshift.grace_s=3s"), "and for how long: \(first.output)")
        // The follower waits for it, saying so once.
        #expect(try await eventually(timeout: .seconds(10)) { followerErrors().contains("waiting up to") })
        #expect(follower.process.isRunning, "the follower waits while the task is unfinished")

        let second = try DaemonProcess(home: home, arguments: arguments + ["--shutdown-grace", "0.2"])
        let result = try await follower.finish(timeout: .seconds(30))
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("finished"))
        #expect(result.stderr.components(separatedBy: "lost the daemon").count == 2, "said once: \(result.stderr)")
        #expect(await second.stop(SIGTERM) == 0)
        let task = try await Self.task(id, home: home)
        #expect(task.interruptions == 1 && task.failures == 0)
    }

    static func task(_ id: String, home: URL) async throws -> AgentTask {
        let store = try SQLiteTaskStore(path: home.appendingPathComponent("nightshift.db").path)
        let taskID = try #require(TaskID(id))
        return try #require(try await store.task(taskID))
    }
}
