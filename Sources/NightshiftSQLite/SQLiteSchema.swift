import Foundation
import GRDB

/// The versioned migrations of the SQLite store. Append new migrations; never edit a shipped one.
enum SQLiteSchema {
    /// The newest schema this binary knows.
    static let migrationIDs = ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17"]

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE agents (
                    name TEXT PRIMARY KEY,
                    runner TEXT NOT NULL,
                    config TEXT NOT NULL,
                    concurrency INTEGER,
                    timeout REAL,
                    max_attempts INTEGER NOT NULL,
                    initial_backoff REAL NOT NULL,
                    max_backoff REAL NOT NULL,
                    budget_usd REAL,
                    spent_usd REAL NOT NULL DEFAULT 0,
                    inject_memories INTEGER NOT NULL DEFAULT 0,
                    updated_at REAL NOT NULL
                );
                CREATE TABLE lanes (
                    name TEXT PRIMARY KEY,
                    concurrency INTEGER NOT NULL
                );
                CREATE TABLE tasks (
                    id TEXT PRIMARY KEY,
                    workspace_id TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    prompt TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    priority INTEGER NOT NULL,
                    lane TEXT,
                    labels TEXT NOT NULL,
                    origin_channel TEXT,
                    origin_session TEXT,
                    idempotency_key TEXT,
                    dedup_key TEXT,
                    budget_usd REAL,
                    timeout REAL,
                    max_attempts INTEGER NOT NULL,
                    initial_backoff REAL NOT NULL,
                    max_backoff REAL NOT NULL,
                    available_at REAL NOT NULL,
                    state TEXT NOT NULL,
                    attempt INTEGER NOT NULL DEFAULT 0,
                    failures INTEGER NOT NULL DEFAULT 0,
                    run_id TEXT,
                    lease_token TEXT,
                    lease_expires_at REAL,
                    worker_id TEXT,
                    wake_at REAL,
                    last_seq INTEGER NOT NULL DEFAULT 0,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    finished_at REAL,
                    result TEXT,
                    error TEXT,
                    cost_usd REAL NOT NULL DEFAULT 0,
                    archived_at REAL
                );
                CREATE UNIQUE INDEX tasks_idempotency ON tasks(workspace_id, idempotency_key)
                    WHERE idempotency_key IS NOT NULL;
                CREATE UNIQUE INDEX tasks_dedup ON tasks(workspace_id, dedup_key)
                    WHERE dedup_key IS NOT NULL AND state IN ('queued', 'running', 'waiting', 'paused');
                CREATE INDEX tasks_ready ON tasks(priority, available_at, id) WHERE state = 'queued';
                CREATE INDEX tasks_running ON tasks(lease_expires_at) WHERE state = 'running';
                CREATE INDEX tasks_waking ON tasks(wake_at) WHERE state = 'waiting' AND wake_at IS NOT NULL;
                CREATE INDEX tasks_created ON tasks(workspace_id, created_at, id);

                -- Keyed by (task_id, attempt) without a rowid: one b-tree per run instead of three
                -- (rowid table, id index, task index). Every lookup knows the task.
                CREATE TABLE runs (
                    task_id TEXT NOT NULL,
                    attempt INTEGER NOT NULL,
                    id TEXT NOT NULL,
                    worker_id TEXT NOT NULL,
                    lease_token TEXT NOT NULL,
                    lease_expires_at REAL NOT NULL,
                    heartbeat_at REAL NOT NULL,
                    started_at REAL NOT NULL,
                    finished_at REAL,
                    outcome TEXT,
                    settled_by TEXT,
                    settled_state TEXT,
                    exit_code INTEGER,
                    tokens_in INTEGER NOT NULL DEFAULT 0,
                    tokens_out INTEGER NOT NULL DEFAULT 0,
                    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
                    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
                    cost_usd REAL NOT NULL DEFAULT 0,
                    cost_estimated INTEGER NOT NULL DEFAULT 0,
                    agent_session_id TEXT,
                    error TEXT,
                    PRIMARY KEY (task_id, attempt)
                ) WITHOUT ROWID;

                CREATE TABLE task_events (
                    task_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    time REAL NOT NULL,
                    type TEXT NOT NULL,
                    data TEXT NOT NULL,
                    PRIMARY KEY (task_id, seq)
                ) WITHOUT ROWID;

                -- seq is the rowid: max + 1 on insert, so gap-free and increasing while the newest row
                -- is kept (retention trims the oldest). AUTOINCREMENT would add a write per event.
                CREATE TABLE hook_events (
                    seq INTEGER PRIMARY KEY,
                    time REAL NOT NULL,
                    task_id TEXT NOT NULL,
                    type TEXT NOT NULL,
                    data TEXT NOT NULL
                );

                CREATE TABLE state_counts (
                    state TEXT PRIMARY KEY,
                    n INTEGER NOT NULL
                );
                -- Runs started, succeeded and failed since the store was created (for status).
                CREATE TABLE run_counts (
                    kind TEXT PRIMARY KEY,
                    n INTEGER NOT NULL
                );
                INSERT INTO run_counts (kind, n) VALUES ('started', 0), ('succeeded', 0), ('failed', 0);

                INSERT INTO state_counts (state, n) VALUES
                    ('queued', 0), ('running', 0), ('waiting', 0), ('paused', 0),
                    ('done', 0), ('error', 0), ('cancelled', 0), ('dropped', 0);

                -- body is the checkpoint's full JSON form; the other columns copy it for filtering.
                CREATE TABLE checkpoints (
                    id TEXT PRIMARY KEY,
                    agent TEXT NOT NULL,
                    session_id TEXT,
                    task_id TEXT,
                    phase TEXT NOT NULL,
                    status TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    archived_at REAL,
                    body TEXT NOT NULL
                );
                CREATE INDEX checkpoints_agent ON checkpoints(agent, status, updated_at) WHERE archived_at IS NULL;
                CREATE INDEX checkpoints_task ON checkpoints(task_id, updated_at) WHERE task_id IS NOT NULL;
                CREATE INDEX checkpoints_session ON checkpoints(session_id, updated_at) WHERE session_id IS NOT NULL;
                CREATE INDEX checkpoints_updated ON checkpoints(updated_at);

                CREATE TABLE quarantined_checkpoints (
                    seq INTEGER PRIMARY KEY,
                    file_name TEXT NOT NULL,
                    quarantined_path TEXT NOT NULL,
                    error TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    task_id TEXT,
                    time REAL NOT NULL
                );

                CREATE TABLE memories (
                    workspace_id TEXT NOT NULL,
                    agent TEXT NOT NULL,
                    key TEXT NOT NULL,
                    summary TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (workspace_id, agent, key)
                );
                """)
        }
        // v2: a task's totals over its runs (tokens, turns, run time, beside its cost); a run's
        // turns and warnings.
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE tasks ADD COLUMN tokens_in INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE tasks ADD COLUMN tokens_out INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE tasks ADD COLUMN cache_read_tokens INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE tasks ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE tasks ADD COLUMN turns INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE tasks ADD COLUMN run_seconds REAL NOT NULL DEFAULT 0;
                ALTER TABLE runs ADD COLUMN turns INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE runs ADD COLUMN warnings TEXT;
                """)
        }
        // v3: runs lost to the node, counted apart from the agent's failures; the agent process
        // of a run (boot id, pid and start time), so a restarted node can kill what it left; a
        // row per node that readiness writes.
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                ALTER TABLE tasks ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE runs ADD COLUMN agent_process TEXT;
                CREATE TABLE write_probes (node TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
                """)
        }
        // v4: the times in `state` events (`wake_at`, `resets_at`) become RFC 3339 text, as
        // they are written now and as the API answers every time; they were seconds since 1970.
        migrator.registerMigration("v4") { db in
            for key in ["wake_at", "resets_at"] {
                try db.execute(sql: """
                    UPDATE task_events
                    SET data = json_set(data, '$.\(key)', strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(data, '$.\(key)'), 'unixepoch'))
                    WHERE type = 'state' AND json_type(data, '$.\(key)') IN ('integer', 'real')
                    """)
            }
        }
        // v5: workspaces and their API tokens (SHA-256 digests only); every row a user owns
        // carries its workspace (existing rows: their task's, else 'default'); agents and lanes are
        // per workspace, and an agent is its JSON document plus the columns SQL reads (claims: the
        // concurrency limit; submits: the task defaults; settles: the budget and what was spent),
        // so a new agent field needs no migration.
        migrator.registerMigration("v5") { db in
            let now = Date().timeIntervalSince1970
            try db.execute(sql: """
                CREATE TABLE workspaces (id TEXT PRIMARY KEY, created_at REAL NOT NULL) WITHOUT ROWID;
                INSERT INTO workspaces (id, created_at)
                    SELECT 'default', ?1 UNION SELECT DISTINCT workspace_id, ?1 FROM tasks
                    UNION SELECT DISTINCT workspace_id, ?1 FROM memories;
                CREATE TABLE api_tokens (
                    id TEXT PRIMARY KEY,
                    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
                    role TEXT NOT NULL,
                    name TEXT NOT NULL,
                    digest TEXT NOT NULL UNIQUE,
                    created_at REAL NOT NULL,
                    revoked_at REAL
                );
                CREATE INDEX api_tokens_workspace ON api_tokens(workspace_id, created_at);

                CREATE TABLE agents_v5 (
                    workspace_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    document TEXT NOT NULL,
                    concurrency INTEGER,
                    timeout REAL,
                    max_attempts INTEGER NOT NULL,
                    initial_backoff REAL NOT NULL,
                    max_backoff REAL NOT NULL,
                    budget_usd REAL,
                    spent_usd REAL NOT NULL DEFAULT 0,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (workspace_id, name)
                );
                INSERT INTO agents_v5 (workspace_id, name, document, concurrency, timeout, max_attempts, initial_backoff,
                    max_backoff, budget_usd, spent_usd, updated_at)
                SELECT 'default', name, json_object(
                        'workspaceID', 'default', 'name', name, 'runner', runner, 'config', json(config),
                        'concurrency', concurrency, 'timeout', timeout,
                        'retry', json_object('maxAttempts', max_attempts, 'initialBackoff', initial_backoff, 'maxBackoff', max_backoff),
                        'budgetUSD', budget_usd, 'injectMemories', json(CASE WHEN inject_memories THEN 'true' ELSE 'false' END)),
                    concurrency, timeout, max_attempts, initial_backoff, max_backoff, budget_usd, spent_usd, updated_at
                FROM agents;
                DROP TABLE agents;
                ALTER TABLE agents_v5 RENAME TO agents;

                CREATE TABLE lanes_v5 (
                    workspace_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    concurrency INTEGER NOT NULL,
                    PRIMARY KEY (workspace_id, name)
                );
                INSERT INTO lanes_v5 (workspace_id, name, concurrency) SELECT 'default', name, concurrency FROM lanes;
                DROP TABLE lanes;
                ALTER TABLE lanes_v5 RENAME TO lanes;

                ALTER TABLE runs ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'default';
                ALTER TABLE task_events ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'default';
                ALTER TABLE hook_events ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'default';
                ALTER TABLE checkpoints ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'default';
                ALTER TABLE quarantined_checkpoints ADD COLUMN workspace_id TEXT NOT NULL DEFAULT 'default';
                """, arguments: [now])
            for table in ["runs", "task_events", "hook_events", "checkpoints", "quarantined_checkpoints"] {
                try db.execute(sql: """
                    UPDATE \(table) SET workspace_id = tasks.workspace_id FROM tasks
                    WHERE tasks.id = \(table).task_id AND tasks.workspace_id <> 'default'
                    """)
            }
            try db.execute(sql: """
                DROP INDEX checkpoints_agent;
                CREATE INDEX checkpoints_agent ON checkpoints(workspace_id, agent, status, updated_at) WHERE archived_at IS NULL;
                """)
        }
        migrator.registerMigration("v6") { db in
            // The task inbox (issue 17): inputs in order per task, what a waiting task waits for,
            // and a count of the inputs not yet delivered (read by every settle with the facts);
            // subtasks: a task's parent and its depth in the tree.
            try db.execute(sql: """
                ALTER TABLE tasks ADD COLUMN pending_inputs INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE tasks ADD COLUMN waiting_for TEXT;
                ALTER TABLE tasks ADD COLUMN parent_id TEXT;
                ALTER TABLE agents ADD COLUMN ask TEXT;
                ALTER TABLE tasks ADD COLUMN subtask_depth INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX tasks_parent ON tasks(parent_id, id) WHERE parent_id IS NOT NULL;
                CREATE TABLE task_inputs (
                    task_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    id TEXT NOT NULL UNIQUE,
                    workspace_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    text TEXT,
                    decisions TEXT,
                    sender TEXT NOT NULL,
                    idempotency_key TEXT,
                    created_at REAL NOT NULL,
                    delivery TEXT NOT NULL DEFAULT 'pending',
                    delivered_at REAL,
                    run_id TEXT,
                    PRIMARY KEY (task_id, seq)
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX task_inputs_key ON task_inputs(task_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
                """)
        }
        migrator.registerMigration("v7") { db in
            // A task's own ask policy (issue 17's `on-miss`), read by each run; NULL: its agent's.
            try db.execute(sql: "ALTER TABLE tasks ADD COLUMN ask TEXT")
        }
        migrator.registerMigration("v8") { db in
            // Schedules (issue 18): each fires when next_run_at comes (an index keeps the poll
            // cheap whatever their number); a fired task carries its schedule and occurrence.
            try db.execute(sql: """
                ALTER TABLE tasks ADD COLUMN schedule_id TEXT;
                ALTER TABLE tasks ADD COLUMN scheduled_for REAL;
                CREATE INDEX tasks_schedule ON tasks(schedule_id, id) WHERE schedule_id IS NOT NULL;
                CREATE TABLE schedules (
                    id TEXT PRIMARY KEY,
                    workspace_id TEXT NOT NULL,
                    name TEXT,
                    cron TEXT NOT NULL,
                    timezone TEXT NOT NULL,
                    task TEXT NOT NULL,
                    starts_at REAL,
                    ends_at REAL,
                    missed TEXT NOT NULL,
                    overlap TEXT NOT NULL,
                    paused INTEGER NOT NULL DEFAULT 0,
                    next_run_at REAL,
                    last_run_at REAL,
                    last_task_id TEXT,
                    last_error TEXT,
                    source TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE UNIQUE INDEX schedules_name ON schedules(workspace_id, name) WHERE name IS NOT NULL;
                CREATE INDEX schedules_due ON schedules(next_run_at) WHERE next_run_at IS NOT NULL;
                """)
        }
        migrator.registerMigration("v9") { db in
            // Pacing (issue 18): an agent's rate and quota group as columns claims read (the
            // document keeps them too), its token bucket (tokens at rate_at; NULL: full), and the
            // parks of quota groups, whose rows outlive a park to keep the default-park streak.
            try db.execute(sql: """
                ALTER TABLE agents ADD COLUMN quota_group TEXT;
                ALTER TABLE agents ADD COLUMN rate_limit INTEGER;
                ALTER TABLE agents ADD COLUMN rate_window REAL;
                ALTER TABLE agents ADD COLUMN rate_tokens REAL;
                ALTER TABLE agents ADD COLUMN rate_at REAL;
                CREATE TABLE quota_parks (
                    workspace_id TEXT NOT NULL,
                    quota_group TEXT NOT NULL,
                    parked_until REAL NOT NULL,
                    reason TEXT NOT NULL,
                    parked_at REAL NOT NULL,
                    streak INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (workspace_id, quota_group)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v10") { db in
            // Hook consumers (issue 19): a named reader's durable ack per workspace; a consumer
            // reads its workspace's events, so the stream gets an index by workspace.
            try db.execute(sql: """
                CREATE TABLE hook_consumers (
                    workspace_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    ack_seq INTEGER NOT NULL DEFAULT 0,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (workspace_id, name)
                ) WITHOUT ROWID;
                CREATE INDEX hook_events_workspace ON hook_events(workspace_id, seq);
                """)
        }
        migrator.registerMigration("v11") { db in
            // Per-run telemetry (issue 19): a run's tool calls by tool (a JSON object's text, NULL
            // for none), and the finished runs by workspace and finish time, which an agent's stats
            // read a range of.
            try db.execute(sql: """
                ALTER TABLE runs ADD COLUMN tool_calls TEXT;
                CREATE INDEX runs_finished ON runs(workspace_id, finished_at) WHERE finished_at IS NOT NULL;
                """)
        }
        migrator.registerMigration("v12") { db in
            // Webhooks (issue 19): each a consumer of its workspace's hook stream with a cursor,
            // the attempts at its head event, and the lease of the node that delivers it; its
            // delivery log (dead letters are its `dead` rows). A channel binding is a webhook with
            // the origin channel it tells and the format it writes; a task's origin may name a
            // thread and opt out of notifications.
            try db.execute(sql: """
                ALTER TABLE tasks ADD COLUMN origin_thread TEXT;
                ALTER TABLE tasks ADD COLUMN origin_notify INTEGER;
                CREATE TABLE webhooks (
                    workspace_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    url TEXT NOT NULL,
                    events TEXT NOT NULL,
                    secret TEXT NOT NULL,
                    enabled INTEGER NOT NULL,
                    max_attempts INTEGER NOT NULL,
                    initial_backoff REAL NOT NULL,
                    max_backoff REAL NOT NULL,
                    timeout REAL NOT NULL,
                    channel TEXT,
                    format TEXT NOT NULL DEFAULT 'event',
                    cursor INTEGER NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL,
                    last_error TEXT,
                    delivered INTEGER NOT NULL DEFAULT 0,
                    dead INTEGER NOT NULL DEFAULT 0,
                    lease_owner TEXT,
                    lease_expires_at REAL,
                    source TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (workspace_id, name)
                ) WITHOUT ROWID;
                CREATE TABLE webhook_deliveries (
                    id INTEGER PRIMARY KEY,
                    workspace_id TEXT NOT NULL,
                    webhook TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    attempt INTEGER NOT NULL,
                    delivery_id TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    http_status INTEGER,
                    error TEXT,
                    duration REAL NOT NULL,
                    time REAL NOT NULL
                );
                CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(workspace_id, webhook, id);
                CREATE INDEX webhook_deliveries_time ON webhook_deliveries(time);
                """)
        }
        migrator.registerMigration("v13") { db in
            // Workflow steps (issue 20): each ended step of a workflow task, by position, with
            // its output (JSON text) for replay. Scoped through its task.
            try db.execute(sql: """
                CREATE TABLE task_steps (
                    task_id TEXT NOT NULL,
                    position INTEGER NOT NULL,
                    name TEXT NOT NULL,
                    state TEXT NOT NULL,
                    output TEXT,
                    error TEXT,
                    attempts INTEGER NOT NULL,
                    run_id TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    finished_at REAL NOT NULL,
                    PRIMARY KEY (task_id, position)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v14") { db in
            // Work detectors (issue 20): each detector's last scan, next scan and scan lease.
            try db.execute(sql: """
                CREATE TABLE detectors (
                    workspace_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    lease_owner TEXT,
                    lease_expires_at REAL,
                    next_scan_at REAL,
                    last_scan_at REAL,
                    last_found INTEGER,
                    last_submitted INTEGER,
                    last_error TEXT,
                    scans INTEGER NOT NULL DEFAULT 0,
                    PRIMARY KEY (workspace_id, name)
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v15") { db in
            // Workflow pause and progress (issue 20): a person's pause request on a running task,
            // seen by its run between steps; the step names a workflow declares (JSON array text),
            // for progress and for the steps a cancel marks skipped.
            try db.execute(sql: """
                ALTER TABLE tasks ADD COLUMN pause_requested INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE tasks ADD COLUMN steps_declared TEXT;
                """)
        }
        migrator.registerMigration("v16") { db in
            // Isolation (issue 21): a task's own execution policy over its agent's (JSON object
            // text); NULL: its agent's. An agent's repository lane (`Agent.repoLane`), read by submits.
            try db.execute(sql: "ALTER TABLE tasks ADD COLUMN policy TEXT")
            try db.execute(sql: "ALTER TABLE agents ADD COLUMN repo_lane TEXT")
        }
        migrator.registerMigration("v17") { db in
            // Tracing (issue 22): the W3C traceparent of a task's submit span; its runs' spans are
            // its children. NULL: not traced.
            try db.execute(sql: "ALTER TABLE tasks ADD COLUMN trace_parent TEXT")
        }
        return migrator
    }
}
