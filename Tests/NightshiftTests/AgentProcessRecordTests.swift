import Foundation
import NightshiftTestSupport
import Testing

@testable import Nightshift

#if canImport(Glibc)
import Glibc
#endif

/// What a restarted node kills of a lost run's agent, and what it must never kill.
@Suite("Agent process records")
struct AgentProcessRecordTests {
    @Test("a stat line is read from after the command name, which may hold spaces and parentheses")
    func parseStat() throws {
        let line = "4242 (my (odd) agent) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615"
        let stat = try #require(ProcStat(pid: 4242, stat: line))
        #expect(stat.session == 4242)
        #expect(stat.startTicks == 987654)
        #expect(ProcStat(pid: 1, stat: "garbage") == nil)
    }

    @Test("a record round-trips through its text; other text is refused")
    func text() {
        let record = AgentProcessRecord(host: "0b7c-aa/4026531836", pid: 1234, startTicks: 99)
        #expect(AgentProcessRecord(record.description) == record)
        for bad in ["", "a:b", "h:1:2", "h:x:2", "h:12:-1", "h:12:3:4"] { #expect(AgentProcessRecord(bad) == nil, "\(bad)") }
    }

    #if os(Linux)
    /// Starts `sleep 60` in a session of its own, as agents run (setsid forks when it leads a
    /// process group already, so the shell's pid is not the sleeper's: the sleeper reports its own).
    private func sessionLeader() throws -> (Process, Int32) {
        let pipe = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        process.arguments = ["--fork", "/bin/sh", "-c", "echo $$; exec sleep 60"]
        process.standardOutput = pipe
        try ProcessLaunch.run(process)
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        return (process, Int32(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1)
    }

    @Test("the recorded session is killed; a record of another host or of a reused pid kills nothing")
    func killsOnlyTheRecordedSession() async throws {
        let (_, pid) = try sessionLeader()
        try #require(pid > 1)
        defer { kill(pid, SIGKILL) }
        #expect(ProcStat(pid: pid)?.session == pid)
        let record = try #require(AgentProcessRecord.of(pid: pid))

        var elsewhere = record
        elsewhere.host = "another-boot/1"
        #expect(elsewhere.killLeftovers().isEmpty)
        var reused = record
        reused.startTicks += 1
        #expect(reused.killLeftovers().isEmpty, "a pid whose process started at another time is not the agent")
        #expect(kill(pid, 0) == 0, "still alive")

        #expect(record.killLeftovers() == [pid])
        // The sleeper is not our child: it is gone once /proc no longer lists it as running.
        #expect(try await eventually { ProcStat(pid: pid) == nil || Self.isZombie(pid) })
    }

    private static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }
    #endif
}
