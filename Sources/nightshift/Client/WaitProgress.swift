import Foundation
import Synchronization
import Nightshift
import NightshiftDaemon

/// The progress line of `submit --wait` on standard error: the task's state, the time since it
/// was submitted and its cost so far, rewritten in place every second (and at each state event)
/// until the task ends, then replaced by a last line with the final state, time and cost. Shown
/// when standard error is a terminal, or with --progress.
///
/// The cost is the task's `cost_usd`: what its ended runs cost. An agent CLI reports a run's
/// cost when the run ends (Claude Code in its `result` line), so the cost moves at each run's
/// settle, and each state event reads it again at once.
final class WaitProgress: Sendable {
    private let client: NightshiftClient
    private let id: String
    private let started = ContinuousClock.now
    private let ticker = Mutex<Task<Void, Never>?>(nil)
    private let shown = Mutex<(state: String, cost: Double, finished: Bool)>(("queued", 0, false))

    /// Starts the line for task `id`.
    init(client: NightshiftClient, task id: String) {
        self.client = client
        self.id = id
        let task = Task { [self] in
            var tick = 0
            while !Task.isCancelled {
                // The cost moves with the run's settles: read it every other second.
                if tick % 2 == 0, let task = try? await client.task(id) {
                    shown.withLock { $0.state = task.state; $0.cost = task.costUSD }
                }
                render()
                tick += 1
                try? await Task.sleep(for: .seconds(1))
            }
        }
        ticker.withLock { $0 = task }
    }

    /// A state event: the line says the new state at once, then the cost the move settled.
    func moved(to state: String) {
        shown.withLock { $0.state = state }
        render()
        Task { [self] in
            guard let task = try? await client.task(id) else { return }
            shown.withLock { $0.cost = task.costUSD }
            render()
        }
    }

    /// Stops updating the line and replaces it with `ending`'s state and cost on a line of its
    /// own (`ID done · 12s · $0.0400`); only erases it when the task's end is not known.
    func finish(_ ending: TaskWatch.Ending?) {
        ticker.withLock { $0?.cancel() }
        shown.withLock {
            guard !$0.finished else { return }
            $0.finished = true
            if let ending { $0.state = ending.state }
            if let cost = ending?.task?.costUSD { $0.cost = cost }
            Self.write("\r\u{1B}[2K" + (ending == nil ? "" : text(state: $0.state, cost: $0.cost) + "\n"))
        }
    }

    /// `ID running · 12s · $0.0400`.
    private func text(state: String, cost: Double) -> String {
        let elapsed = Int((ContinuousClock.now - started).components.seconds)
        let time = elapsed >= 60 ? "\(elapsed / 60)m\(String(format: "%02d", elapsed % 60))s" : "\(elapsed)s"
        return "\(id) \(state) · \(time) · $\(String(format: "%.4f", cost))"
    }

    /// Rewrites the line; under the lock, so that nothing is written after ``finish(_:)``.
    private func render() {
        shown.withLock {
            guard !$0.finished else { return }
            Self.write("\r\u{1B}[2K" + text(state: $0.state, cost: $0.cost))
        }
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
