import Dispatch
import GRDB
import Synchronization

/// Copies the write-ahead log back into the database file in the background.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses the threshold, on the writer,
/// and with `synchronous=FULL` it fsyncs the database file: a few milliseconds during which no
/// write can commit. Measured here, that was a third of the writer's time under load. The writer
/// therefore runs with `wal_autocheckpoint = 0` and this checkpointer, on a connection of its own,
/// runs a PASSIVE checkpoint (which never blocks writers) after every `interval` commits.
final class WALCheckpointer: Sendable {
    private struct State {
        var commitsSinceCheckpoint = 0
        var running = false
    }

    private let connection: DatabaseQueue
    private let interval: Int
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "nightshift.sqlite.checkpointer")

    init(path: String, configuration: Configuration, interval: Int = 64) throws {
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.interval = interval
    }

    /// Counts a commit; starts a checkpoint when enough commits accumulated and none is running.
    func committed() {
        let start = state.withLock { state -> Bool in
            state.commitsSinceCheckpoint += 1
            guard state.commitsSinceCheckpoint >= interval, !state.running else { return false }
            state.commitsSinceCheckpoint = 0
            state.running = true
            return true
        }
        guard start else { return }
        queue.async {
            // A failed passive checkpoint loses nothing: the frames stay in the log for the next one.
            _ = try? self.connection.writeWithoutTransaction { try $0.checkpoint(.passive) }
            self.state.withLock { $0.running = false }
        }
    }
}
