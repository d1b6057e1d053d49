import Foundation
import GRDB
import Nightshift

/// Reading domain values from rows. The columns are those of `SQLiteSchema`.
enum SQLiteRows {
    static func date(_ value: Double?) -> Date? {
        value.map { Date(timeIntervalSince1970: $0) }
    }

    /// The task columns, in the order ``task(_:)`` reads them by position (GRDB's lookup by name
    /// lower-cases every column name on each access, a cost paid for every claimed task).
    static let taskColumns = """
        id, workspace_id, agent, prompt, payload, priority, lane, labels, origin_channel, origin_session, \
        idempotency_key, dedup_key, budget_usd, timeout, max_attempts, initial_backoff, max_backoff, available_at, \
        state, attempt, failures, created_at, updated_at, finished_at, result, error, cost_usd, run_id, lease_token, last_seq, archived_at, \
        tokens_in, tokens_out, cache_read_tokens, cache_write_tokens, turns, run_seconds, interruptions, \
        waiting_for, pending_inputs, parent_id, subtask_depth, ask, schedule_id, scheduled_for, origin_thread, origin_notify, policy, trace_parent
        """

    /// The task with this id, if any (and if it is `workspace`'s, when one is given).
    static func task(_ id: TaskID, workspace: String? = nil, in db: Database) throws -> AgentTask? {
        if let workspace {
            return try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(taskColumns) FROM tasks WHERE id = ? AND workspace_id = ?"),
                arguments: [id.rawValue, workspace]
            ).map(task)
        }
        return try Row.fetchOne(db.cachedStatement(sql: "SELECT \(taskColumns) FROM tasks WHERE id = ?"), arguments: [id.rawValue])
            .map(task)
    }

    static func task(_ row: Row) throws -> AgentTask {
        let channel: String? = row[8]
        var task = AgentTask(
            id: TaskID(trusted: row[0]),
            workspaceID: row[1],
            agent: row[2],
            prompt: row[3],
            payload: try JSONValue(jsonText: row[4]),
            priority: row[5],
            lane: row[6],
            labels: try JSONValue(jsonText: row[7]).arrayStrings,
            origin: channel.map { Origin(channel: $0, session: row[9], thread: row[45], notify: (row[46] as Bool?) ?? true) },
            idempotencyKey: row[10],
            dedupKey: row[11],
            budgetUSD: row[12],
            timeout: row[13],
            retry: RetryPolicy(maxAttempts: row[14], initialBackoff: row[15], maxBackoff: row[16]),
            availableAt: Date(timeIntervalSince1970: row[17]),
            state: try state(row[18]),
            attempt: row[19],
            failures: row[20],
            createdAt: Date(timeIntervalSince1970: row[21]),
            updatedAt: Date(timeIntervalSince1970: row[22]),
            finishedAt: date(row[23]),
            result: row[24],
            error: row[25],
            costUSD: row[26],
            archivedAt: date(row[30]),
            totals: TaskTotals(
                tokensIn: row[31], tokensOut: row[32], cacheReadTokens: row[33], cacheWriteTokens: row[34], turns: row[35],
                runSeconds: row[36]),
            interruptions: row[37],
            waitingFor: try WaitingFor.decode(row[38]),
            pendingInputs: row[39],
            parentID: (row[40] as String?).map(TaskID.init(trusted:)),
            subtaskDepth: row[41],
            ask: (row[42] as String?).flatMap(AskPolicy.init(rawValue:)),
            scheduleID: row[43],
            scheduledFor: date(row[44]),
            policy: try (row[47] as String?).map { try ExecutionPolicy(json: JSONValue(jsonText: $0)) }
        )
        task.traceParent = row[48]
        return task
    }

    /// The columns of `task_inputs`, in the order ``input(_:taskState:)`` reads them.
    static let inputColumns = """
        task_id, seq, id, workspace_id, kind, text, decisions, sender, idempotency_key, created_at, delivery, delivered_at, run_id
        """

    /// An input read with ``inputColumns``; a pending one of a task that has ended (`taskState`)
    /// is `superseded`.
    static func input(_ row: Row, taskState: TaskState? = nil) throws -> TaskInput {
        let decisions: String? = row[6]
        var delivery = InputDelivery(rawValue: row[10]) ?? .pending
        if delivery == .pending, taskState?.isTerminal == true { delivery = .superseded }
        return TaskInput(
            id: row[2], taskID: TaskID(trusted: row[0]), workspaceID: row[3], seq: row[1],
            kind: InputKind(rawValue: row[4]) ?? .message, text: row[5], decisions: try decisions.map { try JSONValue(jsonText: $0) },
            sender: row[7], idempotencyKey: row[8], createdAt: Date(timeIntervalSince1970: row[9]), delivery: delivery,
            deliveredAt: date(row[11]), runID: row[12])
    }

    /// The run id and lease token of a row read with ``taskColumns``.
    static func lease(_ row: Row) -> (runID: String?, token: String?) {
        (row[27], row[28])
    }

    /// The seq of the last event of a task read with ``taskColumns``.
    static func lastSeq(_ row: Row) -> Int64 {
        row[29]
    }

    static func state(_ text: String) throws -> TaskState {
        guard let state = TaskState(rawValue: text) else {
            throw NightshiftError(.storeUnavailable, "unknown task state '\(text)' in database")
        }
        return state
    }

    static func step(_ row: Row) throws -> WorkflowStep {
        let state: String = row["state"]
        guard let parsed = WorkflowStep.State(rawValue: state) else {
            throw NightshiftError(.storeUnavailable, "task_steps: unknown state '\(state)'")
        }
        let output: String? = row["output"]
        return WorkflowStep(
            taskID: TaskID(trusted: row["task_id"]), position: row["position"], name: row["name"], state: parsed,
            output: try output.map { try JSONValue(jsonText: $0) }, error: row["error"], attempts: row["attempts"], runID: row["run_id"],
            startedAt: Date(timeIntervalSince1970: row["started_at"]), finishedAt: Date(timeIntervalSince1970: row["finished_at"]))
    }

    static func run(_ row: Row) -> Run {
        var run = Run(
            id: row["id"],
            taskID: TaskID(trusted: row["task_id"]),
            attempt: row["attempt"],
            workerID: row["worker_id"],
            leaseToken: row["lease_token"],
            leaseExpiresAt: Date(timeIntervalSince1970: row["lease_expires_at"]),
            heartbeatAt: Date(timeIntervalSince1970: row["heartbeat_at"]),
            startedAt: Date(timeIntervalSince1970: row["started_at"]),
            finishedAt: date(row["finished_at"]),
            outcome: row["outcome"],
            exitCode: row["exit_code"],
            tokensIn: row["tokens_in"],
            tokensOut: row["tokens_out"],
            cacheReadTokens: row["cache_read_tokens"],
            cacheWriteTokens: row["cache_write_tokens"],
            costUSD: row["cost_usd"],
            costEstimated: row["cost_estimated"],
            agentSessionID: row["agent_session_id"],
            error: row["error"],
            turns: row["turns"],
            warnings: warnings(row["warnings"]),
            toolCalls: RunUsage.toolCalls(fromText: row["tool_calls"])
        )
        if row.hasColumn("agent_process") { run.agentProcess = (row["agent_process"] as String?).flatMap(AgentProcessRecord.init) }
        return run
    }

    /// A run's warnings from their JSON array text (`NULL` when there are none).
    static func warnings(_ text: String?) -> [String] {
        guard let text, let value = try? JSONValue(jsonText: text) else { return [] }
        return value.arrayStrings
    }

    static func event(_ row: Row) throws -> TaskEvent {
        TaskEvent(
            taskID: TaskID(trusted: row["task_id"]),
            seq: row["seq"],
            time: Date(timeIntervalSince1970: row["time"]),
            type: row["type"],
            data: try JSONValue(jsonText: row["data"])
        )
    }

    static func hookEvent(_ row: Row) throws -> HookEvent {
        HookEvent(
            seq: row["seq"],
            time: Date(timeIntervalSince1970: row["time"]),
            taskID: TaskID(trusted: row["task_id"]),
            type: row["type"],
            data: try JSONValue(jsonText: row["data"]),
            workspaceID: row["workspace_id"]
        )
    }

    /// An agent from its row: its document, with the workspace, the name and what it has spent
    /// from their columns (the store keeps those).
    static func agent(_ row: Row) throws -> Agent {
        try AgentDocument.agent(document: row["document"], workspace: row["workspace_id"], name: row["name"], spent: row["spent_usd"])
    }
}

extension JSONValue {
    /// The string members of an array (others skipped).
    var arrayStrings: [String] {
        guard case .array(let values) = self else { return [] }
        return values.compactMap(\.stringValue)
    }
}
