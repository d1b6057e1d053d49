import NIOCore
import NIOPosix

// Swift concurrency runs on NIO's event loops (the same number of threads as the default pool),
// installed before any task starts. A task that awaits a connection's reply then resumes on the
// loop that read it, rather than being handed to another thread: W1 on PostgreSQL (10,000 submits
// and their drain) went from ~57,000 context switches to ~15,000 (see docs/design-notes.md).
NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
await NightshiftCommand.parseAndRun()
