import Foundation
import HTTPTypes
import Hummingbird
import Nightshift
import Tracing

/// The handlers of the task, status and agent routes.
extension APIServer {
    func ready() async throws -> Response {
        do {
            // A database that went away may keep a query waiting for a connection: not ready
            // if the store does not take a write (locked, full, read-only) within two seconds.
            let node = engine.configuration.nodeID
            _ = try await answer(within: .seconds(2)) { [store = engine.store] in try await store.probeWrite(node: node, now: Date()) }
            return Self.reply(WireHealth(status: "ok"))
        } catch {
            throw APIFailure(.serviceUnavailable, code: "store_unavailable", message: "the store does not take a write: \(error)")
        }
    }

    func submit(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let body = try await Self.body(request)
        let key = try Self.idempotencyKey(request)
        let scope = try scope(context)
        let wire = try WireNewTask(body: body)
        // The task's workspace is the token's: naming another is refused, not silently ignored.
        if let named = wire.workspaceID, named != scope.workspace {
            throw NightshiftError.invalid("workspace_id", "expected the token's workspace '\(scope.workspace)' or nothing")
        }
        let new = try wire.newTask(idempotencyHeader: key, now: Date())
        if let policy = new.policy, context.principal?.has(.admin) != true { try await Self.checkNarrows(policy, of: new, in: scope) }
        // A caller's W3C trace context: the task's spans join the caller's trace.
        let tracing = engine.configuration.tracing
        let parent = tracing.context(
            traceParent: request.headers[HTTPField.Name("traceparent")!], tracestate: request.headers[HTTPField.Name("tracestate")!])
        let result = try await InstrumentationContext.withValue(parent) { try await scope.submit(new) }
        return Self.reply(WireTask(result.task), status: result.inserted ? .created : .ok)
    }

    /// Refuses (403, naming the field) a task policy wider than its agent's: only an admin may widen it.
    private static func checkNarrows(_ policy: ExecutionPolicy, of new: NewTask, in scope: WorkspaceScope) async throws {
        var name = new.agent
        if name.isEmpty, let parent = new.parentID, let task = try await scope.task(parent) { name = task.agent }
        // An unknown agent is the submit's own error (422 naming agent).
        guard let agent = try await scope.agent(named: name), let wider = policy.widening(agent.policy.resolved) else { return }
        throw APIFailure(
            .forbidden, code: "forbidden",
            message: "policy.\(wider.field) is wider than agent \(agent.name) allows (\(wider.allowed)); only an admin token may widen it",
            field: "policy.\(wider.field)")
    }

    func listTasks(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        var query = TaskQuery()
        if let states = parameters["state"] {
            query.states = try states.split(separator: ",").map { text in
                guard let state = TaskState(rawValue: String(text)) else {
                    throw NightshiftError(.invalidInput, "expected one of \(TaskState.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'", field: "state")
                }
                return state
            }
        }
        query.agent = parameters["agent"].map(String.init)
        query.label = parameters["label"].map(String.init)
        query.lane = parameters["lane"].map(String.init)
        query.scheduleID = parameters["schedule_id"].map(String.init)
        query.createdAfter = try parameters["created_after"].map { try Self.date(String($0), field: "created_after") }
        query.createdBefore = try parameters["created_before"].map { try Self.date(String($0), field: "created_before") }
        switch parameters["archived"] {
        case nil, "false": query.archived = false
        case "true": query.archived = true
        case "any": query.archived = nil
        case let other?: throw NightshiftError(.invalidInput, "expected true, false or any, got '\(other)'", field: "archived")
        }
        if let cursor = parameters["cursor"] { query.cursor = try TaskCursor(text: String(cursor)) }
        query.limit = try Self.limit(request, default: query.limit, maximum: TaskQuery.maxLimit)
        let page = try await scope(context).listTasks(query)
        return Self.reply(WireTaskPage(tasks: page.tasks.map(WireTask.init), nextCursor: page.nextCursor?.text))
    }

    func patchTask(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let id = try Self.taskID(context)
        guard let priority = try WireTaskPatch(body: try await Self.body(request)).priority else {
            throw NightshiftError(.invalidInput, "is required (an integer ≥ 0)", field: "priority")
        }
        return Self.reply(WireTask(try await scope(context).setPriority(id, to: priority)))
    }

    func perform(_ action: LifecycleAction, _ context: APIRequestContext) async throws -> Response {
        Self.reply(WireTask(try await scope(context).transition(try Self.taskID(context), action)))
    }

    func status(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let scope = try scope(context)
        let counts = try await scope.countsByState()
        let now = Date()
        // Run totals are counters of the whole store, kept by every settle: not per workspace.
        let totals = try await engine.store.runTotals()
        let refresh = request.uri.queryParameters["refresh"].map { $0 == "true" || $0 == "1" } ?? false
        let stats = Dictionary(uniqueKeysWithValues: try await scope.agentStats().map { ($0.agent, $0) })
        let quotas = engine.quotas()
        let pacing = Dictionary(try await scope.agentPacing().map { ($0.agent.name, $0) }) { first, _ in first }
        let agents = try await scope.availability(maxAge: refresh ? .zero : .seconds(30)).map { report in
            WireAgentStatus(
                report, stats: WireAgentStats(stats[report.agent] ?? AgentStats(agent: report.agent, tasks: 0, costUSD: 0, totals: TaskTotals())),
                quota: quotas[report.agent].map { WireQuota(status: $0.status, observedAt: $0.observedAt) },
                pacing: pacing[report.agent].map(WirePacing.init))
        }
        return Self.reply(WireStatus(
            agents: agents,
            counts: Dictionary(uniqueKeysWithValues: TaskState.allCases.map { ($0.rawValue, counts[$0] ?? 0) }),
            queueDepth: [TaskState.queued, .waiting, .paused].reduce(0) { $0 + (counts[$1] ?? 0) },
            activeRuns: scope.activeRuns().map { WireActiveRun($0, now: now) },
            recentRuns: try await scope.recentRuns(limit: 20).map(WireRun.init),
            totals: WireStatus.Totals(invocations: totals.invocations, succeeded: totals.succeeded, failed: totals.failed),
            blockedStale: try await scope.blockedStale().map(WireBlockedTask.init),
            detectors: try await scope.detectors().map(WireDetector.init)))
    }

    func events(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let id = try await task(context).id
        let after = try Self.cursor(request, of: "an event seq")
        if request.headers[.accept]?.contains("text/event-stream") == true {
            return EventStream(feed: engine.store, scope: try scope(context), task: id, after: after, changes: engine.taskChanges, poll: streamPoll) { [engine] in
                engine.drainDeadline != nil
            }.response()
        }
        let limit = try Self.limit(request, default: 100, maximum: 1000)
        let events = try await scope(context).events(task: id, after: after, limit: limit)
        return Self.reply(WireEventPage(events: events.map(WireEvent.init), nextAfter: events.last?.seq ?? after))
    }

    func createAgent(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let agent = try WireAgentWrite(body: try await Self.body(request)).agent(pathName: nil)
        if try await scope(context).agent(named: agent.name) != nil {
            throw APIFailure(.conflict, code: "conflict", message: "agent '\(agent.name)' exists; use PUT /v1/agents/\(agent.name) to replace it", field: "name")
        }
        return Self.reply(try await wireAgent(try await save(agent, context), context), status: .created)
    }

    func deleteAgent(_ context: APIRequestContext) async throws -> Response {
        let name = try Self.parameter(context, "name")
        guard try await scope(context).deleteAgent(named: name) else {
            throw APIFailure(.notFound, code: "not_found", message: "no agent named '\(name)'", field: "name")
        }
        return Response(status: .noContent)
    }

    // MARK: Helpers

    func task(_ context: APIRequestContext) async throws -> AgentTask {
        let id = try Self.taskID(context)
        guard let task = try await scope(context).task(id) else { throw NightshiftError.taskNotFound(id) }
        return task
    }

    /// Saves `agent` and answers it as stored: a replaced agent keeps what it has spent, which
    /// the request body does not carry.
    func save(_ agent: Agent, _ context: APIRequestContext) async throws -> Agent {
        let scope = try scope(context)
        try await scope.saveAgent(agent)
        return try await scope.agent(named: agent.name) ?? agent
    }

    /// The wire form of `agent` with its pacing now.
    func wireAgent(_ agent: Agent, _ context: APIRequestContext) async throws -> WireAgent {
        try await wireAgents([agent], context)[0]
    }

    /// The wire forms of `agents` (of the context's workspace) with their pacing now.
    func wireAgents(_ agents: [Agent], _ context: APIRequestContext) async throws -> [WireAgent] {
        let pacing = Dictionary(try await scope(context).agentPacing().map { ($0.agent.name, $0) }) { first, _ in first }
        return agents.map { WireAgent($0, pacing: pacing[$0.name]) }
    }

    func agent(_ context: APIRequestContext) async throws -> Agent {
        let name = try Self.parameter(context, "name")
        guard let agent = try await scope(context).agent(named: name) else {
            throw APIFailure(.notFound, code: "not_found", message: "no agent named '\(name)'", field: "name")
        }
        return agent
    }
}
