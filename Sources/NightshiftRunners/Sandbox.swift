import Foundation
import Nightshift
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How one process of a run (the setup command or the agent) is isolated: its policy, what it may
/// see, and the wrappers its argv gets. ``wrap(_:_:cgroup:)`` builds the argv; ``RunCgroup`` holds
/// its resource limits. See docs/sandbox.md.
struct RunIsolation: Sendable {
    /// The policy the process is held to.
    var policy: ExecutionPolicy.Resolved
    /// The workspace (its working directory, or the directory it lives under).
    var workspace: String
    /// Paths it must be able to write besides the workspace (the agent's own state directory,
    /// the task's checkpoint directory); those that do not exist are skipped.
    var writable: [String] = []
    /// Paths hidden from it (the daemon's data directory: other tasks' work, the database, the
    /// token); the workspace and ``writable`` are mounted back on top.
    var hidden: [String] = []
    /// Where `bwrap` is looked for (the agent's `PATH`, then `/usr/bin:/bin`).
    var searchPath = "/usr/bin:/bin"

    /// The isolation of `request`'s agent: its resolved policy, the task's directory, the runner's
    /// own state directories and the checkpoint directory writable, the daemon's private paths hidden.
    static func of(_ request: RunRequest, workspace: String, state: [String]) -> RunIsolation {
        var writable = state + request.writablePaths.map(\.path)
        if let checkpoints = request.checkpointDirectory { writable.append(checkpoints.path) }
        return RunIsolation(
            policy: request.policy, workspace: workspace, writable: writable, hidden: request.privatePaths.map(\.path))
    }

    /// `executable` and `argv` wrapped: in bubblewrap when the policy asks for it, under `prlimit`
    /// for the limits the cgroup does not hold, and entering `cgroup` first when there is one.
    /// Throws ``SandboxUnavailable`` (fail closed) when the policy asks for bubblewrap and it
    /// cannot run here.
    func wrap(_ executable: String, _ argv: [String], cgroup: RunCgroup?) throws(SandboxUnavailable) -> (executable: String, argv: [String]) {
        var command = [executable] + argv.dropFirst()
        if policy.sandbox == .bubblewrap {
            let bwrap = try Bubblewrap.available(searchPath: searchPath)
            command = [bwrap] + bubblewrapArguments() + ["--"] + command
        }
        var limits: [String] = []
        if let seconds = policy.cpuSeconds { limits.append("--cpu=\(seconds)") }
        if cgroup?.holdsMemory != true, let bytes = policy.memoryBytes { limits.append("--as=\(bytes)") }
        if cgroup?.holdsProcesses != true, let count = policy.maxProcesses { limits.append("--nproc=\(count)") }
        if !limits.isEmpty {
            guard let prlimit = Self.prlimit else {
                throw SandboxUnavailable("resource limits need util-linux's prlimit, which this machine lacks")
            }
            command = [prlimit] + limits + ["--"] + command
        }
        if let cgroup, !cgroup.directories.isEmpty {
            // The shell writes its own pid into each cgroup, then execs the rest: every process the
            // agent starts is born inside the limits.
            let script = "for g in \"$@\"; do case $g in --) break;; esac; echo $$ > \"$g/cgroup.procs\" || exit 125; shift; done; shift; exec \"$@\""
            command = ["/bin/sh", "-c", script, "nightshift-cgroup"] + cgroup.directories + ["--"] + command
        }
        return (command[0], command)
    }

    /// bubblewrap's arguments: a read-only root, fresh `/tmp`, `/proc` and `/dev`, the hidden
    /// paths over-mounted, the workspace bound per ``ExecutionPolicy/WorkspaceAccess``, the writable
    /// paths bound read-write, new PID/IPC/UTS namespaces (and network unless allowed), a new
    /// session, and death with the parent.
    func bubblewrapArguments() -> [String] {
        var arguments = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for path in hidden where FileManager.default.fileExists(atPath: path) {
            arguments += ["--tmpfs", path]
        }
        switch policy.workspace {
        case .none: arguments += ["--tmpfs", workspace]
        case .ro: arguments += ["--ro-bind", workspace, workspace]
        case .rw: arguments += ["--bind", workspace, workspace]
        }
        for path in writable where FileManager.default.fileExists(atPath: path) {
            arguments += ["--bind", path, path]
        }
        arguments += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--new-session", "--die-with-parent"]
        if !policy.network { arguments.append("--unshare-net") }
        arguments += ["--chdir", workspace]
        return arguments
    }

    /// util-linux's `prlimit`, if this machine has it.
    static let prlimit: String? = ["/usr/bin/prlimit", "/bin/prlimit"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The policy asks for a sandbox this machine cannot give: the run fails, non-retryably, rather
/// than run unconfined.
struct SandboxUnavailable: Error, Sendable {
    /// Why.
    var reason: String
    init(_ reason: String) { self.reason = reason }
    /// The run's error.
    var message: String { "sandbox unavailable: \(reason)" }
}

/// Finds bubblewrap and checks once that it can make its namespaces here.
enum Bubblewrap {
    private static let working = Mutex<Set<String>>([])

    /// The path of a `bwrap` in `searchPath` that works; throws saying why there is none. A `bwrap`
    /// that worked is not probed again; a failure is (it may be fixed meanwhile).
    static func available(searchPath: String) throws(SandboxUnavailable) -> String {
        guard let path = CommandInvocation.resolveExecutable("bwrap", searchPath: searchPath, relativeTo: "/") else {
            throw SandboxUnavailable("bwrap (bubblewrap) is not installed (searched PATH=\(searchPath))")
        }
        if working.withLock({ $0.contains(path) }) { return path }
        if let problem = probe(path) { throw SandboxUnavailable("\(path) cannot create namespaces: \(problem)") }
        working.withLock { _ = $0.insert(path) }
        return path
    }

    /// Runs `bwrap … true` with the namespaces a run gets; the problem, or `nil` when it works.
    private static func probe(_ path: String) -> String? {
        let arguments = [
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--unshare-net", "--new-session",
            "--die-with-parent", "--", "/bin/true",
        ]
        do {
            let outcome = try ShortCommand.run(path, arguments, environment: ProcessInfo.processInfo.environment)
            guard outcome.status == 0 else {
                let said = outcome.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                return said.isEmpty ? "exit \(outcome.status)" : said
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// A run's own cgroup (v1 `memory` and `pids` hierarchies, or v2), holding its memory and process
/// limits, where the daemon may make one; otherwise `prlimit` holds them per process.
///
/// Made before the process starts, entered by it before it execs the agent, and after the run:
/// read (whether the kernel killed for memory, whether a fork was refused), emptied and removed.
struct RunCgroup: Sendable {
    /// The cgroup directories to enter (one per hierarchy).
    var directories: [String]
    /// Whether the memory limit is in a cgroup.
    var holdsMemory: Bool
    /// Whether the process limit is in a cgroup.
    var holdsProcesses: Bool
    private var memoryDirectory: String?
    private var pidsDirectory: String?
    private var version2: Bool

    /// A cgroup for `name` with `policy`'s memory and process limits, or `nil` when the policy has
    /// neither or this daemon cannot make one (not root, no writable hierarchy).
    static func make(name: String, policy: ExecutionPolicy.Resolved) -> RunCgroup? {
        guard policy.memoryBytes != nil || policy.maxProcesses != nil else { return nil }
        let places = CgroupPlaces.current
        var group = RunCgroup(directories: [], holdsMemory: false, holdsProcesses: false, version2: places.version2)
        if let base = places.version2Base {
            let directory = base + "/" + name
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST else { return nil }
            group.directories = [directory]
            if let bytes = policy.memoryBytes, write("\(bytes)", to: directory + "/memory.max") {
                _ = write("0", to: directory + "/memory.swap.max")
                group.holdsMemory = true
                group.memoryDirectory = directory
            }
            if let count = policy.maxProcesses, write("\(count)", to: directory + "/pids.max") {
                group.holdsProcesses = true
                group.pidsDirectory = directory
            }
        } else {
            if let bytes = policy.memoryBytes, let base = places.memory {
                let directory = base + "/" + name
                if mkdir(directory, 0o755) == 0 || errno == EEXIST, write("\(bytes)", to: directory + "/memory.limit_in_bytes") {
                    _ = write("\(bytes)", to: directory + "/memory.memsw.limit_in_bytes")
                    group.directories.append(directory)
                    group.holdsMemory = true
                    group.memoryDirectory = directory
                }
            }
            if let count = policy.maxProcesses, let base = places.pids {
                let directory = base + "/" + name
                if mkdir(directory, 0o755) == 0 || errno == EEXIST, write("\(count)", to: directory + "/pids.max") {
                    group.directories.append(directory)
                    group.holdsProcesses = true
                    group.pidsDirectory = directory
                }
            }
        }
        if group.directories.isEmpty { return nil }
        return group
    }

    /// What the kernel did to the run's processes under the limits: `(memory killed, fork refused)`.
    func events() -> (outOfMemory: Bool, forkRefused: Bool) {
        var memory = false
        var forks = false
        if let directory = memoryDirectory {
            let file = version2 ? "/memory.events" : "/memory.oom_control"
            memory = Self.counter("oom_kill", in: directory + file) > 0
        }
        if let directory = pidsDirectory {
            forks = Self.counter("max", in: directory + "/pids.events") > 0
        }
        return (memory, forks)
    }

    /// Kills what is left in the cgroup and removes it.
    func remove() {
        for directory in directories {
            for _ in 0..<50 {
                let pids = (try? String(contentsOfFile: directory + "/cgroup.procs", encoding: .utf8))?
                    .split(separator: "\n").compactMap { pid_t($0) } ?? []
                if pids.isEmpty { break }
                for pid in pids { kill(pid, SIGKILL) }
                usleep(2_000)
            }
            rmdir(directory)
        }
    }

    /// The number after `key` in a flat-keyed file.
    private static func counter(_ key: String, in path: String) -> Int {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key, let value = Int(parts[1]) { return value }
        }
        return 0
    }

    private static func write(_ text: String, to path: String) -> Bool {
        (try? text.write(toFile: path, atomically: false, encoding: .utf8)) != nil
    }
}

/// Where this process's cgroups are, read once from `/proc/self/cgroup` and `/proc/self/mountinfo`.
private struct CgroupPlaces: Sendable {
    /// The v1 memory cgroup directory this daemon is in, if writable.
    var memory: String?
    /// The v1 pids cgroup directory this daemon is in, if writable.
    var pids: String?
    /// On a pure v2 hierarchy with the memory and pids controllers delegated: the daemon's cgroup.
    var version2Base: String?
    var version2: Bool { version2Base != nil }

    static let current: CgroupPlaces = {
        var places = CgroupPlaces()
        guard let membership = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8),
              let mounts = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        else { return places }
        // mountinfo: "… mountpoint … - cgroup cgroup rw,memory" / "- cgroup2 cgroup2 rw".
        var v1Mounts: [String: String] = [:]
        var v2Mount: String?
        for line in mounts.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " ")
            let right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let point = String(left[4])
            if right[0] == "cgroup2" { v2Mount = v2Mount ?? point }
            if right[0] == "cgroup" {
                for option in right[2].split(separator: ",") where option == "memory" || option == "pids" {
                    v1Mounts[String(option)] = point
                }
            }
        }
        for line in membership.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[1].isEmpty, v1Mounts.isEmpty, let v2Mount {
                let base = v2Mount + (path == "/" ? "" : path)
                let controllers = (try? String(contentsOfFile: base + "/cgroup.subtree_control", encoding: .utf8)) ?? ""
                if controllers.contains("memory") || controllers.contains("pids"), access(base, W_OK) == 0 { places.version2Base = base }
            }
            for controller in parts[1].split(separator: ",") {
                guard let mount = v1Mounts[String(controller)] else { continue }
                let directory = mount + (path == "/" ? "" : path)
                guard access(directory, W_OK) == 0 else { continue }
                if controller == "memory" { places.memory = directory }
                if controller == "pids" { places.pids = directory }
            }
        }
        return places
    }()
}

/// Whether this machine can give a run the bubblewrap sandbox.
public enum SandboxCheck {
    /// For an agent whose policy asks for bubblewrap: why its runs would fail here (`sandbox
    /// unavailable: …`), or `nil`; the agents' availability report says it before a run does.
    static func problem(for agent: Agent, searchPath: String) -> String? {
        agent.policy.resolved.sandbox == .bubblewrap ? problem(searchPath: searchPath) : nil
    }

    /// Why `bwrap` cannot run here (missing, or no namespaces), or `nil` when it can.
    public static func problem(searchPath: String = "/usr/bin:/bin") -> String? {
        do {
            _ = try Bubblewrap.available(searchPath: searchPath)
            return nil
        } catch {
            return error.message
        }
    }
}
