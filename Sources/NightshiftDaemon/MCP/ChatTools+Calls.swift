import Nightshift

extension ChatTools {
    /// How much of a prompt `list_tasks` shows.
    static let promptExcerpt = 200

    /// `submit_task`: `POST /v1/tasks` with the arguments as its body (they are members of it).
    @Sendable static func submit(_ call: Call, _ api: any APIRequestSender) async throws -> JSONValue {
        try await api.apiRequest(.POST, "/v1/tasks", query: [], body: .object(call.arguments.filter { $0.value != .null }))
    }

    /// `task_result`: the task's outcome, from `GET /v1/tasks/{id}`.
    @Sendable static func result(_ call: Call, _ api: any APIRequestSender) async throws -> JSONValue {
        let task = try await api.apiRequest(.GET, api.taskPath(call.string("task_id")!), query: [], body: nil)
        var answer = pick(task, ["id", "agent", "state", "result", "error", "finished_at", "cost_usd", "tokens_used"])
        answer["finished"] = .bool(NightshiftClient.terminalStates.contains(task["state"]?.stringValue ?? ""))
        if let waiting = task["waiting_for"], waiting != .null { answer["waiting_for"] = waiting }
        return .object(answer)
    }

    /// `list_tasks`: `GET /v1/tasks` with the filters, each task in short.
    @Sendable static func list(_ call: Call, _ api: any APIRequestSender) async throws -> JSONValue {
        var query = ["state", "agent", "label", "lane", "cursor"].compactMap { name in call.string(name).map { (name, $0) } }
        query.append(("limit", String(call.integer("limit") ?? 20)))
        let page = try await api.apiRequest(.GET, "/v1/tasks", query: query, body: nil)
        let tasks = (page["tasks"]?.arrayValue ?? []).map { task in
            var short = pick(task, ["id", "agent", "state", "labels", "created_at", "updated_at", "finished_at", "cost_usd"])
            let prompt = task["prompt"]?.stringValue ?? ""
            short["prompt"] = .string(prompt.count > promptExcerpt ? String(prompt.prefix(promptExcerpt - 1)) + "…" : prompt)
            return JSONValue.object(short)
        }
        return ["tasks": .array(tasks), "next_cursor": page["next_cursor"] ?? .null]
    }

    /// `list_agents`: `GET /v1/agents`, each agent in short.
    @Sendable static func agents(_ call: Call, _ api: any APIRequestSender) async throws -> JSONValue {
        let answer = try await api.apiRequest(.GET, "/v1/agents", query: [], body: nil)
        let agents = (answer["agents"]?.arrayValue ?? []).map { JSONValue.object(pick($0, ["name", "runner", "budget_usd", "spent_usd"])) }
        return ["agents": .array(agents)]
    }

    /// `send_input` and `approve`: `POST /v1/tasks/{id}/inputs` of `kind` with `text`.
    static func input(_ call: Call, _ api: any APIRequestSender, kind: String, text: JSONValue?) async throws -> JSONValue {
        var body: [String: JSONValue] = ["kind": .string(kind)]
        if let text { body["text"] = text }
        let headers = call.string("idempotency_key").map { [("Idempotency-Key", $0)] } ?? []
        return try await api.apiRequest(.POST, api.taskPath(call.string("task_id")!, "/inputs"), query: [], body: .object(body), headers: headers)
    }

    /// The members `names` of `object` (`null` for one it lacks).
    static func pick(_ object: JSONValue, _ names: [String]) -> [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: names.map { ($0, object[$0] ?? .null) })
    }
}
