import Foundation
import HTTPTypes
import Hummingbird
import Nightshift

/// The session routes: agents' checkpoints (`/v1/checkpoints…`) and memories
/// (`/v1/agents/{name}/memories…`), served through the request's workspace: the workspace comes
/// from the token, never from the request.
extension APIServer {

    /// The handler of a session route.
    func sessionHandler(_ method: HTTPRequest.Method, _ path: String) -> Handler {
        switch (method, path) {
        case (.get, "/v1/checkpoints"): listCheckpoints
        case (.post, "/v1/checkpoints"): postCheckpoint
        case (.get, "/v1/checkpoints/quarantine"): { request, context in
            let limit = try Self.limit(request, default: 100, maximum: CheckpointQuery.maxLimit)
            let files = try await scope(context).quarantinedCheckpoints(limit: limit)
            return Self.json(["quarantined": .array(files.map(\.json))])
        }
        case (.post, "/v1/checkpoints/cleanup"): { request, context in
            let members = try APIJSON.object(try await Self.body(request))
            try APIJSON.rejectUnknown(members, allowed: ["older_than_days"])
            guard let days = try APIJSON.int(members, "older_than_days"), days >= 1 else {
                throw NightshiftError.invalid("older_than_days", "is required (a number of days ≥ 1)")
            }
            return Self.json(["archived": .int(Int64(try await scope(context).cleanupCheckpoints(olderThanDays: days, now: Date())))])
        }
        case (.get, "/v1/checkpoints/{id}"): { _, context in
            let id = try Self.parameter(context, "id")
            guard let checkpoint = try await scope(context).checkpoint(id: id) else { throw Self.checkpointNotFound(id) }
            return Self.json(checkpoint.json)
        }
        case (.post, "/v1/checkpoints/{id}/resolve"): { _, context in
            Self.json(try await scope(context).resolveCheckpoint(id: try Self.parameter(context, "id"), now: Date()).json)
        }
        case (.get, "/v1/agents/{name}/memories"): { request, context in
            let parameters = request.uri.queryParameters
            try Self.refuseWorkspaceParameter(request)
            let memories = try await scope(context).memories(
                agent: try Self.parameter(context, "name"), prefix: parameters["prefix"].map(String.init))
            return Self.json(["memories": .array(memories.map(\.json))])
        }
        case (.get, "/v1/agents/{name}/memories/{key}"): { request, context in
            let (agent, key) = try Self.memoryAddress(context)
            try Self.refuseWorkspaceParameter(request)
            guard let memory = try await scope(context).memory(agent: agent, key: key) else {
                throw Self.memoryNotFound(agent: agent, key: key)
            }
            return Self.json(memory.json)
        }
        case (.put, "/v1/agents/{name}/memories/{key}"): putMemory
        case (.delete, "/v1/agents/{name}/memories/{key}"): { request, context in
            let (agent, key) = try Self.memoryAddress(context)
            try Self.refuseWorkspaceParameter(request)
            guard try await scope(context).deleteMemory(agent: agent, key: key) else {
                throw Self.memoryNotFound(agent: agent, key: key)
            }
            return Response(status: .noContent)
        }
        default: preconditionFailure("no handler for \(method) \(path)")
        }
    }

    // MARK: Handlers

    private func listCheckpoints(_ request: Request, _ context: APIRequestContext) async throws -> Response {
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
        let checkpoints = try await scope(context).checkpoints(query)
        return Self.json(["checkpoints": .array(checkpoints.map(\.json))])
    }

    private func postCheckpoint(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let store = try scope(context)
        let checkpoint = try SessionCheckpoint.parse(try await Self.body(request), agent: "", sessionID: nil, taskID: nil, now: Date())
        var existed = false
        if !checkpoint.id.isEmpty { existed = try await store.checkpoint(id: checkpoint.id) != nil }
        let saved = try await store.saveCheckpoint(checkpoint)
        return Self.json(saved.json, status: existed ? .ok : .created)
    }

    private func putMemory(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        try Self.refuseWorkspaceParameter(request)
        let (agent, key) = try Self.memoryAddress(context)
        let members = try APIJSON.object(try await Self.body(request))
        if members["workspace"] != nil {
            throw NightshiftError.invalid("workspace", "is not accepted: the workspace is the token's")
        }
        try APIJSON.rejectUnknown(members, allowed: ["summary", "expected_version"])
        let summary = try APIJSON.string(members, "summary", required: true)!
        let expected = try APIJSON.int(members, "expected_version")
        if let expected, expected < 0 {
            throw NightshiftError.invalid("expected_version", "expected an integer ≥ 0 (0: only if the memory does not exist), got \(expected)")
        }
        let memory = try await scope(context).setMemory(agent: agent, key: key, summary: summary, expectedVersion: expected, now: Date())
        return Self.json(memory.json)
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
