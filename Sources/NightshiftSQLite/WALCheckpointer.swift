import Dispatch
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the write-ahead log back into the database file in the background, and keeps the log
/// from growing without bound.
///
/// SQLite's automatic checkpoint runs inside the commit that crosses the threshold, on the writer,
/// and with `synchronous=FULL` it fsyncs the database file: a few milliseconds during which no
/// write can commit. Measured here, that was a third of the writer's time under load. The writer
/// therefore runs with `wal_autocheckpoint = 0` and this checkpointer, on a connection of its own,
/// runs a PASSIVE checkpoint (which never blocks writers) after every `interval` commits.
///
/// A passive checkpoint under constant writes never catches up with the end of the log, and SQLite
/// starts the log over only when a write begins after a checkpoint that did. Left alone, the log
/// grew to 1.6 GB in a 30,000-task benchmark, and every frame appended past the old end of the
/// file costs the kernel a page of zeroing. So once the log holds `restartFrames` frames, the
/// writer itself, between two transactions, checkpoints the few frames the background pass left:
/// nothing is written meanwhile, the checkpoint catches up, and the next transaction starts the
/// log over (unless a reader still holds an old snapshot; then a later pass tries again). It never
/// waits for readers.
final class WALCheckpointer: Sendable {
    private struct State {
        var commitsSinceCheckpoint = 0
        var running = false
        var restartDue = false
    }

    private let connection: DatabaseQueue
    private let interval: Int
    private let restartFrames: Int32
    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "nightshift.sqlite.checkpointer")

    init(path: String, configuration: Configuration, interval: Int = 64, restartFrames: Int32 = 8192) throws {
        connection = try DatabaseQueue(path: path, configuration: configuration)
        self.interval = interval
        self.restartFrames = restartFrames
    }

    /// Called by the writer after each commit: starts a background checkpoint when enough commits
    /// accumulated. When the log has grown past `restartFrames`, returns the catch-up the writer
    /// must run on its own connection, outside any transaction.
    func committed() -> (@Sendable (Database) -> Void)? {
        let (start, restart) = state.withLock { state -> (Bool, Bool) in
            state.commitsSinceCheckpoint += 1
            guard !state.running else { return (false, false) }
            if state.restartDue { return (false, true) }
            guard state.commitsSinceCheckpoint >= interval else { return (false, false) }
            state.commitsSinceCheckpoint = 0
            state.running = true
            return (true, false)
        }
        if start {
            queue.async {
                // A failed passive checkpoint loses nothing: the frames stay in the log for the next one.
                let frames = self.connection.writeWithoutTransaction { Self.passiveCheckpoint($0) }
                self.state.withLock { state in
                    state.running = false
                    if let frames, frames.log >= self.restartFrames { state.restartDue = true }
                }
            }
        }
        guard restart else { return nil }
        return { db in
            if let frames = Self.passiveCheckpoint(db), frames.log == frames.checkpointed {
                self.state.withLock { $0.restartDue = false }
            }
        }
    }

    /// Runs a PASSIVE checkpoint; returns the frames in the log and those now in the database
    /// file, or `nil` when the checkpoint could not run (another one holds the lock).
    private static func passiveCheckpoint(_ db: Database) -> (log: Int32, checkpointed: Int32)? {
        var log: Int32 = 0
        var checkpointed: Int32 = 0
        let code = sqlite3_wal_checkpoint_v2(db.sqliteConnection, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &checkpointed)
        return code == SQLITE_OK ? (log, checkpointed) : nil
    }
}
