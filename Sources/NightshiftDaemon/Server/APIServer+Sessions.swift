import Foundation
import Hummingbird
import Nightshift

/// The session routes: agents' checkpoints (`/v1/checkpoints…`) and memories
/// (`/v1/agents/{name}/memories…`), served through the request's workspace: the workspace comes
/// from the token, never from the request.
extension APIServer {

    // MARK: Checkpoints

    func listCheckpoints(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        var query = CheckpointQuery(agent: parameters["agent"].map(String.init), now: Date())
        if let status = parameters["status"] {
            guard let known = CheckpointStatus(rawValue: String(status)) else {
                throw NightshiftError.invalid("status", "expected active or resolved, got '\(status)'")
            }
            query.status = known
        }
        if let text = parameters["max_age"] {
            guard let seconds = Self.age(String(text)), seconds > 0 else {
                throw NightshiftError.invalid("max_age", "expected a duration > 0 like 7d, 12h, 30m, 3600s or 3600, got '\(text)'")
            }
            query.maxAge = seconds
        }
        if let text = parameters["task_id"] {
            guard let id = TaskID(String(text)) else { throw NightshiftError.invalid("task_id", "expected a task id, got '\(text)'") }
            query.taskID = id
        }
        switch parameters["include_archived"] {
        case nil, "false": break
        case "true": query.includeArchived = true
        case let other?: throw NightshiftError.invalid("include_archived", "expected true or false, got '\(other)'")
        }
        query.limit = try Self.limit(request, default: 100, maximum: CheckpointQuery.maxLimit)
        return Self.reply(WireCheckpointList(checkpoints: try await scope(context).checkpoints(query)))
    }

    func postCheckpoint(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let checkpoint = try SessionCheckpoint.parse(try await Self.body(request), agent: "", sessionID: nil, taskID: nil, now: Date())
        let saved = try await scope(context).saveCheckpoint(checkpoint)
        return Self.reply(saved.checkpoint, status: saved.created ? .created : .ok)
    }

    func quarantine(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let limit = try Self.limit(request, default: 100, maximum: CheckpointQuery.maxLimit)
        let files = try await scope(context).quarantinedCheckpoints(limit: limit)
        return Self.reply(WireQuarantineList(quarantined: files.map(WireQuarantined.init)))
    }

    func cleanupCheckpoints(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        guard let days = try WireCleanup(body: try await Self.body(request)).olderThanDays, days >= 1 else {
            throw NightshiftError.invalid("older_than_days", "is required (a number of days ≥ 1)")
        }
        return Self.reply(WireCleanupResult(archived: try await scope(context).cleanupCheckpoints(olderThanDays: days)))
    }

    func checkpoint(_ context: APIRequestContext) async throws -> Response {
        let id = try Self.parameter(context, "id")
        guard let checkpoint = try await scope(context).checkpoint(id: id) else { throw Self.checkpointNotFound(id) }
        return Self.reply(checkpoint)
    }

    func resolveCheckpoint(_ context: APIRequestContext) async throws -> Response {
        return Self.reply(try await scope(context).resolveCheckpoint(id: try Self.parameter(context, "id")))
    }

    // MARK: Memories

    func listMemories(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        try Self.refuseWorkspaceParameter(request)
        let memories = try await scope(context).memories(
            agent: try Self.parameter(context, "name"), prefix: request.uri.queryParameters["prefix"].map(String.init))
        return Self.reply(WireMemoryList(memories: memories))
    }

    func memory(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let (agent, key) = try Self.memoryAddress(context)
        try Self.refuseWorkspaceParameter(request)
        guard let memory = try await scope(context).memory(agent: agent, key: key) else {
            throw Self.memoryNotFound(agent: agent, key: key)
        }
        return Self.reply(memory)
    }

    func putMemory(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let (agent, key) = try Self.memoryAddress(context)
        let write = try WireMemoryWrite(body: try await Self.body(request))
        if let expected = write.expectedVersion, expected < 0 {
            throw NightshiftError.invalid("expected_version", "expected an integer ≥ 0 (0: only if the memory does not exist), got \(expected)")
        }
        try Self.refuseWorkspaceParameter(request)
        let memory = try await scope(context).setMemory(agent: agent, key: key, summary: write.summary, expectedVersion: write.expectedVersion)
        return Self.reply(memory)
    }

    func deleteMemory(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let (agent, key) = try Self.memoryAddress(context)
        try Self.refuseWorkspaceParameter(request)
        guard try await scope(context).deleteMemory(agent: agent, key: key) else {
            throw Self.memoryNotFound(agent: agent, key: key)
        }
        return Response(status: .noContent)
    }

    // MARK: Helpers

    /// Seconds in an age: `7d`, `1d12h` or anything ``NightshiftConfig/parseDuration(_:)`` reads.
    static func age(_ text: String) -> Double? {
        guard let dayEnd = text.firstIndex(of: "d") else { return NightshiftConfig.parseDuration(text) }
        guard let days = Double(text[..<dayEnd]), days.isFinite, days >= 0 else { return nil }
        let rest = String(text[text.index(after: dayEnd)...])
        if rest.isEmpty { return days * 86_400 }
        return NightshiftConfig.parseDuration(rest).map { days * 86_400 + $0 }
    }

    /// Refuses `?workspace=`: a request acts in its token's workspace only (422 naming the field,
    /// rather than a silent answer from another workspace than the one asked for).
    private static func refuseWorkspaceParameter(_ request: Request) throws {
        guard request.uri.queryParameters["workspace"] != nil else { return }
        throw NightshiftError.invalid("workspace", "is not accepted: the workspace is the token's")
    }

    /// The agent and the percent-decoded key of a memory route.
    private static func memoryAddress(_ context: APIRequestContext) throws -> (agent: String, key: String) {
        (try parameter(context, "name"), try parameter(context, "key"))
    }

    private static func checkpointNotFound(_ id: String) -> NightshiftError {
        NightshiftError(.notFound, "no checkpoint with id \(id)", field: "id")
    }

    private static func memoryNotFound(agent: String, key: String) -> NightshiftError {
        NightshiftError(.notFound, "agent '\(agent)' has no memory '\(key)'", field: "key")
    }
}
