import Logging
import Nightshift
import PostgresNIO

/// The versioned migrations of the PostgreSQL store, recorded in `schema_migrations`.
/// Append new migrations; never edit a shipped one.
enum PostgresSchema {
    /// Every migration, by version, oldest first. The last one is the newest schema this binary knows.
    static let migrations: [(version: Int, sql: [String])] = [
        (1, v1), (2, v2), (3, v3), (4, v4), (5, v5), (6, v6), (7, v7), (8, v8), (9, v9), (10, v10), (11, v11), (12, v12), (13, v13), (14, v14), (15, v15), (16, v16), (17, v17),
    ]

    /// The newest schema version this binary knows.
    static var latest: Int { migrations.last!.version }

    /// Brings the schema up to date in one transaction. Nodes starting together serialize on an
    /// advisory lock; a database whose schema is newer than this binary is refused.
    static func migrate(_ connection: PostgresConnection, target: PostgresURL, logger: Logger) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.nightshift.migrate'))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: logger)
            var applied: Set<Int> = []
            for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            let current = applied.max() ?? 0
            if current > latest {
                throw NightshiftError(
                    .storeUnavailable,
                    "database \(target) has schema version \(current), newer than this binary's \(latest): upgrade nightshift")
            }
            // Every migration not recorded yet, in order (not only those past the newest recorded).
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.sql {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO schema_migrations (version) VALUES (\(migration.version))", logger: logger)
                logger.debug("applied migration", metadata: ["nightshift.schema_version": "\(migration.version)"])
            }
        }
    }

    /// A task's totals over its runs (tokens, turns, run time, beside its cost); a run's turns and
    /// warnings (a JSON array's text).
    static let v2: [String] = [
        """
        ALTER TABLE tasks ADD COLUMN tokens_in BIGINT NOT NULL DEFAULT 0,
            ADD COLUMN tokens_out BIGINT NOT NULL DEFAULT 0,
            ADD COLUMN cache_read_tokens BIGINT NOT NULL DEFAULT 0,
            ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0,
            ADD COLUMN turns BIGINT NOT NULL DEFAULT 0,
            ADD COLUMN run_seconds DOUBLE PRECISION NOT NULL DEFAULT 0
        """,
        "ALTER TABLE runs ADD COLUMN turns BIGINT NOT NULL DEFAULT 0, ADD COLUMN warnings TEXT",
    ]

    /// Runs lost to the node, counted apart from the agent's failures; the agent process of a run
    /// (boot id, pid and start time), so a restarted node can kill what it left; a row per node
    /// that readiness writes.
    static let v3: [String] = [
        "ALTER TABLE tasks ADD COLUMN interruptions BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE runs ADD COLUMN agent_process TEXT",
        "CREATE TABLE write_probes (node TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL)",
    ]

    /// The times in `state` events (`wake_at`, `resets_at`) become RFC 3339 text, as they are
    /// written now and as the API answers every time; they were seconds since 1970.
    static let v4: [String] = ["wake_at", "resets_at"].map { key in
        """
        UPDATE task_events
        SET data = jsonb_set(data::jsonb, '{\(key)}', to_jsonb(to_char(
            to_timestamp((data::jsonb ->> '\(key)')::float8) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::text
        WHERE type = 'state' AND data LIKE '%"\(key)"%' AND jsonb_typeof(data::jsonb -> '\(key)') = 'number'
        """
    }

    /// Schedules (issue 18): each fires when next_run_at comes (an index keeps the poll cheap
    /// whatever their number); a fired task carries its schedule and occurrence.
    static let v8: [String] = [
        "ALTER TABLE tasks ADD COLUMN schedule_id TEXT",
        "ALTER TABLE tasks ADD COLUMN scheduled_for DOUBLE PRECISION",
        "CREATE INDEX tasks_schedule ON tasks (schedule_id, id) WHERE schedule_id IS NOT NULL",
        """
        CREATE TABLE schedules (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL,
            name TEXT,
            cron TEXT NOT NULL,
            timezone TEXT NOT NULL,
            task TEXT NOT NULL,
            starts_at DOUBLE PRECISION,
            ends_at DOUBLE PRECISION,
            missed TEXT NOT NULL,
            overlap TEXT NOT NULL,
            paused BOOLEAN NOT NULL DEFAULT false,
            next_run_at DOUBLE PRECISION,
            last_run_at DOUBLE PRECISION,
            last_task_id TEXT,
            last_error TEXT,
            source TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL
        )
        """,
        "CREATE UNIQUE INDEX schedules_name ON schedules (workspace_id, name) WHERE name IS NOT NULL",
        "CREATE INDEX schedules_due ON schedules (next_run_at) WHERE next_run_at IS NOT NULL",
    ]

    /// A task's own ask policy (issue 17's `on-miss`), read by each run; NULL: its agent's.
    static let v7: [String] = ["ALTER TABLE tasks ADD COLUMN ask TEXT"]

    /// Pacing (issue 18): an agent's rate and quota group as columns claims read (the document
    /// keeps them too), its token bucket (tokens at rate_at; NULL: full), and the parks of quota
    /// groups, whose rows outlive a park to keep the default-park streak.
    static let v9: [String] = [
        "ALTER TABLE agents ADD COLUMN quota_group TEXT",
        "ALTER TABLE agents ADD COLUMN rate_limit BIGINT",
        "ALTER TABLE agents ADD COLUMN rate_window DOUBLE PRECISION",
        "ALTER TABLE agents ADD COLUMN rate_tokens DOUBLE PRECISION",
        "ALTER TABLE agents ADD COLUMN rate_at DOUBLE PRECISION",
        """
        CREATE TABLE quota_parks (
            workspace_id TEXT NOT NULL,
            quota_group TEXT NOT NULL,
            parked_until DOUBLE PRECISION NOT NULL,
            reason TEXT NOT NULL,
            parked_at DOUBLE PRECISION NOT NULL,
            streak BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (workspace_id, quota_group)
        )
        """,
    ]

    /// Webhooks (issue 19): each a consumer of its workspace's hook stream with a cursor, the
    /// attempts at its head event and the lease of the node that delivers it; its delivery log
    /// (dead letters are its `dead` rows). A channel binding is a webhook with the origin channel it
    /// tells and the format it writes; a task's origin may name a thread and opt out of notifications.
    static let v12: [String] = [
        "ALTER TABLE tasks ADD COLUMN origin_thread TEXT",
        "ALTER TABLE tasks ADD COLUMN origin_notify BOOLEAN",
        """
        CREATE TABLE webhooks (
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            url TEXT NOT NULL,
            events TEXT NOT NULL,
            secret TEXT NOT NULL,
            enabled BOOLEAN NOT NULL,
            max_attempts BIGINT NOT NULL,
            initial_backoff DOUBLE PRECISION NOT NULL,
            max_backoff DOUBLE PRECISION NOT NULL,
            timeout DOUBLE PRECISION NOT NULL,
            channel TEXT,
            format TEXT NOT NULL DEFAULT 'event',
            cursor BIGINT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at DOUBLE PRECISION,
            last_error TEXT,
            delivered BIGINT NOT NULL DEFAULT 0,
            dead BIGINT NOT NULL DEFAULT 0,
            lease_owner TEXT,
            lease_expires_at DOUBLE PRECISION,
            source TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (workspace_id, name)
        )
        """,
        """
        CREATE TABLE webhook_deliveries (
            id BIGSERIAL PRIMARY KEY,
            workspace_id TEXT NOT NULL,
            webhook TEXT NOT NULL,
            seq BIGINT NOT NULL,
            attempt BIGINT NOT NULL,
            delivery_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            outcome TEXT NOT NULL,
            http_status BIGINT,
            error TEXT,
            duration DOUBLE PRECISION NOT NULL,
            time DOUBLE PRECISION NOT NULL
        )
        """,
        "CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (workspace_id, webhook, id)",
        "CREATE INDEX webhook_deliveries_time ON webhook_deliveries (time)",
    ]

    /// Workflow steps (issue 20): each ended step of a workflow task, by position, with its output
    /// (JSON text) for replay. Scoped through its task.
    static let v13: [String] = [
        """
        CREATE TABLE task_steps (
            task_id TEXT NOT NULL,
            position BIGINT NOT NULL,
            name TEXT NOT NULL,
            state TEXT NOT NULL,
            output TEXT,
            error TEXT,
            attempts BIGINT NOT NULL,
            run_id TEXT NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (task_id, position)
        )
        """,
    ]

    /// Work detectors (issue 20): each detector's last scan, next scan and scan lease.
    static let v14: [String] = [
        """
        CREATE TABLE detectors (
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            lease_owner TEXT,
            lease_expires_at DOUBLE PRECISION,
            next_scan_at DOUBLE PRECISION,
            last_scan_at DOUBLE PRECISION,
            last_found BIGINT,
            last_submitted BIGINT,
            last_error TEXT,
            scans BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (workspace_id, name)
        )
        """,
    ]

    /// Workflow pause and progress (issue 20): a person's pause request on a running task, seen by
    /// its run between steps; the step names a workflow declares (JSON array text), for progress
    /// and for the steps a cancel marks skipped.
    static let v15: [String] = [
        "ALTER TABLE tasks ADD COLUMN pause_requested BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE tasks ADD COLUMN steps_declared TEXT",
    ]

    /// Isolation (issue 21): a task's own execution policy over its agent's (JSON object text);
    /// NULL: its agent's. An agent's repository lane (`Agent.repoLane`), read by submits.
    static let v16: [String] = ["ALTER TABLE tasks ADD COLUMN policy TEXT", "ALTER TABLE agents ADD COLUMN repo_lane TEXT"]

    /// Tracing (issue 22): the W3C traceparent of a task's submit span; its runs' spans are its
    /// children. NULL: not traced.
    static let v17: [String] = ["ALTER TABLE tasks ADD COLUMN trace_parent TEXT"]

    /// Hook consumers (issue 19): a named reader's durable ack per workspace; a consumer reads its
    /// workspace's events, so the stream gets an index by workspace.
    static let v10: [String] = [
        """
        CREATE TABLE hook_consumers (
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            ack_seq BIGINT NOT NULL DEFAULT 0,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (workspace_id, name)
        )
        """,
        "CREATE INDEX hook_events_workspace ON hook_events (workspace_id, seq)",
    ]

    /// Per-run telemetry (issue 19): a run's tool calls by tool (a JSON object's text, NULL for
    /// none), and the finished runs by workspace and finish time, which an agent's stats read a
    /// range of.
    static let v11: [String] = [
        "ALTER TABLE runs ADD COLUMN tool_calls TEXT",
        "CREATE INDEX runs_finished ON runs (workspace_id, finished_at) WHERE finished_at IS NOT NULL",
    ]

    /// The task inbox (issue 17): inputs in order per task, what a waiting task waits for, and a
    /// count of the inputs not yet delivered (read by every settle with the facts); subtasks: a
    /// task's parent and its depth in the tree.
    static let v6: [String] = [
        "ALTER TABLE tasks ADD COLUMN pending_inputs BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE tasks ADD COLUMN waiting_for TEXT",
        "ALTER TABLE tasks ADD COLUMN parent_id TEXT",
        "ALTER TABLE agents ADD COLUMN ask TEXT",
        "ALTER TABLE tasks ADD COLUMN subtask_depth BIGINT NOT NULL DEFAULT 0",
        "CREATE INDEX tasks_parent ON tasks (parent_id, id) WHERE parent_id IS NOT NULL",
        """
        CREATE TABLE task_inputs (
            task_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            id TEXT NOT NULL UNIQUE,
            workspace_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            text TEXT,
            decisions TEXT,
            sender TEXT NOT NULL,
            idempotency_key TEXT,
            created_at DOUBLE PRECISION NOT NULL,
            delivery TEXT NOT NULL DEFAULT 'pending',
            delivered_at DOUBLE PRECISION,
            run_id TEXT,
            PRIMARY KEY (task_id, seq)
        )
        """,
        "CREATE UNIQUE INDEX task_inputs_key ON task_inputs (task_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
    ]

    /// Workspaces and their API tokens (SHA-256 digests only); every row a user owns carries its
    /// workspace (existing rows: their task's, else 'default'); agents and lanes are per workspace,
    /// and an agent is its JSON document (jsonb) plus the columns SQL reads (claims: the
    /// concurrency limit; submits: the task defaults; settles: the budget and what was spent), so a
    /// new agent field needs no migration.
    static let v5: [String] = [
        "CREATE TABLE workspaces (id TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL)",
        """
        INSERT INTO workspaces (id, created_at)
        SELECT id, extract(epoch FROM now()) FROM (
            SELECT 'default' AS id UNION SELECT workspace_id FROM tasks UNION SELECT workspace_id FROM memories) AS known
        """,
        """
        CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL REFERENCES workspaces (id),
            role TEXT NOT NULL,
            name TEXT NOT NULL,
            digest TEXT NOT NULL UNIQUE,
            created_at DOUBLE PRECISION NOT NULL,
            revoked_at DOUBLE PRECISION
        )
        """,
        "CREATE INDEX api_tokens_workspace ON api_tokens (workspace_id, created_at)",
        "ALTER TABLE agents RENAME TO agents_v4",
        """
        CREATE TABLE agents (
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            document JSONB NOT NULL,
            concurrency BIGINT,
            timeout DOUBLE PRECISION,
            max_attempts BIGINT NOT NULL,
            initial_backoff DOUBLE PRECISION NOT NULL,
            max_backoff DOUBLE PRECISION NOT NULL,
            budget_usd DOUBLE PRECISION,
            spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (workspace_id, name)
        )
        """,
        """
        INSERT INTO agents (workspace_id, name, document, concurrency, timeout, max_attempts, initial_backoff, max_backoff,
            budget_usd, spent_usd, updated_at)
        SELECT 'default', name, jsonb_build_object(
                'workspaceID', 'default', 'name', name, 'runner', runner, 'config', config::jsonb,
                'concurrency', concurrency, 'timeout', timeout,
                'retry', jsonb_build_object('maxAttempts', max_attempts, 'initialBackoff', initial_backoff, 'maxBackoff', max_backoff),
                'budgetUSD', budget_usd, 'injectMemories', inject_memories),
            concurrency, timeout, max_attempts, initial_backoff, max_backoff, budget_usd, spent_usd, updated_at
        FROM agents_v4
        """,
        "DROP TABLE agents_v4",
        "ALTER TABLE lanes RENAME TO lanes_v4",
        """
        CREATE TABLE lanes (
            workspace_id TEXT NOT NULL,
            name TEXT NOT NULL,
            concurrency BIGINT NOT NULL,
            PRIMARY KEY (workspace_id, name)
        )
        """,
        "INSERT INTO lanes (workspace_id, name, concurrency) SELECT 'default', name, concurrency FROM lanes_v4",
        "DROP TABLE lanes_v4",
    ] + ["runs", "task_events", "hook_pending", "hook_events", "checkpoints", "quarantined_checkpoints"].flatMap { table in
        [
            "ALTER TABLE \(table) ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'default'",
            """
            UPDATE \(table) SET workspace_id = tasks.workspace_id FROM tasks
            WHERE tasks.id = \(table).task_id AND tasks.workspace_id <> 'default'
            """,
        ]
    } + [
        "DROP INDEX checkpoints_agent",
        "CREATE INDEX checkpoints_agent ON checkpoints (workspace_id, agent, status, updated_at) WHERE archived_at IS NULL",
    ]

    /// Times are seconds since 1970 (`DOUBLE PRECISION`), as in the SQLite store, so both stores
    /// round-trip the same `Date` values.
    static let v1: [String] = [
        """
        CREATE TABLE agents (
            name TEXT PRIMARY KEY,
            runner TEXT NOT NULL,
            config TEXT NOT NULL,
            concurrency BIGINT,
            timeout DOUBLE PRECISION,
            max_attempts BIGINT NOT NULL,
            initial_backoff DOUBLE PRECISION NOT NULL,
            max_backoff DOUBLE PRECISION NOT NULL,
            budget_usd DOUBLE PRECISION,
            spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
            inject_memories BOOLEAN NOT NULL DEFAULT false,
            updated_at DOUBLE PRECISION NOT NULL
        )
        """,
        "CREATE TABLE lanes (name TEXT PRIMARY KEY, concurrency BIGINT NOT NULL)",
        """
        CREATE TABLE tasks (
            id TEXT PRIMARY KEY,
            workspace_id TEXT NOT NULL,
            agent TEXT NOT NULL,
            prompt TEXT NOT NULL,
            payload TEXT NOT NULL,
            priority BIGINT NOT NULL,
            lane TEXT,
            labels TEXT NOT NULL,
            origin_channel TEXT,
            origin_session TEXT,
            idempotency_key TEXT,
            dedup_key TEXT,
            budget_usd DOUBLE PRECISION,
            timeout DOUBLE PRECISION,
            max_attempts BIGINT NOT NULL,
            initial_backoff DOUBLE PRECISION NOT NULL,
            max_backoff DOUBLE PRECISION NOT NULL,
            available_at DOUBLE PRECISION NOT NULL,
            state TEXT NOT NULL,
            attempt BIGINT NOT NULL DEFAULT 0,
            failures BIGINT NOT NULL DEFAULT 0,
            run_id TEXT,
            lease_token TEXT,
            lease_expires_at DOUBLE PRECISION,
            worker_id TEXT,
            wake_at DOUBLE PRECISION,
            last_seq BIGINT NOT NULL DEFAULT 0,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION,
            result TEXT,
            error TEXT,
            cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
            archived_at DOUBLE PRECISION
        )
        """,
        "CREATE UNIQUE INDEX tasks_idempotency ON tasks (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL",
        """
        CREATE UNIQUE INDEX tasks_dedup ON tasks (workspace_id, dedup_key)
            WHERE dedup_key IS NOT NULL AND state IN ('queued', 'running', 'waiting', 'paused')
        """,
        "CREATE INDEX tasks_ready ON tasks (priority, available_at, id) WHERE state = 'queued'",
        "CREATE INDEX tasks_running ON tasks (lease_expires_at) WHERE state = 'running'",
        // A restarted node finds its runs through tasks_running (running tasks are few); an index
        // on worker_id would cost every claim an index entry.
        "CREATE INDEX tasks_waking ON tasks (wake_at) WHERE state = 'waiting' AND wake_at IS NOT NULL",
        "CREATE INDEX tasks_created ON tasks (workspace_id, created_at, id)",
        """
        CREATE TABLE runs (
            task_id TEXT NOT NULL,
            attempt BIGINT NOT NULL,
            id TEXT NOT NULL,
            worker_id TEXT NOT NULL,
            lease_token TEXT NOT NULL,
            lease_expires_at DOUBLE PRECISION NOT NULL,
            heartbeat_at DOUBLE PRECISION NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION,
            outcome TEXT,
            settled_by TEXT,
            settled_state TEXT,
            exit_code BIGINT,
            tokens_in BIGINT NOT NULL DEFAULT 0,
            tokens_out BIGINT NOT NULL DEFAULT 0,
            cache_read_tokens BIGINT NOT NULL DEFAULT 0,
            cache_write_tokens BIGINT NOT NULL DEFAULT 0,
            cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
            cost_estimated BOOLEAN NOT NULL DEFAULT false,
            agent_session_id TEXT,
            error TEXT,
            PRIMARY KEY (task_id, attempt)
        ) WITH (fillfactor = 80)
        """,
        """
        CREATE TABLE task_events (
            task_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            time DOUBLE PRECISION NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL,
            PRIMARY KEY (task_id, seq)
        )
        """,
        // Moves append their hook events here, with no lock shared between writers; the
        // sequencer (PostgresTaskStore.sequenceHooks) moves committed rows into hook_events in id
        // order, numbering them from the hook_stream row under its lock. A sequence in the moves
        // themselves would leave gaps on rollback and could commit out of order, and a counter
        // row taken by every move made all writers' commits queue behind each other.
        """
        CREATE TABLE hook_pending (
            id BIGSERIAL PRIMARY KEY,
            time DOUBLE PRECISION NOT NULL,
            task_id TEXT NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE hook_events (
            seq BIGINT PRIMARY KEY,
            time DOUBLE PRECISION NOT NULL,
            task_id TEXT NOT NULL,
            type TEXT NOT NULL,
            data TEXT NOT NULL
        )
        """,
        // One row: the last seq given out by the sequencer.
        """
        CREATE TABLE hook_stream (
            id BIGINT PRIMARY KEY CHECK (id = 1),
            seq BIGINT NOT NULL
        )
        """,
        // Runs started, succeeded and failed, in 64 rows: a statement adds to the row of its
        // server process (pid % 64), so concurrent writers rarely wait for each other; readers sum.
        """
        CREATE TABLE run_totals (
            shard INT PRIMARY KEY,
            started BIGINT NOT NULL,
            succeeded BIGINT NOT NULL,
            failed BIGINT NOT NULL
        )
        """,
        // body is the checkpoint's full JSON form; the other columns copy it for filtering.
        """
        CREATE TABLE checkpoints (
            id TEXT PRIMARY KEY,
            agent TEXT NOT NULL,
            session_id TEXT,
            task_id TEXT,
            phase TEXT NOT NULL,
            status TEXT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            archived_at DOUBLE PRECISION,
            body TEXT NOT NULL
        )
        """,
        "CREATE INDEX checkpoints_agent ON checkpoints (agent, status, updated_at) WHERE archived_at IS NULL",
        "CREATE INDEX checkpoints_task ON checkpoints (task_id, updated_at) WHERE task_id IS NOT NULL",
        "CREATE INDEX checkpoints_session ON checkpoints (session_id, updated_at) WHERE session_id IS NOT NULL",
        "CREATE INDEX checkpoints_updated ON checkpoints (updated_at)",
        """
        CREATE TABLE quarantined_checkpoints (
            seq BIGSERIAL PRIMARY KEY,
            file_name TEXT NOT NULL,
            quarantined_path TEXT NOT NULL,
            error TEXT NOT NULL,
            agent TEXT NOT NULL,
            task_id TEXT,
            time DOUBLE PRECISION NOT NULL
        )
        """,
        """
        CREATE TABLE memories (
            workspace_id TEXT NOT NULL,
            agent TEXT NOT NULL,
            key TEXT NOT NULL,
            summary TEXT NOT NULL,
            version BIGINT NOT NULL,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (workspace_id, agent, key)
        )
        """,
        "INSERT INTO hook_stream (id, seq) VALUES (1, 0)",
        "INSERT INTO run_totals (shard, started, succeeded, failed) SELECT shard, 0, 0, 0 FROM generate_series(0, 63) AS shard",
    ]
}
