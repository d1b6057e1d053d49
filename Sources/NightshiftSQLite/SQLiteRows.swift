import Foundation
import GRDB
import Nightshift

/// Reading domain values from rows. The columns are those of `SQLiteSchema`.
enum SQLiteRows {
    static func date(_ value: Double?) -> Date? {
        value.map { Date(timeIntervalSince1970: $0) }
    }

    static func task(_ row: Row) throws -> AgentTask {
        let labelsText: String = row["labels"]
        let labels = try JSONValue(jsonText: labelsText)
        let channel: String? = row["origin_channel"]
        return AgentTask(
            id: TaskID(trusted: row["id"]),
            workspaceID: row["workspace_id"],
            agent: row["agent"],
            prompt: row["prompt"],
            payload: try JSONValue(jsonText: row["payload"]),
            priority: row["priority"],
            lane: row["lane"],
            labels: labels.arrayStrings,
            origin: channel.map { Origin(channel: $0, session: row["origin_session"]) },
            idempotencyKey: row["idempotency_key"],
            dedupKey: row["dedup_key"],
            budgetUSD: row["budget_usd"],
            timeout: row["timeout"],
            retry: RetryPolicy(
                maxAttempts: row["max_attempts"], initialBackoff: row["initial_backoff"], maxBackoff: row["max_backoff"]),
            availableAt: Date(timeIntervalSince1970: row["available_at"]),
            state: try state(row["state"]),
            attempt: row["attempt"],
            failures: row["failures"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            updatedAt: Date(timeIntervalSince1970: row["updated_at"]),
            finishedAt: date(row["finished_at"]),
            result: row["result"],
            error: row["error"],
            costUSD: row["cost_usd"]
        )
    }

    static func state(_ text: String) throws -> TaskState {
        guard let state = TaskState(rawValue: text) else {
            throw NightshiftError(.storeUnavailable, "unknown task state '\(text)' in database")
        }
        return state
    }

    static func run(_ row: Row) -> Run {
        Run(
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
            costUSD: row["cost_usd"],
            agentSessionID: row["agent_session_id"],
            error: row["error"]
        )
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
            data: try JSONValue(jsonText: row["data"])
        )
    }

    static func agent(_ row: Row) throws -> Agent {
        Agent(
            name: row["name"],
            runner: RunnerKind(row["runner"] as String),
            config: try JSONValue(jsonText: row["config"]),
            concurrency: row["concurrency"],
            timeout: row["timeout"],
            retry: RetryPolicy(
                maxAttempts: row["max_attempts"], initialBackoff: row["initial_backoff"], maxBackoff: row["max_backoff"])
        )
    }
}

extension JSONValue {
    /// The string members of an array (others skipped).
    var arrayStrings: [String] {
        guard case .array(let values) = self else { return [] }
        return values.compactMap(\.stringValue)
    }
}
