import Foundation
import Nightshift
import NightshiftTestSupport
import Testing

@testable import NightshiftRunners

#if canImport(Glibc)
import Glibc
#endif

/// The bubblewrap sandbox, resource limits, the setup phase and secrets, with the real `bwrap`
/// (installed by scripts/test; with CI=true a missing one fails these tests).
@Suite("Sandbox", .serialized)
struct SandboxTests {
    /// Whether the real bubblewrap is here; under CI its absence is a failure, not a skip.
    static let bubblewrapHere: Bool = {
        let found = (try? Bubblewrap.available(searchPath: "/usr/bin:/bin")) != nil
        if !found, ProcessInfo.processInfo.environment["CI"] == "true" { Issue.record("CI=true and bwrap is missing or cannot make namespaces") }
        return found
    }()

    private func sandboxed(
        _ script: String, in dir: TempDir, policy: ExecutionPolicy, configure: (inout RunRequest) -> Void = { _ in }
    ) async throws -> (RunOutcome, EventRecorder) {
        var request = Fixture.shell(script, directory: dir.url)
        var policy = policy
        policy.sandbox = policy.sandbox ?? .bubblewrap
        request.agent.policy = policy
        configure(&request)
        let recorder = EventRecorder()
        let outcome = try await CommandRunner(killGrace: .seconds(1)).run(request, context: recorder.context)
        return (outcome, recorder)
    }

    /// A directory outside /tmp (the sandbox's /tmp is its own), removed by the caller.
    private func outsideDirectory() throws -> String {
        let path = "/var/tmp/nightshift-sandbox-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("an rw workspace can be written; a write outside it fails and leaves nothing")
    func writeOutsideFails() async throws {
        guard Self.bubblewrapHere else { return }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let outside = try outsideDirectory()
        defer { try? FileManager.default.removeItem(atPath: outside) }
        let (outcome, recorder) = try await sandboxed(
            "echo inside > mine.txt && if echo escaped > \(outside)/escape.txt; then echo WROTE; else echo REFUSED; fi",
            in: dir, policy: ExecutionPolicy(workspace: .rw))
        #expect(outcome.resolution == .succeeded, "\(outcome)")
        #expect(dir.read("mine.txt") == "inside\n")
        #expect(!FileManager.default.fileExists(atPath: outside + "/escape.txt"))
        #expect(recorder.lines("stdout").contains("REFUSED"), "\(recorder.all)")
    }

    @Test("an ro workspace can be read, not written; none hides it")
    func workspaceAccess() async throws {
        guard Self.bubblewrapHere else { return }
        let dir = try TempDir()
        defer { dir.cleanup() }
        try "seen\n".write(toFile: dir.path("given.txt"), atomically: true, encoding: .utf8)
        let script = "cat given.txt || echo UNSEEN; if echo x > new.txt; then echo WROTE; else echo REFUSED; fi"
        let (readOnly, ro) = try await sandboxed(script, in: dir, policy: ExecutionPolicy(workspace: .ro))
        #expect(readOnly.resolution == .succeeded)
        #expect(ro.lines("stdout") == ["seen", "REFUSED"], "\(ro.all)")
        #expect(dir.read("new.txt") == nil)

        let (hidden, none) = try await sandboxed(script, in: dir, policy: ExecutionPolicy(workspace: ExecutionPolicy.WorkspaceAccess.none))
        #expect(hidden.resolution == .succeeded)
        #expect(none.lines("stdout").first == "UNSEEN", "\(none.all)")
        // What it wrote went to a tmpfs that died with it.
        #expect(dir.read("new.txt") == nil)
        #expect(dir.read("given.txt") == "seen\n")
    }

    @Test("the daemon's private paths are hidden; the task's own directory is mounted back")
    func privatePathsHidden() async throws {
        guard Self.bubblewrapHere else { return }
        let root = try TempDir()
        defer { root.cleanup() }
        let workspace = root.url.appendingPathComponent("task-a")
        try FileManager.default.createDirectory(at: workspace, withIntermediateDirectories: true)
        try "secret db\n".write(toFile: root.path("nightshift.db"), atomically: true, encoding: .utf8)
        var request = Fixture.shell("cat \(root.path("nightshift.db")) || echo HIDDEN; pwd", directory: workspace)
        request.agent.policy = ExecutionPolicy(sandbox: .bubblewrap)
        request.privatePaths = [root.url]
        let recorder = EventRecorder()
        let outcome = try await CommandRunner(killGrace: .seconds(1)).run(request, context: recorder.context)
        #expect(outcome.resolution == .succeeded, "\(outcome)")
        #expect(recorder.lines("stdout") == ["HIDDEN", workspace.path], "\(recorder.all)")
    }

    @Test("with the network off a loopback server started by the test is unreachable; with it on it answers")
    func network() async throws {
        guard Self.bubblewrapHere else { return }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let server = try LoopbackListener()
        defer { server.close() }
        let script = "if bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(server.port)'; then echo CONNECTED; else echo UNREACHABLE; fi"
        let (off, offEvents) = try await sandboxed(script, in: dir, policy: ExecutionPolicy(network: false))
        #expect(off.resolution == .succeeded)
        #expect(offEvents.lines("stdout") == ["UNREACHABLE"], "\(offEvents.all)")
        let (on, onEvents) = try await sandboxed(script, in: dir, policy: ExecutionPolicy(network: true))
        #expect(on.resolution == .succeeded)
        #expect(onEvents.lines("stdout") == ["CONNECTED"], "\(onEvents.all)")
    }

    @Test("a fork bomb is stopped by max_processes, and nothing it started outlives the run")
    func forkBomb() async throws {
        guard Self.bubblewrapHere else { return }
        let dir = try TempDir()
        defer { dir.cleanup() }
        // Each round starts a child that would live a minute; past the cap the shell cannot fork.
        let (outcome, _) = try await sandboxed(
            "i=0; while [ $i -lt 500 ]; do sleep 60 & i=$((i+1)); echo $i > count; done; echo SURVIVED",
            in: dir, policy: ExecutionPolicy(maxProcesses: 16))
        let started = Int(dir.read("count")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        #expect(started < 16, "started \(started)")
        #expect(outcome.resolution == .failed(retryable: false), "\(outcome)")
        #expect(outcome.error?.contains("process limit reached") == true, "\(outcome.error ?? "")")
        #expect(outcome.error?.contains("16") == true)
        // The sleeps died with the sandbox's PID namespace.
        #expect(try await eventually(timeout: .seconds(5)) { Self.sleepers(in: dir.url.path) == 0 })
    }

    @Test("memory beyond the limit kills the run with a clear error")
    func memoryLimit() async throws {
        guard Self.bubblewrapHere else { return }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let (outcome, _) = try await sandboxed(
            "python3 -c 'b = bytearray(400 * 1024 * 1024); print(len(b))'", in: dir, policy: ExecutionPolicy(memoryBytes: 64 << 20))
        #expect(outcome.resolution == .failed(retryable: false), "\(outcome)")
        #expect(outcome.error?.hasPrefix("memory limit exceeded") == true, "\(outcome.error ?? "")")
        #expect(outcome.error?.contains("64M") == true)
        // Under the limit the same program runs.
        let (fits, events) = try await sandboxed(
            "python3 -c 'b = bytearray(8 * 1024 * 1024); print(len(b))'", in: dir, policy: ExecutionPolicy(memoryBytes: 64 << 20))
        #expect(fits.resolution == .succeeded, "\(fits)")
        #expect(events.lines("stdout") == ["8388608"])
    }

    @Test("output past max_output_bytes stops the run")
    func outputCap() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var request = Fixture.shell("yes 0123456789 | head -c 2000000; echo DONE", directory: dir.url)
        request.agent.policy = ExecutionPolicy(maxOutputBytes: 10_000)
        let recorder = EventRecorder()
        let outcome = try await CommandRunner(killGrace: .seconds(1)).run(request, context: recorder.context)
        #expect(outcome.resolution == .failed(retryable: false), "\(outcome)")
        #expect(outcome.error?.hasPrefix("output limit exceeded: more than 10000 bytes") == true, "\(outcome.error ?? "")")
        #expect(!recorder.lines("stdout").contains("DONE"))
    }

    @Test("a policy that asks for bubblewrap fails closed when bwrap is missing, and nothing runs")
    func failsClosed() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let empty = try TempDir()
        defer { empty.cleanup() }
        var request = Fixture.shell("echo ran > ran.txt", directory: dir.url)
        request.agent.policy = ExecutionPolicy(sandbox: .bubblewrap)
        let runner = CommandRunner(killGrace: .seconds(1), environment: ["PATH": empty.url.path])
        let outcome = try await runner.run(request, context: EventRecorder().context)
        #expect(outcome.resolution == .failed(retryable: false))
        #expect(outcome.error?.hasPrefix("sandbox unavailable: bwrap (bubblewrap) is not installed") == true, "\(outcome.error ?? "")")
        #expect(dir.read("ran.txt") == nil)
        // The agents' availability says so before any run does.
        let report = await runner.availability(of: request.agent)
        #expect(!report.available)
        #expect(report.problem?.hasPrefix("sandbox unavailable: bwrap (bubblewrap) is not installed") == true)
        request.agent.policy = ExecutionPolicy()
        #expect(await runner.availability(of: request.agent).available)
    }

    @Test("setup runs first with the network on and its own phase's events; the agent then runs with it off")
    func twoPhases() async throws {
        guard Self.bubblewrapHere else { return }
        let dir = try TempDir()
        defer { dir.cleanup() }
        let server = try LoopbackListener()
        defer { server.close() }
        let probe = "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(server.port)' 2>/dev/null && echo online || echo offline"
        let (outcome, recorder) = try await sandboxed(
            "cat deps.txt; \(probe)", in: dir, policy: ExecutionPolicy(network: false)
        ) { request in
            request.agent.setup = SetupPhase(
                command: ["/bin/sh", "-c", "echo installing; (\(probe)) > deps.txt; echo warn >&2"],
                policy: ExecutionPolicy(network: true))
        }
        #expect(outcome.resolution == .succeeded, "\(outcome)")
        #expect(recorder.lines("stdout") == ["online", "offline"], "\(recorder.all)")
        let setup = recorder.events("setup").map { "\($0.data["stream"]?.stringValue ?? "?"):\($0.data["line"]?.stringValue ?? "?")" }
        #expect(setup == ["stdout:installing", "stderr:warn"], "\(recorder.all)")
        #expect(recorder.events("setup_finished").first?.data["exit_code"] == .int(0))
        let types = recorder.all.map(\.type)
        #expect(types.firstIndex(of: "setup_finished")! < types.firstIndex(of: "stdout")!)
    }

    @Test("a failed setup fails the run with the setup's error and the agent never starts")
    func failedSetup() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var request = Fixture.shell("echo ran > ran.txt", directory: dir.url)
        request.agent.setup = SetupPhase(command: ["/bin/sh", "-c", "echo 'npm ERR! network' >&2; exit 7"])
        let recorder = EventRecorder()
        let outcome = try await CommandRunner(killGrace: .seconds(1)).run(request, context: recorder.context)
        #expect(outcome.resolution == .failed(retryable: true))
        #expect(outcome.error == "setup failed (exit 7): npm ERR! network")
        #expect(dir.read("ran.txt") == nil)
        #expect(recorder.events("setup_finished").first?.data["exit_code"] == .int(7))
    }

    @Test("secrets reach only their phases and are never in an event or error")
    func secrets() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let file = dir.path("agent-key")
        try "file-secret-4242\n".write(toFile: file, atomically: true, encoding: .utf8)
        let env = dir.path("vars.env")
        try "# comment\nexport FROM_DOTENV='dotenv-secret-7777'\n".write(toFile: env, atomically: true, encoding: .utf8)
        var request = Fixture.shell(
            "echo agent sees [$AGENT_KEY] [$SETUP_TOKEN] [$FROM_DOTENV]; echo $AGENT_KEY >&2; exit 3", directory: dir.url)
        request.agent.secrets = [
            AgentSecret(name: "AGENT_KEY", file: file),
            AgentSecret(name: "SETUP_TOKEN", env: "DAEMON_TOKEN", phases: [.setup]),
        ]
        request.agent.envFile = EnvFile(path: env)
        request.agent.setup = SetupPhase(command: ["/bin/sh", "-c", "echo setup sees [$SETUP_TOKEN] [$AGENT_KEY]"])
        let runner = CommandRunner(killGrace: .seconds(1), environment: ["PATH": "/usr/bin:/bin", "DAEMON_TOKEN": "env-secret-9999"])
        let recorder = EventRecorder()
        let outcome = try await runner.run(request, context: recorder.context)
        #expect(recorder.lines("stdout") == ["agent sees [[redacted]] [] [[redacted]]"], "\(recorder.all)")
        #expect(recorder.events("setup").compactMap { $0.data["line"]?.stringValue } == ["setup sees [[redacted]] []"])
        #expect(outcome.error?.contains("[redacted]") == true, "\(outcome.error ?? "")")
        let everything = recorder.all.map { "\($0.type) \($0.data.jsonText)" }.joined(separator: "\n") + (outcome.error ?? "")
        for value in ["file-secret-4242", "env-secret-9999", "dotenv-secret-7777"] {
            #expect(!everything.contains(value), "\(value) leaked")
        }
        // A secret whose source is missing fails the run, naming the variable, not a value.
        request.agent.secrets = [AgentSecret(name: "GONE", env: "NOT_SET_ANYWHERE")]
        let missing = try await runner.run(request, context: EventRecorder().context)
        #expect(missing.error == "agent tester: secret GONE: the daemon's variable NOT_SET_ANYWHERE is not set")
        #expect(missing.resolution == .failed(retryable: false))
    }

    /// How many `sleep` processes run with `directory` as their working directory.
    static func sleepers(in directory: String) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { entry in
            guard Int32(entry) != nil,
                  let cwd = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/cwd"),
                  let comm = try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8)
            else { return false }
            return cwd == directory && comm.hasPrefix("sleep")
        }.count
    }
}

/// A TCP socket listening on 127.0.0.1 at a free port: the kernel completes connections to it
/// (its backlog), which is all a reachability check needs.
final class LoopbackListener: Sendable {
    let descriptor: Int32
    let port: UInt16

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            _ = Glibc.close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
        descriptor = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    func close() { _ = Glibc.close(descriptor) }
}
