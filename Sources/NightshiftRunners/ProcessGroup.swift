import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Signals and watches an agent's process group (the child runs in its own session, so its
/// process group id is its pid).
enum ProcessGroup {
    /// Sends `signal` to every process in group `pgid`. Never targets group 0, 1 or our own.
    static func signalGroup(_ pgid: pid_t, _ number: Int32) {
        guard pgid > 1, pgid != getpgrp() else { return }
        _ = kill(-pgid, number)
    }

    /// Whether child `pid` has exited, without reaping it: until it is reaped its pid (and so its
    /// process group id) cannot be reused, which makes signalling the group safe.
    static func hasExited(_ pid: pid_t) -> Bool {
        while true {
            var info = siginfo_t()
            let status = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            if status == 0 { return info.si_signo == SIGCHLD }
            if errno == EINTR { continue }
            // ECHILD: already reaped, or not our child; either way it is gone.
            return true
        }
    }

    /// Waits, without reaping, until child `pid` has exited. Polls with a growing interval (1 ms
    /// up to `maxInterval`) and does not stop when the task is cancelled: the teardown that
    /// cancellation starts is what ends the process.
    static func waitForExit(_ pid: pid_t, maxInterval: Duration = .milliseconds(100)) async {
        var interval = Duration.milliseconds(1)
        while !hasExited(pid) {
            await sleepIgnoringCancellation(interval)
            interval = min(interval * 2, maxInterval)
        }
    }

    /// Sleeps for `duration` even if the task is cancelled (without blocking a thread). A Dispatch
    /// timer, because every structured sleep (`Task.sleep`, a clock's `sleep`) ends at once in a
    /// cancelled task, and teardown runs in one.
    static func sleepIgnoringCancellation(_ duration: Duration) async {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
                continuation.resume()
            }
        }
    }

    /// Makes a write to a pipe whose reader is gone fail with `EPIPE` instead of killing the
    /// daemon with `SIGPIPE`. Process-wide and done once; children start with default signal
    /// dispositions (swift-subprocess resets them), so agents are unaffected.
    static let ignoreBrokenPipes: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()
}
