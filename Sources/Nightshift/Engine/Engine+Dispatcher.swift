import Foundation
import Tracing
import Logging

/// The dispatcher: claims queued work into free slots and starts each run as a child task of the
/// engine's task group.
extension Engine {
    /// How long the dispatcher waits for more slots to free up before claiming for a few.
    static let claimCoalescing = Duration.milliseconds(2)

    /// Claims work whenever slots are free and work may be available: after a submit or a finished
    /// run (the doorbell), when the earliest delayed task comes due, when an agent the claim held
    /// back for its pacing gets a token or its quota group's park ends, or at the safety-net poll.
    func dispatchLoop(group: inout DiscardingTaskGroup) async {
        var failures = 0
        var coalesceDeadline: ContinuousClock.Instant?
        while !isStopping {
            let free = configuration.slots - state.withLock { $0.active.count }
            var wakeAt = clock.now.addingTimeInterval(configuration.pollInterval)
            // Under load, runs end one after another; claiming for each freed slot alone would cost a
            // commit per task. Wait a moment (never with every slot free) so one claim fills several.
            // A matter of throughput, so it is real time whatever the engine's clock.
            if free > 0, free < (configuration.slots + 1) / 2 {
                let deadline = coalesceDeadline ?? ContinuousClock.now + Self.claimCoalescing
                coalesceDeadline = deadline
                if ContinuousClock.now < deadline {
                    await doorbell.wait(realTime: deadline - .now)
                    continue
                }
            }
            coalesceDeadline = nil
            if free > 0 {
                let claimed: [ClaimedRun]
                let claimTime = clock.now
                do {
                    let batch = try await configuration.metrics.transaction("claim") {
                        try await store.claimBatch(
                            worker: configuration.nodeID, limit: free, leaseDuration: configuration.leaseDuration, now: claimTime)
                    }
                    claimed = batch.runs
                    // Sleep no longer than until a held-back agent may start again: no poll while it waits.
                    if let opening = batch.nextOpening { wakeAt = min(wakeAt, max(opening, claimTime)) }
                    failures = 0
                } catch {
                    failures += 1
                    logger.error("claim failed", metadata: ["nightshift.error": "\(error)"])
                    await doorbell.wait(timeout: .seconds(min(5, 0.05 * Double(1 << min(failures, 7)))))
                    continue
                }
                for run in claimed {
                    configuration.metrics.claimed(agent: run.task.agent, latency: claimTime.timeIntervalSince(run.task.availableAt))
                    let tracing = configuration.tracing
                    let span = tracing.span("nightshift.claim", task: run.task, parent: tracing.context(traceParent: run.task.traceParent))
                    span.attributes["nightshift.node"] = configuration.nodeID
                    span.attributes["nightshift.attempt"] = run.run.attempt
                    span.end()
                    let stop = StopSignal()
                    let info = ActiveRun(
                        taskID: run.task.id, workspaceID: run.task.workspaceID, runID: run.run.id, agent: run.task.agent, attempt: run.run.attempt,
                        startedAt: run.run.startedAt, pid: nil)
                    state.withLock { $0.active[run.task.id] = ActiveEntry(info: info, lease: run.lease, stop: stop) }
                    group.addTask { await self.execute(run, stop: stop) }
                }
                if claimed.count == free { continue }
                // After the claim's own time: a task that came due since then is found too (and
                // claimed at once), instead of being missed until the safety-net poll.
                if let next = try? await store.nextAvailableAt(after: claimTime) { wakeAt = min(wakeAt, next) }
            }
            await doorbell.wait(until: wakeAt)
        }
    }

    /// After the dispatcher stopped: waits up to the grace period (real time) for runs to finish,
    /// then stops the rest so they are released, and waits for them to wind down. Cancelled (the
    /// engine's task, not a graceful shutdown), it gives no grace, but still waits for the runs.
    func drain() async {
        let deadline = ContinuousClock.now + .seconds(configuration.shutdownGrace)
        while state.withLock({ !$0.active.isEmpty }), ContinuousClock.now < deadline, !Task.isCancelled {
            await doorbell.wait(realTime: min(.milliseconds(200), deadline - .now))
        }
        let remaining = state.withLock { $0.active.values.map(\.stop) }
        if !remaining.isEmpty {
            logger.info("grace period over: releasing running tasks", metadata: ["nightshift.count": "\(remaining.count)"])
        }
        for stop in remaining { stop.stop(.shutdown) }
        while state.withLock({ !$0.active.isEmpty }) {
            // In a task of its own: in a cancelled one a wait returns at once, and this loop would
            // hold its thread until the runs end, which (on a pool of two threads) may be never.
            await Task { [doorbell] in await doorbell.wait(realTime: .milliseconds(100)) }.value
        }
    }
}
