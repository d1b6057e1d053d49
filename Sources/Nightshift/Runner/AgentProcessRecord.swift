import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An agent process as recorded with its run: enough for a restarted node to find what its
/// previous incarnation left running, and never to mistake another process for it.
///
/// Agents run in a session of their own, led by the process the runner started, so the session
/// id is the leader's pid. The record holds the machine's boot id and the pid namespace (a pid
/// means nothing on another machine, after a reboot, or in another container), the pid, and the
/// leader's start time in clock ticks since boot (`/proc/<pid>/stat`, field 22), which tells a
/// reused pid from the leader. Linux only; elsewhere no record is made and nothing is killed.
public struct AgentProcessRecord: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Which boot of which machine, and which pid namespace: `<boot id>/<namespace inode>`.
    public var host: String
    /// The leader's pid, which is also its session and process group id.
    public var pid: Int32
    /// The leader's start time, in clock ticks since boot.
    public var startTicks: UInt64

    /// Creates a record.
    public init(host: String, pid: Int32, startTicks: UInt64) {
        self.host = host
        self.pid = pid
        self.startTicks = startTicks
    }

    /// The record of the live process `pid`, or `nil` if it is gone or this is not Linux.
    public static func of(pid: Int32) -> AgentProcessRecord? {
        guard let host = currentHost, let stat = ProcStat(pid: pid) else { return nil }
        return AgentProcessRecord(host: host, pid: pid, startTicks: stat.startTicks)
    }

    /// How the stores keep it: `<host>:<pid>:<start ticks>`.
    public var description: String { "\(host):\(pid):\(startTicks)" }

    /// Reads a record written as ``description``; `nil` for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 3, let pid = Int32(parts[1]), pid > 1, let ticks = UInt64(parts[2]) else { return nil }
        self.init(host: String(parts[0]), pid: pid, startTicks: ticks)
    }

    /// This boot of this machine and this process's pid namespace, or `nil` off Linux.
    public static let currentHost: String? = {
        guard let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8),
              let namespace = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/pid")
        else { return nil }
        let digits = namespace.filter(\.isNumber)
        return "\(boot.trimmingCharacters(in: .whitespacesAndNewlines))/\(digits)"
    }()

    /// Kills, with SIGKILL, every process left of the recorded session: the leader if it is still
    /// the recorded process, and every process whose session is the leader's pid. Returns the
    /// pids signalled.
    ///
    /// Safe against reused pids: Linux never hands out a pid while a session or process group of
    /// that id still has a member, so processes in session `pid` can only be the recorded
    /// session's, and if the leader's pid now belongs to a process with another start time, the
    /// recorded session has no members left.
    @discardableResult
    public func killLeftovers() -> [Int32] {
        guard host == Self.currentHost, pid > 1, pid != getpid() else { return [] }
        if let leader = ProcStat(pid: pid), leader.startTicks != startTicks { return [] }
        let ownSession = getsid(0)
        var killed: [Int32] = []
        for other in ProcStat.all() where other.session == pid && other.session != ownSession && other.pid != getpid() {
            if kill(other.pid, SIGKILL) == 0 { killed.append(other.pid) }
        }
        return killed
    }
}

/// The fields of `/proc/<pid>/stat` that records need.
struct ProcStat {
    var pid: Int32
    var session: Int32
    var startTicks: UInt64

    /// Reads `/proc/<pid>/stat`; `nil` if the process is gone (or this is not Linux).
    init?(pid: Int32) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        self.init(pid: pid, stat: text)
    }

    /// Parses a stat line. The command name (field 2) is in parentheses and may hold spaces and
    /// parentheses itself, so fields are counted from the last `)`.
    init?(pid: Int32, stat: String) {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): session is field 6, start time field 22.
        guard fields.count > 19, let session = Int32(fields[3]), let start = UInt64(fields[19]) else { return nil }
        self.pid = pid
        self.session = session
        startTicks = start
    }

    /// Every process visible in `/proc`.
    static func all() -> [ProcStat] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { Int32($0).flatMap { ProcStat(pid: $0) } }
    }
}

extension AgentProcessRecord {
    /// Reads the stores' text form (``description``).
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let record = AgentProcessRecord(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a process record: \(text)"))
        }
        self = record
    }

    /// Writes the stores' text form (``description``).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
