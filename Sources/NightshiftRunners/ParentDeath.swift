import Foundation

/// Makes an agent die with the daemon that started it.
///
/// Linux's `PR_SET_PDEATHSIG` must be set in the child, between fork and exec, and
/// swift-subprocess has no hook there; util-linux's `setpriv --pdeathsig KILL` (Debian: essential)
/// sets it and then execs the agent in the same process, so the agent keeps its pid, its session
/// and the signal. The kernel sends the signal when the *thread* that forked the child exits, not
/// the process: agents are therefore spawned from ``SpawnExecutor``'s thread, which lives as long
/// as the daemon, never from a pooled thread that may retire while the agent runs.
///
/// The signal reaches the agent's leader only. Whatever the agent started in its session is
/// killed when the node that takes the run over reclaims it (see `AgentProcessRecord`).
enum ParentDeath {
    /// `setpriv`'s path, if this machine has one (Linux with util-linux).
    static let setpriv: String? = {
        #if os(Linux)
        for path in ["/usr/bin/setpriv", "/bin/setpriv"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        #endif
        return nil
    }()

    /// The executable and argv that start `invocation` with the parent-death signal set, or the
    /// invocation's own where there is no `setpriv`.
    static func wrap(_ executable: String, _ argv: [String]) -> (executable: String, argv: [String]) {
        guard let setpriv else { return (executable, argv) }
        return (setpriv, ["setpriv", "--pdeathsig", "KILL", "--", executable] + argv.dropFirst())
    }
}

/// A task executor with one thread of its own that never exits: agent processes are forked from
/// it, so their parent-death signal fires only when the daemon dies (see ``ParentDeath``).
/// It runs only the few synchronous steps around a spawn; the run itself goes back to the global
/// executor.
final class SpawnExecutor: TaskExecutor, @unchecked Sendable {
    /// The one spawning thread.
    static let shared = SpawnExecutor()

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init() {
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "nightshift-spawn"
        thread.start()
    }

    /// Queues `job` for the spawning thread.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        let executor = asUnownedTaskExecutor()
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let batch = jobs
            jobs.removeAll(keepingCapacity: true)
            condition.unlock()
            for job in batch { job.runSynchronously(on: executor) }
        }
    }
}
