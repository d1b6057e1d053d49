import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

@_silgen_name("posix_spawn_file_actions_addclosefrom_np")
private func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ from: Int32) -> Int32

/// A child process started with `posix_spawn` itself, for the tests' CLI runs and daemons:
/// Foundation's `Process.run()` crashed full runs (a `memcpy` past a mapping while it listed the
/// descriptors to close), whatever environment it was given and even with launches serialised.
/// Standard input is `/dev/null`; standard output and error append to files; every other
/// descriptor is closed in the child.
public final class ChildProcess: Sendable {
    /// How it ended.
    public enum TerminationReason: Sendable {
        /// It exited.
        case exit
        /// A signal ended it.
        case uncaughtSignal
    }

    /// Its pid.
    public let processIdentifier: pid_t
    /// Its arguments (after the executable).
    public let arguments: [String]
    private let status = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments` and `environment`, its output and errors appended to
    /// the files at `stdout` and `stderr`.
    public init(executable: String, arguments: [String], environment: [String: String], stdout: String, stderr: String) throws {
        self.arguments = arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        _ = addCloseFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, as Foundation's Process gives it.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid = pid_t()
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: result) ?? .EIO) }
        processIdentifier = pid
    }

    /// Whether it still runs (reaps it once it has ended).
    public var isRunning: Bool {
        status.withLock { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            let reaped = waitpid(processIdentifier, &raw, WNOHANG)
            if reaped == processIdentifier {
                status = raw
                return false
            }
            // Reaped by someone else (nothing here does): it has ended, status unknown.
            if reaped == -1, errno == ECHILD {
                status = -1
                return false
            }
            return true
        }
    }

    /// The exit code, or the signal that ended it (see ``terminationReason``).
    public var terminationStatus: Int32 {
        let raw = status.withLock { $0 } ?? -1
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
    }

    /// Whether it exited or a signal ended it.
    public var terminationReason: TerminationReason {
        let raw = status.withLock { $0 } ?? 0
        return raw & 0x7f == 0 ? .exit : .uncaughtSignal
    }

    /// Sends SIGTERM.
    public func terminate() {
        kill(processIdentifier, SIGTERM)
    }

    /// Blocks until it has ended (polling every 10 ms).
    public func waitUntilExit() {
        while isRunning { usleep(10_000) }
    }
}
