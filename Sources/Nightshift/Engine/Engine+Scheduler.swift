import Foundation
import Logging

/// The scheduler: fires the schedules whose time has come. Every node runs one; the store's
/// compare-and-set on each fire time lets exactly one node fire each occurrence.
extension Engine {
    /// The most due schedules fired in one round.
    public static let scheduleBatch = 200

    /// Fires what is due, then sleeps until the earliest next fire time (at most the poll
    /// interval: schedules made on other nodes are seen by then) or until a schedule changes here.
    func scheduleLoop() async {
        while !Task.isCancelled {
            var full = false
            do {
                full = try await fireDueSchedules() == Self.scheduleBatch
            } catch is CancellationError {
                return
            } catch {
                logger.error("firing schedules failed", metadata: ["nightshift.error": "\(error)"])
            }
            if full { continue }
            let now = clock.now
            // At most the poll interval, but not more often than each second: a daemon polling its
            // queue every 50 ms need not poll its schedules as often (this node's own changes ring).
            var wake = now.addingTimeInterval(max(configuration.pollInterval, 1))
            if let due = try? await store.earliestScheduleDue() {
                let retries = state.withLock { $0.scheduleRetries }
                // A schedule waiting out a refusal wakes the loop when its retry comes, not before.
                let next = due > now || retries.isEmpty ? due : retries.values.min() ?? due
                wake = min(wake, max(next, now))
            }
            if wake <= now { continue }
            await schedulesChanged.wait(until: wake)
        }
    }

    /// Fires the schedules due now; answers how many were due.
    @discardableResult
    func fireDueSchedules() async throws -> Int {
        let now = clock.now
        let due = try await store.dueSchedules(now: now, limit: Self.scheduleBatch)
        let ready = due.filter { schedule in
            schedule.nextRunAt != nil && !(state.withLock { $0.scheduleRetries[schedule.id] }.map { $0 > now } ?? false)
        }
        // Several firings at once, so that they share commits (each is its own transaction).
        let fired = try await withThrowingTaskGroup(of: Bool.self) { group in
            var next = ready.makeIterator()
            for _ in 0..<Self.concurrentFirings {
                guard let schedule = next.next() else { break }
                group.addTask { try await self.fire(schedule, now: now) }
            }
            var any = false
            while let result = try await group.next() {
                any = any || result
                if let schedule = next.next() { group.addTask { try await self.fire(schedule, now: now) } }
            }
            return any
        }
        if fired { doorbell.ring() }
        // Only waiting retries count as not due: the rest fired, skipped or went to another node.
        return due.count - state.withLock { state in due.filter { state.scheduleRetries[$0.id].map { $0 > now } ?? false }.count }
    }

    /// How many schedules one node fires at once.
    static let concurrentFirings = 16

    /// Fires one due schedule's occurrence; answers whether a task was submitted.
    private func fire(_ schedule: Schedule, now: Date) async throws -> Bool {
        guard let occurrence = schedule.nextRunAt else { return false }
        switch try await store.fireSchedule(schedule.id, occurrence: occurrence, now: clock.now, missedGrace: configuration.scheduleMissedGrace) {
        case .fired:
            configuration.metrics.scheduleFired(lag: clock.now.timeIntervalSince(occurrence))
            state.withLock { _ = $0.scheduleRetries.removeValue(forKey: schedule.id) }
            return true
        case .skipped(let reason):
            state.withLock { _ = $0.scheduleRetries.removeValue(forKey: schedule.id) }
            logger.debug("schedule skipped a fire time", metadata: ["nightshift.schedule": "\(schedule.id)", "nightshift.reason": "\(reason)"])
        case .refused(let error):
            state.withLock { $0.scheduleRetries[schedule.id] = now.addingTimeInterval(configuration.scheduleRetryDelay) }
            logger.warning("schedule's task refused", metadata: ["nightshift.schedule": "\(schedule.id)", "nightshift.error": "\(error.message)"])
        case .lost:
            break
        }
        return false
    }

    /// Creates a schedule and wakes the scheduler.
    public func createSchedule(_ new: NewSchedule, source: String = "api") async throws -> Schedule {
        let schedule = try await store.createSchedule(new, source: source, now: clock.now)
        schedulesChanged.ring()
        return schedule
    }

    /// Replaces a schedule and wakes the scheduler.
    public func replaceSchedule(_ key: String, with new: NewSchedule, workspace: String?) async throws -> Schedule {
        let schedule = try await store.replaceSchedule(key, with: new, now: clock.now, workspace: workspace)
        state.withLock { _ = $0.scheduleRetries.removeValue(forKey: schedule.id) }
        schedulesChanged.ring()
        return schedule
    }

    /// Pauses or resumes a schedule and wakes the scheduler.
    public func pauseSchedule(_ key: String, paused: Bool, workspace: String?) async throws -> Schedule {
        let schedule = try await store.pauseSchedule(key, paused: paused, now: clock.now, workspace: workspace)
        schedulesChanged.ring()
        return schedule
    }

    /// Submits a schedule's task now (a repeat with `idempotencyKey` answers the first one's) and
    /// wakes the dispatcher.
    public func triggerSchedule(_ key: String, workspace: String?, idempotencyKey: String? = nil) async throws -> SubmitResult {
        let result = try await store.triggerSchedule(key, now: clock.now, workspace: workspace, idempotencyKey: idempotencyKey)
        if result.inserted { doorbell.ring() }
        return result
    }
}
