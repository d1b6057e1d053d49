import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A short command the engine runs for itself (`git`, a probe), started with `posix_spawn` and
/// waited for on the calling thread.
///
/// Not Foundation's `Process`: its `run()` crashed the test process when two threads started
/// commands at once (a bad pointer in `open` inside `Process.run`, seen under the full suite),
/// and the engine starts git for several tasks at once. `posix_spawn` is safe to call from any
/// thread; stdout is read through a pipe until its end, stderr goes to an unlinked temporary file
/// (so a command that fills one stream never blocks on the other).
package enum ShortCommand {
    /// How a command ended and what it printed.
    package struct Outcome: Sendable {
        /// Its exit status; a signal's number + 128 when one killed it.
        package var status: Int32
        /// Its standard output.
        package var stdout: [UInt8]
        /// The start of its standard error (at most 4 KiB).
        package var stderr: String
    }

    /// Runs `executable` with `arguments` (argv after argv[0]) with exactly `environment`, in the
    /// daemon's directory (`git -C DIR` chooses its own), stdin empty; blocks the calling thread
    /// until it ends. Throws only when it cannot start.
    package static func run(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Outcome {
        var pipe: [Int32] = [0, 0]
        guard Glibc.pipe(&pipe) == 0 else { throw POSIXError(.EMFILE) }
        // Not inherited by what other threads start meanwhile (the child gets its copies by dup2).
        _ = fcntl(pipe[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipe[1], F_SETFD, FD_CLOEXEC)
        defer { close(pipe[0]) }
        var errorTemplate = Array((NSTemporaryDirectory() + "nightshift-cmd-XXXXXX").utf8CString)
        let errorFile = errorTemplate.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard errorFile >= 0 else {
            close(pipe[1])
            throw POSIXError(.EIO)
        }
        _ = fcntl(errorFile, F_SETFD, FD_CLOEXEC)
        unlink(String(cString: errorTemplate))
        defer { close(errorFile) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorFile, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling (the daemon ignores SIGPIPE).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(pipe[1])
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(pipe[0], $0.baseAddress, $0.count) }
            if count > 0 {
                output.append(contentsOf: buffer[..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)

        var said = [UInt8](repeating: 0, count: 4096)
        let saidCount = said.withUnsafeMutableBytes { pread(errorFile, $0.baseAddress, $0.count, 0) }
        return Outcome(status: code, stdout: output, stderr: String(decoding: said[..<max(0, saidCount)], as: UTF8.self))
    }
}
