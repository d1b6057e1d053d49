import Foundation
import Synchronization
import Nightshift
import NightshiftDaemon

/// The progress line of `submit --wait` on standard error: the task's state, the time since it
/// was submitted and its cost so far, rewritten in place every second (and at each state event)
/// until the task ends, then erased. Shown when standard error is a terminal, or with --progress.
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

    /// A state event: the line says the new state at once.
    func moved(to state: String) {
        shown.withLock { $0.state = state }
        render()
    }

    /// Erases the line and stops updating it.
    func finish() {
        ticker.withLock { $0?.cancel() }
        shown.withLock { $0.finished = true }
        Self.write("\r\u{1B}[2K")
    }

    /// `⏳ running · 12s · $0.0400`.
    func text() -> String {
        let (state, cost, _) = shown.withLock { $0 }
        let elapsed = Int((ContinuousClock.now - started).components.seconds)
        let time = elapsed >= 60 ? "\(elapsed / 60)m\(String(format: "%02d", elapsed % 60))s" : "\(elapsed)s"
        return "\(id) \(state) · \(time) · $\(String(format: "%.4f", cost))"
    }

    private func render() {
        guard !shown.withLock({ $0.finished }) else { return }
        Self.write("\r\u{1B}[2K" + text())
    }

    private static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
