import Foundation
import Logging

extension Engine {
    /// How long the dispatcher waits for more slots to free up before claiming for a few.
    static let claimCoalescing = Duration.milliseconds(2)

    /// Claims work whenever slots are free and work may be available: after a submit or a finished
    /// run (the doorbell), when the earliest delayed task comes due, or at the safety-net poll.
    func dispatchLoop(group: inout DiscardingTaskGroup) async {
        var failures = 0
        var coalesceDeadline: ContinuousClock.Instant?
        while !isStopping {
            let free = configuration.slots - state.withLock { $0.active.count }
            var wait = configuration.pollInterval
            // Under load, runs end one after another; claiming for each freed slot alone would cost a
            // commit per task. Wait a moment (never with every slot free) so one claim fills several.
            if free > 0, free < (configuration.slots + 1) / 2 {
                let deadline = coalesceDeadline ?? ContinuousClock.now + Self.claimCoalescing
                coalesceDeadline = deadline
                if ContinuousClock.now < deadline {
                    await doorbell.wait(timeout: deadline - .now)
                    continue
                }
            }
            coalesceDeadline = nil
            if free > 0 {
                let claimed: [ClaimedRun]
                let claimTime = Date()
                do {
                    claimed = try await store.claim(
                        worker: configuration.nodeID, limit: free, leaseDuration: configuration.leaseDuration, now: claimTime)
                    failures = 0
                } catch {
                    failures += 1
                    logger.error("claim failed", metadata: ["nightshift.error": "\(error)"])
                    await doorbell.wait(timeout: .seconds(min(5, 0.05 * Double(1 << min(failures, 7)))))
                    continue
                }
                for run in claimed {
                    let stop = StopSignal()
                    let info = ActiveRun(
                        taskID: run.task.id, runID: run.run.id, agent: run.task.agent, attempt: run.run.attempt,
                        startedAt: run.run.startedAt, pid: nil)
                    state.withLock { $0.active[run.task.id] = ActiveEntry(info: info, lease: run.lease, stop: stop) }
                    group.addTask { await self.execute(run, stop: stop) }
                }
                if claimed.count == free { continue }
                // After the claim's own time: a task that came due since then is found too (and
                // claimed at once), instead of being missed until the safety-net poll.
                if let next = try? await store.nextAvailableAt(after: claimTime) {
                    wait = min(wait, max(0.001, next.timeIntervalSinceNow))
                }
            }
            await doorbell.wait(timeout: .seconds(wait))
        }
    }

    /// After the dispatcher stopped: waits up to the grace period for runs to finish, then stops the
    /// rest so they are released, and waits for them to wind down.
    func drain() async {
        let deadline = ContinuousClock.now + .seconds(configuration.shutdownGrace)
        while state.withLock({ !$0.active.isEmpty }), ContinuousClock.now < deadline {
            await doorbell.wait(timeout: min(.milliseconds(200), deadline - .now))
        }
        let remaining = state.withLock { $0.active.values.map(\.stop) }
        if !remaining.isEmpty {
            logger.info("grace period over: releasing running tasks", metadata: ["nightshift.count": "\(remaining.count)"])
        }
        for stop in remaining { stop.stop(.shutdown) }
        while state.withLock({ !$0.active.isEmpty }) {
            await doorbell.wait(timeout: .milliseconds(100))
        }
    }

    /// Extends every lease this node holds, in one batch, and stops the runs whose lease was lost.
    func heartbeatLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(configuration.heartbeatInterval))
            if Task.isCancelled { return }
            let leases = state.withLock { $0.active.values.map(\.lease) }
            guard !leases.isEmpty else { continue }
            do {
                let now = Date()
                let lost = try await store.heartbeat(leases, extendTo: now.addingTimeInterval(configuration.leaseDuration), now: now)
                for lease in lost {
                    logger.warning("lease lost; stopping the run", metadata: ["nightshift.task_id": "\(lease.taskID)"])
                    state.withLock { $0.active[lease.taskID]?.stop }?.stop(.leaseLost)
                }
            } catch {
                logger.error("heartbeat failed", metadata: ["nightshift.error": "\(error)"])
            }
        }
    }

    /// Rings the dispatcher whenever the store says another process queued work; if listening
    /// fails (the database went away), tries again with backoff, ringing once it listens again
    /// since work may have come meanwhile.
    func listenLoop() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await store.listenForWork { [doorbell] in doorbell.ring() }
                return
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.warning("listening for work failed; retrying", metadata: ["nightshift.error": "\(error)"])
                try? await Task.sleep(for: .seconds(min(5, 0.1 * Double(1 << min(failures, 6)))))
                doorbell.ring()
            }
        }
    }

    /// Rescues runs whose lease expired and wakes waiting tasks whose time has come.
    func maintenanceLoop() async {
        while !Task.isCancelled {
            do {
                let now = Date()
                let rescued = try await store.rescueExpiredLeases(now: now)
                killLeftovers(of: rescued)
                let woken = try await store.wakeDue(now: now)
                if !rescued.isEmpty {
                    logger.warning("rescued runs with expired leases", metadata: ["nightshift.count": "\(rescued.count)"])
                }
                if !rescued.isEmpty || !woken.isEmpty { doorbell.ring() }
            } catch {
                logger.error("rescue failed", metadata: ["nightshift.error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(configuration.rescueInterval))
        }
    }
}
