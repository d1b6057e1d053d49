import Foundation
import Nightshift
import PostgresNIO

/// Reading domain values from rows. The columns are those of `PostgresSchema`.
enum PostgresRows {
    /// The task columns that ``task(_:)`` reads.
    static let taskColumns = """
        id, workspace_id, agent, prompt, payload, priority, lane, labels, origin_channel, origin_session, \
        idempotency_key, dedup_key, budget_usd, timeout, max_attempts, initial_backoff, max_backoff, available_at, \
        state, attempt, failures, created_at, updated_at, finished_at, result, error, cost_usd, run_id, lease_token, \
        last_seq, archived_at, tokens_in, tokens_out, cache_read_tokens, cache_write_tokens, turns, run_seconds, interruptions, \
        waiting_for, pending_inputs, parent_id, subtask_depth, ask, schedule_id, scheduled_for, origin_thread, origin_notify, policy, trace_parent
        """

    /// ``taskColumns``, each qualified by the `tasks` table (for a RETURNING beside a join).
    static let qualifiedTaskColumns = taskColumns.split(separator: ",")
        .map { "tasks." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")

    static func date(_ value: Double?) -> Date? {
        value.map { Date(timeIntervalSince1970: $0) }
    }

    static func state(_ text: String) throws -> TaskState {
        guard let state = TaskState(rawValue: text) else {
            throw NightshiftError(.storeUnavailable, "unknown task state '\(text)' in database")
        }
        return state
    }

    static func task(_ row: PostgresRandomAccessRow) throws -> AgentTask {
        let channel = try row["origin_channel"].decode(String?.self)
        var task = AgentTask(
            id: TaskID(trusted: try row["id"].decode(String.self)),
            workspaceID: try row["workspace_id"].decode(String.self),
            agent: try row["agent"].decode(String.self),
            prompt: try row["prompt"].decode(String.self),
            payload: try JSONValue(jsonText: row["payload"].decode(String.self)),
            priority: try row["priority"].decode(Int.self),
            lane: try row["lane"].decode(String?.self),
            labels: try JSONValue(jsonText: row["labels"].decode(String.self)).stringMembers,
            origin: try channel.map {
                Origin(
                    channel: $0, session: try row["origin_session"].decode(String?.self), thread: try row["origin_thread"].decode(String?.self),
                    notify: try row["origin_notify"].decode(Bool?.self) ?? true)
            },
            idempotencyKey: try row["idempotency_key"].decode(String?.self),
            dedupKey: try row["dedup_key"].decode(String?.self),
            budgetUSD: try row["budget_usd"].decode(Double?.self),
            timeout: try row["timeout"].decode(Double?.self),
            retry: try retry(row),
            availableAt: Date(timeIntervalSince1970: try row["available_at"].decode(Double.self)),
            state: try state(row["state"].decode(String.self)),
            attempt: try row["attempt"].decode(Int.self),
            failures: try row["failures"].decode(Int.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)),
            updatedAt: Date(timeIntervalSince1970: try row["updated_at"].decode(Double.self)),
            finishedAt: date(try row["finished_at"].decode(Double?.self)),
            result: try row["result"].decode(String?.self),
            error: try row["error"].decode(String?.self),
            costUSD: try row["cost_usd"].decode(Double.self),
            archivedAt: date(try row["archived_at"].decode(Double?.self)),
            totals: TaskTotals(
                tokensIn: try row["tokens_in"].decode(Int.self), tokensOut: try row["tokens_out"].decode(Int.self),
                cacheReadTokens: try row["cache_read_tokens"].decode(Int.self),
                cacheWriteTokens: try row["cache_write_tokens"].decode(Int.self), turns: try row["turns"].decode(Int.self),
                runSeconds: try row["run_seconds"].decode(Double.self)),
            interruptions: try row["interruptions"].decode(Int.self),
            waitingFor: try WaitingFor.decode(row["waiting_for"].decode(String?.self)),
            pendingInputs: try row["pending_inputs"].decode(Int.self),
            parentID: try row["parent_id"].decode(String?.self).map(TaskID.init(trusted:)),
            subtaskDepth: try row["subtask_depth"].decode(Int.self),
            ask: try row["ask"].decode(String?.self).flatMap(AskPolicy.init(rawValue:)),
            scheduleID: try row["schedule_id"].decode(String?.self),
            scheduledFor: try row["scheduled_for"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
            policy: try row["policy"].decode(String?.self).map { try ExecutionPolicy(json: JSONValue(jsonText: $0)) }
        )
        task.traceParent = try row["trace_parent"].decode(String?.self)
        return task
    }

    /// The facts of a row read with `TaskFacts.columns` (or more).
    static func facts(_ row: PostgresRandomAccessRow) throws -> TaskFacts {
        TaskFacts(
            id: TaskID(trusted: try row["id"].decode(String.self)), agent: try row["agent"].decode(String.self),
            state: try state(row["state"].decode(String.self)), failures: try row["failures"].decode(Int.self),
            retry: try retry(row), runID: try row["run_id"].decode(String?.self), leaseToken: try row["lease_token"].decode(String?.self),
            attempt: try row["attempt"].decode(Int.self), lastSeq: Int64(try row["last_seq"].decode(Int.self)),
            budgetUSD: try row["budget_usd"].decode(Double?.self), costUSD: try row["cost_usd"].decode(Double.self),
            interruptions: try row["interruptions"].decode(Int.self), workspace: try row["workspace_id"].decode(String.self),
            pendingInputs: try row["pending_inputs"].decode(Int.self),
            waitingFor: try WaitingFor.decode(row["waiting_for"].decode(String?.self)),
            // A claim's rows (the task's columns) leave it out: a queued task has no pause request.
            pauseRequested: row.contains("pause_requested") ? try row["pause_requested"].decode(Int.self) != 0 : false)
    }

    /// The columns of `task_inputs` that ``input(_:taskState:)`` reads.
    static let inputColumns = """
        task_id, seq, id, workspace_id, kind, text, decisions, sender, idempotency_key, created_at, delivery, delivered_at, run_id
        """

    /// An input read with ``inputColumns``; a pending one of a task that has ended (`taskState`)
    /// is `superseded`.
    static func input(_ row: PostgresRandomAccessRow, taskState: TaskState? = nil) throws -> TaskInput {
        var delivery = InputDelivery(rawValue: try row["delivery"].decode(String.self)) ?? .pending
        if delivery == .pending, taskState?.isTerminal == true { delivery = .superseded }
        return TaskInput(
            id: try row["id"].decode(String.self), taskID: TaskID(trusted: try row["task_id"].decode(String.self)),
            workspaceID: try row["workspace_id"].decode(String.self), seq: try row["seq"].decode(Int.self),
            kind: InputKind(rawValue: try row["kind"].decode(String.self)) ?? .message, text: try row["text"].decode(String?.self),
            decisions: try row["decisions"].decode(String?.self).map { try JSONValue(jsonText: $0) },
            sender: try row["sender"].decode(String.self), idempotencyKey: try row["idempotency_key"].decode(String?.self),
            createdAt: Date(timeIntervalSince1970: try row["created_at"].decode(Double.self)), delivery: delivery,
            deliveredAt: date(try row["delivered_at"].decode(Double?.self)), runID: try row["run_id"].decode(String?.self))
    }

    static func retry(_ row: PostgresRandomAccessRow) throws -> RetryPolicy {
        RetryPolicy(
            maxAttempts: try row["max_attempts"].decode(Int.self),
            initialBackoff: try row["initial_backoff"].decode(Double.self),
            maxBackoff: try row["max_backoff"].decode(Double.self))
    }

    static func step(_ row: PostgresRandomAccessRow) throws -> WorkflowStep {
        let state = try row["state"].decode(String.self)
        guard let parsed = WorkflowStep.State(rawValue: state) else {
            throw NightshiftError(.storeUnavailable, "task_steps: unknown state '\(state)'")
        }
        return WorkflowStep(
            taskID: TaskID(trusted: try row["task_id"].decode(String.self)), position: try row["position"].decode(Int.self),
            name: try row["name"].decode(String.self), state: parsed,
            output: try row["output"].decode(String?.self).map { try JSONValue(jsonText: $0) }, error: try row["error"].decode(String?.self),
            attempts: try row["attempts"].decode(Int.self), runID: try row["run_id"].decode(String.self),
            startedAt: Date(timeIntervalSince1970: try row["started_at"].decode(Double.self)),
            finishedAt: Date(timeIntervalSince1970: try row["finished_at"].decode(Double.self)))
    }

    static func run(_ row: PostgresRandomAccessRow) throws -> Run {
        var run = Run(
            id: try row["id"].decode(String.self),
            taskID: TaskID(trusted: try row["task_id"].decode(String.self)),
            attempt: try row["attempt"].decode(Int.self),
            workerID: try row["worker_id"].decode(String.self),
            leaseToken: try row["lease_token"].decode(String.self),
            leaseExpiresAt: Date(timeIntervalSince1970: try row["lease_expires_at"].decode(Double.self)),
            heartbeatAt: Date(timeIntervalSince1970: try row["heartbeat_at"].decode(Double.self)),
            startedAt: Date(timeIntervalSince1970: try row["started_at"].decode(Double.self)),
            finishedAt: date(try row["finished_at"].decode(Double?.self)),
            outcome: try row["outcome"].decode(String?.self),
            exitCode: try row["exit_code"].decode(Int?.self),
            tokensIn: try row["tokens_in"].decode(Int.self),
            tokensOut: try row["tokens_out"].decode(Int.self),
            cacheReadTokens: try row["cache_read_tokens"].decode(Int.self),
            cacheWriteTokens: try row["cache_write_tokens"].decode(Int.self),
            costUSD: try row["cost_usd"].decode(Double.self),
            costEstimated: try row["cost_estimated"].decode(Bool.self),
            agentSessionID: try row["agent_session_id"].decode(String?.self),
            error: try row["error"].decode(String?.self),
            turns: try row["turns"].decode(Int.self),
            warnings: try row["warnings"].decode(String?.self).flatMap { try? JSONValue(jsonText: $0) }?.stringMembers ?? [],
            toolCalls: RunUsage.toolCalls(fromText: try row["tool_calls"].decode(String?.self))
        )
        if row.contains("agent_process") { run.agentProcess = try row["agent_process"].decode(String?.self).flatMap(AgentProcessRecord.init) }
        return run
    }

    static func event(_ row: PostgresRandomAccessRow) throws -> TaskEvent {
        TaskEvent(
            taskID: TaskID(trusted: try row["task_id"].decode(String.self)),
            seq: Int64(try row["seq"].decode(Int.self)),
            time: Date(timeIntervalSince1970: try row["time"].decode(Double.self)),
            type: try row["type"].decode(String.self),
            data: try JSONValue(jsonText: row["data"].decode(String.self))
        )
    }

    static func hookEvent(_ row: PostgresRandomAccessRow) throws -> HookEvent {
        HookEvent(
            seq: Int64(try row["seq"].decode(Int.self)),
            time: Date(timeIntervalSince1970: try row["time"].decode(Double.self)),
            taskID: TaskID(trusted: try row["task_id"].decode(String.self)),
            type: try row["type"].decode(String.self),
            data: try JSONValue(jsonText: row["data"].decode(String.self)),
            workspaceID: try row["workspace_id"].decode(String.self)
        )
    }

    /// The agent columns ``agent(_:)`` reads (the document as its text).
    static let agentColumns = "workspace_id, name, document::text AS document, spent_usd"

    /// An agent from its row (read with ``agentColumns``): its document, with the workspace, the
    /// name and what it has spent from their columns.
    static func agent(_ row: PostgresRandomAccessRow) throws -> Agent {
        try AgentDocument.agent(
            document: try row["document"].decode(String.self), workspace: try row["workspace_id"].decode(String.self),
            name: try row["name"].decode(String.self), spent: try row["spent_usd"].decode(Double.self))
    }
}

extension JSONValue {
    /// The string members of an array (others skipped).
    var stringMembers: [String] {
        guard case .array(let values) = self else { return [] }
        return values.compactMap(\.stringValue)
    }
}
