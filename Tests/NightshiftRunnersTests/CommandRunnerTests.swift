import Foundation
import Nightshift
import Testing

@testable import NightshiftRunners

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite("Command runner", .timeLimit(.minutes(1)))
struct CommandRunnerTests {
    let runner = CommandRunner(killGrace: .milliseconds(300))

    @Test("the prompt arrives on stdin and in NIGHTSHIFT_PROMPT, with the task's identity")
    func promptAndIdentity() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let prompt = "Fix the bug.\nThen run the tests: \"make test\" 100% ✓"
        let request = Fixture.shell(
            #"""
            cat > stdin.txt
            printf '%s' "$NIGHTSHIFT_PROMPT" > env.txt
            echo "$NIGHTSHIFT_TASK_ID $NIGHTSHIFT_RUN_ID $NIGHTSHIFT_ATTEMPT $NIGHTSHIFT_WORKDIR"
            """#,
            prompt: prompt, directory: dir.url
        )
        let events = EventRecorder()
        let outcome = try await runner.run(request, context: events.context)
        #expect(dir.read("stdin.txt") == prompt)
        #expect(dir.read("env.txt") == prompt)
        let identity = "\(request.task.id.rawValue) \(request.run.id) 1 \(dir.url.path)"
        #expect(outcome == .succeeded(identity, usage: RunUsage(exitCode: 0)))
        #expect(events.lines("stdout") == [identity])
    }

    @Test("a traced run's context reaches the agent process as TRACEPARENT; an untraced run sets none")
    func traceParent() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var request = Fixture.shell(#"printf '%s' "${TRACEPARENT-unset}""#, prompt: "p", directory: dir.url)
        let traced = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        request.traceParent = traced
        #expect(try await runner.run(request, context: EventRecorder().context).result == traced)
        request.traceParent = nil
        #expect(try await runner.run(request, context: EventRecorder().context).result == "unset")
    }

    @Test("the inputs a run delivers follow the prompt on stdin as input lines, and are in NIGHTSHIFT_INPUTS; with input = env stdin is the prompt alone")
    func inputsOnStdin() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let input = TaskInput(
            id: "in-1", taskID: TaskID.generate(), workspaceID: "default", seq: 1, kind: .answer, text: "dev", decisions: nil,
            sender: "token:bootstrap", idempotencyKey: nil, createdAt: Date(), delivery: .deliveredResume, deliveredAt: Date(), runID: "r")
        var request = Fixture.shell(#"cat > stdin.txt; printf '%s' "$NIGHTSHIFT_INPUTS" > inputs.txt"#, prompt: "Which branch?", directory: dir.url)
        request.inputs = [input]
        _ = try await runner.run(request, context: EventRecorder().context)
        let line = CommandLineProtocol.inputLine(input)
        #expect(dir.read("stdin.txt") == "Which branch?\n" + line + "\n")
        #expect(dir.read("inputs.txt") == "[" + line + "]")
        #expect(try JSONValue(jsonText: line)["text"] == "dev")

        var script = Fixture.shell(#"cat > stdin.txt"#, prompt: "echo hi", directory: dir.url, extra: ["input": "env"])
        script.inputs = [input]
        _ = try await runner.run(script, context: EventRecorder().context)
        #expect(dir.read("stdin.txt") == "echo hi", "a program that is its prompt gets nothing appended")
        let bad = #expect(throws: NightshiftError.self) {
            try runner.validate(Agent(name: "x", runner: .command, config: ["command": ["/bin/sh"], "input": "sometimes"]))
        }
        #expect(bad?.field == "input")
    }

    @Test("a retried attempt keeps its program as it was and gets the previous error and the resume hint in the environment")
    func retryFactsInEnvironment() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var request = Fixture.shell(
            #"f() { echo "$NIGHTSHIFT_ATTEMPT|$NIGHTSHIFT_PREVIOUS_ERROR|$NIGHTSHIFT_RESUME_HINT"; }; f"#, prompt: "", directory: dir.url)
        request.previousError = "exit 1: flaky"
        request.resumeHint = "step 2 of 3"
        let outcome = try await runner.run(request, context: EventRecorder().context)
        #expect(outcome.result == "1|exit 1: flaky|step 2 of 3", "\(outcome)")
    }

    @Test("only allowlisted variables of the daemon's environment reach the agent")
    func environmentAllowlist() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        // The daemon's environment, with a secret in it (injected: setenv races other suites' getenv).
        var daemon = ProcessInfo.processInfo.environment
        daemon["NIGHTSHIFT_TEST_SECRET_TOKEN"] = "hunter2-do-not-leak"
        daemon["NIGHTSHIFT_TEST_PASSED_VAR"] = "passed-through"
        let runner = CommandRunner(killGrace: .seconds(5), environment: daemon)
        let events = EventRecorder()

        let standard = try await runner.run(Fixture.shell("env", directory: dir.url), context: events.context)
        #expect(standard.resolution == .succeeded)
        let standardLines = events.lines("stdout")
        #expect(standardLines.contains { $0.hasPrefix("PATH=") })
        #expect(!standardLines.contains { $0.contains("hunter2") || $0.contains("NIGHTSHIFT_TEST_") })

        let custom = EventRecorder()
        let request = Fixture.shell(
            "/usr/bin/env", directory: dir.url, extra: ["env": ["NIGHTSHIFT_TEST_PASSED_VAR", "NIGHTSHIFT_TEST_UNSET_VAR"]]
        )
        let outcome = try await runner.run(request, context: custom.context)
        #expect(outcome.resolution == .succeeded)
        let lines = custom.lines("stdout")
        #expect(lines.contains("NIGHTSHIFT_TEST_PASSED_VAR=passed-through"))
        #expect(!lines.contains { $0.contains("hunter2") || $0.hasPrefix("HOME=") || $0.contains("UNSET_VAR") })
        let names = Set(lines.compactMap { $0.split(separator: "=").first.map(String.init) })
        let allowed: Set = [
            "NIGHTSHIFT_TEST_PASSED_VAR", "NIGHTSHIFT_PROMPT", "NIGHTSHIFT_TASK_ID", "NIGHTSHIFT_RUN_ID",
            "NIGHTSHIFT_ATTEMPT", "NIGHTSHIFT_WORKDIR", "PWD", "SHLVL", "_",  // the last three are set by sh itself
        ]
        #expect(names.isSubset(of: allowed), "unexpected: \(names.subtracting(allowed))")
    }

    @Test("stdout and stderr lines become events in order")
    func linesBecomeEvents() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let events = EventRecorder()
        let script = "echo out1; echo err1 >&2; echo out2; printf 'err2\\r\\n' >&2; echo; printf 'no newline'"
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: events.context)
        #expect(events.lines("stdout") == ["out1", "out2", "", "no newline"])
        #expect(events.lines("stderr") == ["err1", "err2"])
        #expect(outcome == .succeeded("out1\nout2\n\nno newline", usage: RunUsage(exitCode: 0)))
        #expect(events.all.allSatisfy { $0.data["truncated"] == nil })
    }

    @Test("the last result line wins over stdout; log and checkpoint lines become events")
    func resultLineWins() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let events = EventRecorder()
        let script = #"""
            echo 'working'
            echo '{"type":"log","message":"step 1","level":"debug"}'
            echo '{"type":"result","text":"draft"}'
            echo '{"type":"checkpoint","step":2,"files":["a.swift"]}'
            echo '{"type":"progress","pct":50}'
            printf '%s\n' '{"type":"result","text":"final answer\nwith two lines"}'
            echo 'trailing output'
            """#
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: events.context)
        #expect(outcome == .succeeded("final answer\nwith two lines", usage: RunUsage(exitCode: 0)))
        #expect(events.all.map(\.type) == ["stdout", "log", "result", "checkpoint", "stdout", "result", "stdout"])
        #expect(events.events("log").first?.data == ["message": "step 1", "level": "debug"])
        #expect(events.events("checkpoint").first?.data == ["step": 2, "files": ["a.swift"]])
        #expect(events.events("result").map(\.data) == [["text": "draft"], ["text": "final answer\nwith two lines"]])
        #expect(events.lines("stdout") == ["working", #"{"type":"progress","pct":50}"#, "trailing output"])
    }

    @Test("stdout used as the result is capped at 64 KiB with a marker")
    func stdoutCap() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let events = EventRecorder()
        // 1,100 lines of 99 characters: 110,000 bytes with the newlines, more than 65,536.
        let script = #"i=0; while [ $i -lt 1100 ]; do printf '%099d\n' $i; i=$((i+1)); done"#
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: events.context)
        #expect(events.lines("stdout").count == 1100)
        let result = try #require(outcome.result)
        let joinedSize = 1100 * 100 - 1
        #expect(result.hasSuffix("\n…[output truncated: \(joinedSize - 65_536) more bytes]"))
        #expect(result.utf8.count == 65_536 + "\n…[output truncated: \(joinedSize - 65_536) more bytes]".utf8.count)
        #expect(result.hasPrefix(String(repeating: "0", count: 99) + "\n"))
    }

    @Test("a non-zero exit fails retryably with the exit code and the end of stderr")
    func nonZeroExit() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let events = EventRecorder()
        let script = #"""
            i=0; while [ $i -lt 300 ]; do echo "noise line $i" >&2; i=$((i+1)); done
            echo 'fatal: repository not found' >&2
            echo '{"type":"result","text":"ignored"}'
            exit 3
            """#
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: events.context)
        #expect(outcome.resolution == .failed(retryable: true))
        #expect(outcome.usage.exitCode == 3)
        let error = try #require(outcome.error)
        #expect(error.hasPrefix("exit status 3: …"))
        #expect(error.hasSuffix("noise line 299\nfatal: repository not found"))
        #expect(error.utf8.count < 2_200)
        #expect(events.lines("stderr").count == 301)
    }

    @Test("a process killed by a signal fails retryably")
    func killedBySignal() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let outcome = try await runner.run(Fixture.shell("kill -9 $$", directory: dir.url), context: EventRecorder().context)
        #expect(outcome == .failed("killed by signal 9", retryable: true))
    }

    @Test("wait_for_input ends the run waiting for input")
    func waitForInput() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let script = #"echo '{"type":"wait_for_input","question":"Which branch should I use?"}'"#
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: EventRecorder().context)
        #expect(outcome == .waitingForInput("Which branch should I use?", usage: RunUsage(exitCode: 0)))
    }

    @Test("wake ends the run waiting until a time, relative or absolute")
    func wake() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let before = Date()
        let relative = try await runner.run(
            Fixture.shell(#"echo '{"type":"wake","after":3600,"prompt":"check the build"}'"#, directory: dir.url),
            context: EventRecorder().context
        )
        #expect(relative.resolution == .waiting)
        #expect(relative.message == "check the build")
        let wakeAt = try #require(relative.wakeAt)
        #expect(wakeAt >= before.addingTimeInterval(3600) && wakeAt <= Date().addingTimeInterval(3600))

        let absolute = try await runner.run(
            Fixture.shell(#"echo '{"type":"wake","at":"2030-05-01T12:00:00Z"}'"#, directory: dir.url),
            context: EventRecorder().context
        )
        #expect(absolute == .wake(at: Date(timeIntervalSince1970: 1_903_867_200), prompt: nil, usage: RunUsage(exitCode: 0)))
    }

    @Test("a malformed protocol line becomes a warning log and the run goes on")
    func malformedProtocolLine() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let events = EventRecorder()
        let script = #"echo '{"type":"result"}'; echo '{"type":"wake","prompt":"x"}'; echo 'still running'"#
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: events.context)
        #expect(outcome == .succeeded("still running", usage: RunUsage(exitCode: 0)))
        let warnings = events.events("log")
        #expect(warnings.count == 2)
        #expect(warnings.allSatisfy { $0.data["level"] == "warning" })
        #expect(warnings[0].data["message"]?.stringValue?.contains("result line without a string \"text\"") == true)
        #expect(warnings[1].data["message"]?.stringValue?.contains("without \"after\"") == true)
        #expect(events.all.map(\.type) == ["log", "log", "stdout"])
    }

    @Test("a line over 1 MiB is truncated, not an error")
    func longLine() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let events = EventRecorder()
        let script = "head -c 1572864 /dev/zero | tr '\\0' 'a'; echo; echo next; head -c 1100000 /dev/zero | tr '\\0' 'b' >&2"
        let outcome = try await runner.run(Fixture.shell(script, directory: dir.url), context: events.context)
        #expect(outcome.resolution == .succeeded)
        let stdout = events.events("stdout")
        #expect(stdout.count == 2)
        #expect(stdout.first?.data["truncated"] == true)
        #expect(stdout.first?.data["line"]?.stringValue?.utf8.count == 1 << 20)
        #expect(stdout.last?.data == ["line": "next"])
        let stderr = events.events("stderr")
        #expect(stderr.count == 1)
        #expect(stderr.first?.data["truncated"] == true)
        #expect(stderr.first?.data["line"]?.stringValue?.utf8.count == 1 << 20)
    }

    @Test("the working directory is the task's, or the configured workdir")
    func workingDirectory() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(atPath: dir.path("checkout"), withIntermediateDirectories: true)
        let standard = try await runner.run(Fixture.shell("pwd -P", directory: dir.url), context: EventRecorder().context)
        let real = URL(fileURLWithPath: dir.url.path).resolvingSymlinksInPath().path
        #expect(standard.result == real)
        let configured = try await runner.run(
            Fixture.shell(#"pwd -P; echo "$NIGHTSHIFT_WORKDIR""#, directory: dir.url, extra: ["workdir": "checkout"]),
            context: EventRecorder().context
        )
        #expect(configured.result == real + "/checkout\n" + dir.path("checkout"))
    }

    @Test("a missing executable is a non-retryable 'agent CLI not found'")
    func missingExecutable() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let request = Fixture.request(config: ["command": ["nightshift-no-such-agent-cli", "--help"]], directory: dir.url)
        let events = EventRecorder()
        let outcome = try await runner.run(request, context: events.context)
        #expect(outcome.resolution == .failed(retryable: false))
        let error = try #require(outcome.error)
        #expect(error.hasPrefix("agent CLI not found: nightshift-no-such-agent-cli (searched PATH="))
        #expect(events.reportedPIDs.isEmpty)
    }

    @Test("a bad command config is a non-retryable failure naming the key")
    func badConfig() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let outcome = try await runner.run(
            Fixture.request(config: ["command": "echo hi"], directory: dir.url), context: EventRecorder().context
        )
        #expect(outcome.resolution == .failed(retryable: false))
        #expect(outcome.error?.hasPrefix("agent tester: config key 'command'") == true)
    }

    @Test("argv[0] is found on PATH; the pid is reported, then nil")
    func argvAndPID() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let events = EventRecorder()
        let request = Fixture.request(config: ["command": ["sh", "-c", "echo \"$0 $$\"", "zero"]], directory: dir.url)
        let outcome = try await runner.run(request, context: events.context)
        let pids = events.reportedPIDs
        #expect(pids.count == 2)
        #expect(pids.last == .some(nil))
        let pid = try #require(pids.first ?? nil)
        #expect(outcome.result == "zero \(pid)")
    }

    @Test("a large prompt is cut in NIGHTSHIFT_PROMPT, and an agent that never reads stdin does not break the daemon")
    func largeUnreadPrompt() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let prompt = String(repeating: "p", count: 2 << 20)
        let script = #"echo "${#NIGHTSHIFT_PROMPT} $NIGHTSHIFT_PROMPT_TRUNCATED""#
        let outcome = try await runner.run(
            Fixture.shell(script, prompt: prompt, directory: dir.url), context: EventRecorder().context
        )
        #expect(outcome == .succeeded("\(CommandInvocation.promptVariableLimit) 1", usage: RunUsage(exitCode: 0)))
    }
}
