import Foundation
import Logging
import Nightshift
import Synchronization
import NightshiftTestSupport
import Testing

@testable import NightshiftRunners

@Suite("Command runner process groups", .timeLimit(.minutes(1)))
struct CommandCancellationTests {
    let runner = CommandRunner(killGrace: .milliseconds(300))

    /// Starts `request` in a child task, waits for the pid files the script writes, cancels the task.
    private func runAndCancel(
        _ request: RunRequest, dir: TempDir, pidFiles: [String], runner: CommandRunner? = nil,
        events: EventRecorder = EventRecorder()
    ) async throws -> (outcome: RunOutcome, pids: [Int32], elapsed: Duration) {
        let runner = runner ?? self.runner
        return try await withThrowingTaskGroup(of: RunOutcome.self) { group in
            group.addTask { try await runner.run(request, context: events.context) }
            var pids: [Int32] = []
            for name in pidFiles {
                pids.append(try #require(await pid(in: dir, name), "the agent did not write \(name)"))
            }
            let started = ContinuousClock.now
            group.cancelAll()
            let outcome = try #require(try await group.next())
            return (outcome, pids, ContinuousClock.now - started)
        }
    }

    @Test("cancelling kills the agent and its grandchild, and returns a retryable 'cancelled'")
    func cancelKillsChildAndGrandchild() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let script = "sleep 300 & echo $! > gc.tmp && mv gc.tmp grandchild.pid; echo $$ > c.tmp && mv c.tmp child.pid; sleep 300"
        let (outcome, pids, elapsed) = try await runAndCancel(
            Fixture.shell(script, directory: dir.url), dir: dir, pidFiles: ["child.pid", "grandchild.pid"]
        )
        #expect(outcome.resolution == .failed(retryable: true))
        #expect(outcome.error == "cancelled")
        #expect(elapsed < .seconds(20), "prompt: the agent sleeps 300 s or forever")
        for pid in pids {
            #expect(await eventually(timeout: .seconds(15)) { processIsGone(pid) }, "process \(pid) survived")
        }
    }

    @Test("an agent that ignores SIGTERM is killed with SIGKILL after the grace period")
    func sigtermIgnored() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let script = "trap '' TERM; echo $$ > c.tmp && mv c.tmp child.pid; while :; do sleep 1; done"
        let (outcome, pids, elapsed) = try await runAndCancel(
            Fixture.shell(script, directory: dir.url), dir: dir, pidFiles: ["child.pid"]
        )
        #expect(outcome.error == "cancelled")
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < .seconds(20), "prompt: the agent sleeps 300 s or forever")
        #expect(await eventually(timeout: .seconds(15)) { processIsGone(pids[0]) })
    }

    @Test("output written while handling SIGTERM is still read, so a graceful exit is not blocked")
    func outputDuringGrace() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let events = EventRecorder()
        let script = #"""
            trap 'head -c 300000 /dev/zero | tr "\0" x; echo; echo "{\"type\":\"checkpoint\",\"at\":\"term\"}"; exit 0' TERM
            echo $$ > c.tmp && mv c.tmp child.pid
            while :; do sleep 0.05; done
            """#
        let (outcome, pids, elapsed) = try await runAndCancel(
            Fixture.shell(script, directory: dir.url), dir: dir, pidFiles: ["child.pid"],
            runner: CommandRunner(killGrace: .seconds(40)), events: events
        )
        // Exit status 0 is the trap's own exit: had the runner stopped reading, the trap would
        // block on a full pipe until the 40 s grace ended in SIGKILL.
        #expect(outcome == .failed("cancelled", retryable: true, usage: RunUsage(exitCode: 0)))
        #expect(elapsed < .seconds(40), "the trap exits at once; the kill grace is 40 s")
        #expect(events.events("checkpoint").map(\.data) == [["at": "term"]])
        #expect(events.lines("stdout").first?.utf8.count == 300_000)
        #expect(await eventually(timeout: .seconds(15)) { processIsGone(pids[0]) })
    }

    @Test("a grandchild holding stdout open does not keep the run alive, and does not survive it")
    func grandchildHoldingStdout() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let events = EventRecorder()
        let script = "sleep 300 & echo $! > gc.tmp && mv gc.tmp grandchild.pid; echo bye"
        let started = ContinuousClock.now
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: events.context)
        #expect(ContinuousClock.now - started < .seconds(20), "the grandchild sleeps 300 s")
        #expect(outcome == .succeeded("bye", usage: RunUsage(exitCode: 0)))
        let grandchild = try #require(await pid(in: dir, "grandchild.pid"))
        #expect(await eventually(timeout: .seconds(15)) { processIsGone(grandchild) }, "grandchild \(grandchild) survived")
    }

    @Test("a grandchild that keeps writing after the leader exited is killed and reading stops")
    func grandchildWritingForever() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let script = "yes spam & echo $! > gc.tmp && mv gc.tmp grandchild.pid; sleep 0.2; exit 4"
        let started = ContinuousClock.now
        // Millions of lines: count them instead of keeping them.
        let lines = Atomic<Int>(0)
        let context = RunContext(logger: Logger(label: "test"), emit: { _, _ in lines.add(1, ordering: .relaxed) })
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: context)
        #expect(ContinuousClock.now - started < .seconds(30), "the writer never stops by itself")
        #expect(lines.load(ordering: .relaxed) > 0)
        #expect(outcome.usage.exitCode == 4)
        let grandchild = try #require(await pid(in: dir, "grandchild.pid"))
        #expect(await eventually(timeout: .seconds(15)) { processIsGone(grandchild) })
    }

    @Test(
        "a process that left the group and keeps writing does not keep the run alive",
        .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/setsid"))
    )
    func escapedWriter() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let lines = Atomic<Int>(0)
        let context = RunContext(logger: Logger(label: "test"), emit: { _, _ in lines.add(1, ordering: .relaxed) })
        let script = "/usr/bin/setsid yes escaped & echo $! > gc.tmp && mv gc.tmp escaped.pid; sleep 0.2; echo done"
        let started = ContinuousClock.now
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: context)
        #expect(ContinuousClock.now - started < .seconds(30), "the writer never stops by itself")
        #expect(outcome.resolution == .succeeded)
        // Once the runner closed the pipe, the escaped writer dies of SIGPIPE.
        let escaped = try #require(await pid(in: dir, "escaped.pid"))
        #expect(await eventually(timeout: .seconds(15)) { processIsGone(escaped) }, "escaped writer \(escaped) still running")
    }
}

/// A start failure is typed with its errno, so the engine tells the node's fault from the agent's.
@Suite("Agent start failures")
struct AgentStartFailureTests {
    @Test("a process that cannot start throws AgentStartFailure with the system's errno")
    func typedStartFailure() async throws {
        let execution = CommandExecution(
            invocation: CommandInvocation(
                executablePath: "/bin/sh", arguments: ["sh", "-c", "true"], environment: [:],
                workingDirectory: "/nonexistent-\(UUID().uuidString)"),
            prompt: "", interpreter: StdoutInterpreter(outputLimit: 1024), killGrace: .milliseconds(100), limits: CommandLimits(),
            context: EventRecorder().context)
        let failure = await #expect(throws: AgentStartFailure.self) { _ = try await execution.run() }
        #expect(failure?.errno == ENOENT, "\(String(describing: failure))")
        #expect(failure?.isOutOfDescriptors == false)
    }

    @Test("out of descriptors is an interruption; any other start failure a retryable failure naming the program")
    func outcomes() {
        let exhausted = AgentStartFailure("spawn failed", errno: EMFILE).outcome(agent: "a", executable: "/bin/x")
        #expect(exhausted.resolution == .released && exhausted.label == "interrupted")
        #expect(AgentStartFailure("spawn failed", errno: ENFILE).outcome(agent: "a", executable: "/bin/x").label == "interrupted")
        let missing = AgentStartFailure("spawn failed", errno: ENOENT).outcome(agent: "a", executable: "/bin/x")
        #expect(missing.resolution == .failed(retryable: true))
        #expect(missing.error == "agent a: could not start /bin/x: spawn failed")
    }
}
