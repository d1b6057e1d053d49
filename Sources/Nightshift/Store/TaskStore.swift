/// A complete store: every capability the engine and the daemon use, each a protocol of its own
/// (see docs/layout.md). A new capability is a new protocol, added here and conformed to by both
/// stores; code that needs less names less (a run's event buffer needs only a ``TaskQueue``, an
/// event stream only a ``TaskLog``).
///
/// Implementations: `SQLiteTaskStore` (embedded default) and `PostgresTaskStore` (several nodes on
/// one database). One conformance suite tests them both.
public typealias TaskStore = TaskQueue & TaskActions & TaskLog & ChangeFeed & TaskQueries & AgentCatalogue & CheckpointStore & MemoryStore
    & TokenStore & TaskInbox & ScheduleStore & HookConsumerStore & WebhookStore & DetectorStore

