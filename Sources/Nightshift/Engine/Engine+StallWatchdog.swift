import Foundation
import Synchronization

/// When a run last reported an event: what the stall watchdog measures silence from.
final class RunActivity: Sendable {
    private let last: Mutex<Date>

    /// Activity whose silence counts from `start` (the runner's launch).
    init(since start: Date) {
        last = Mutex(start)
    }

    /// Notes an event reported at `time`.
    func reported(at time: Date) {
        last.withLock { $0 = max($0, time) }
    }

    /// When the latest event was reported (the start, before the first).
    var lastReported: Date { last.withLock { $0 } }
}

extension Engine {
    /// The label of a run the stall watchdog stopped.
    static let stalledLabel = "stalled"

    /// Stops the run (``StopReason/stalled(_:)``) once `activity` has reported nothing for `seconds`
    /// on the engine's clock; returns then, or when cancelled (the runner returned first). Each
    /// wake-up sleeps again until the silence would reach `seconds` counted from the latest event,
    /// so a run that keeps reporting is never stopped, however long it runs.
    func watchForStall(_ activity: RunActivity, seconds: Double, stop: StopSignal) async {
        while true {
            let deadline = activity.lastReported.addingTimeInterval(seconds)
            do { try await clock.sleep(until: deadline) } catch { return }
            if clock.now >= activity.lastReported.addingTimeInterval(seconds) {
                stop.stop(.stalled(seconds))
                return
            }
        }
    }

    /// The outcome of a run stopped for reporting nothing for `seconds`: a retryable failure
    /// (it counts as an attempt) labelled `stalled`; the retry resumes the session it reported.
    static func stalledOutcome(after seconds: Double) -> RunOutcome {
        RunOutcome(
            resolution: .failed(retryable: true), label: stalledLabel,
            error: "stalled: no event for \(format(seconds)); stopped")
    }
}
