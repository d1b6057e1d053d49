import Foundation
import Hummingbird
import Nightshift

/// The session routes: agents' checkpoints (`/v1/checkpoints…`) and memories
/// (`/v1/agents/{name}/memories…`), served from the engine's store.
extension APIServer {
    /// The store's checkpoints and memories.
    var sessions: any CheckpointStore & MemoryStore { engine.store }

    // MARK: Checkpoints

    func listCheckpoints(_ request: Request) async throws -> Response {
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
        return Self.reply(WireCheckpointList(checkpoints: try await sessions.checkpoints(query)))
    }

    func postCheckpoint(_ request: Request) async throws -> Response {
        let checkpoint = try SessionCheckpoint.parse(try await Self.body(request), agent: "", sessionID: nil, taskID: nil, now: Date())
        let saved = try await engine.saveCheckpoint(checkpoint)
        return Self.reply(saved.checkpoint, status: saved.created ? .created : .ok)
    }

    func quarantine(_ request: Request) async throws -> Response {
        let limit = try Self.limit(request, default: 100, maximum: CheckpointQuery.maxLimit)
        let files = try await sessions.quarantinedCheckpoints(limit: limit)
        return Self.reply(WireQuarantineList(quarantined: files.map(WireQuarantined.init)))
    }

    func cleanupCheckpoints(_ request: Request) async throws -> Response {
        guard let days = try WireCleanup(body: try await Self.body(request)).olderThanDays, days >= 1 else {
            throw NightshiftError.invalid("older_than_days", "is required (a number of days ≥ 1)")
        }
        return Self.reply(WireCleanupResult(archived: try await engine.cleanupCheckpoints(olderThanDays: days)))
    }

    func checkpoint(_ context: APIRequestContext) async throws -> Response {
        let id = try Self.parameter(context, "id")
        guard let checkpoint = try await sessions.checkpoint(id: id) else { throw Self.checkpointNotFound(id) }
        return Self.reply(checkpoint)
    }

    func resolveCheckpoint(_ context: APIRequestContext) async throws -> Response {
        return Self.reply(try await engine.resolveCheckpoint(id: try Self.parameter(context, "id")))
    }

    // MARK: Memories

    func listMemories(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let memories = try await sessions.memories(
            workspace: try Self.workspace(request), agent: try Self.parameter(context, "name"),
            prefix: request.uri.queryParameters["prefix"].map(String.init))
        return Self.reply(WireMemoryList(memories: memories))
    }

    func memory(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let (agent, key) = try Self.memoryAddress(context)
        guard let memory = try await sessions.memory(workspace: try Self.workspace(request), agent: agent, key: key) else {
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
        let memory = try await engine.setMemory(
            workspace: try write.workspace ?? Self.workspace(request), agent: agent, key: key,
            summary: write.summary, expectedVersion: write.expectedVersion)
        return Self.reply(memory)
    }

    func deleteMemory(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let (agent, key) = try Self.memoryAddress(context)
        guard try await engine.deleteMemory(workspace: try Self.workspace(request), agent: agent, key: key) else {
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

    private static func limit(_ request: Request, default value: Int, maximum: Int) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return value }
        guard let limit = Int(text), (1...maximum).contains(limit) else {
            throw NightshiftError.invalid("limit", "expected an integer from 1 to \(maximum), got '\(text)'")
        }
        return limit
    }

    private static func workspace(_ request: Request) throws -> String {
        guard let text = request.uri.queryParameters["workspace"] else { return Memory.defaultWorkspace }
        guard !text.isEmpty else { throw NightshiftError.invalid("workspace", "expected a non-empty workspace id") }
        return String(text)
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
