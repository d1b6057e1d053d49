import Foundation
import Hummingbird
import Nightshift

extension APIServer {
    /// The prefix of every route that needs a bearer token.
    static let v1Prefix = "/v1"

    /// Every route with its handler. The router is built from this table, the OpenAPI document
    /// must describe exactly these (a test checks), and a path's other methods answer 405.
    public static let routes: [APIRoute] = [
        .open(.get, "/healthz") { _, _, _ in reply(WireHealth(status: "ok")) },
        .open(.get, "/readyz") { server, _, _ in try await server.ready() },
        .open(.get, "/openapi.json") { _, _, _ in json(OpenAPIDocument.document) },

        .v1(.post, "tasks") { try await $0.submit($1, $2) },
        .v1(.get, "tasks") { try await $0.listTasks($1, $2) },
        .v1(.get, "tasks/{id}") { server, _, context in reply(WireTask(try await server.task(context))) },
        .v1(.patch, "tasks/{id}") { try await $0.patchTask($1, $2) },
        .v1(.post, "tasks/{id}/cancel") { try await $0.end(.cancel, $1, $2) },
        .v1(.post, "tasks/{id}/retry") { try await $0.perform(.retry, $2) },
        .v1(.post, "tasks/{id}/pause") { try await $0.perform(.pause, $2) },
        .v1(.post, "tasks/{id}/resume") { try await $0.perform(.resume, $2) },
        .v1(.post, "tasks/{id}/archive") { server, _, context in
            reply(WireTask(try await server.scope(context).archive(try taskID(context))))
        },
        .v1(.post, "tasks/{id}/wake") { try await $0.wake($1, $2) },
        .v1(.post, "tasks/{id}/drop") { try await $0.end(.drop, $1, $2) },
        .v1(.post, "tasks/{id}/inputs") { try await $0.addInput($1, $2) },
        .v1(.get, "tasks/{id}/inputs") { try await $0.listInputs($2) },
        .v1(.get, "tasks/{id}/events") { try await $0.events($1, $2) },
        .v1(.get, "tasks/{id}/runs") { server, _, context in
            let id = try await server.task(context).id
            return reply(WireRunList(runs: try await server.scope(context).runs(task: id).map(WireRun.init)))
        },
        .v1(.get, "tasks/{id}/steps") { server, _, context in
            let id = try await server.task(context).id
            return reply(WireStepList(try await server.scope(context).steps(task: id)))
        },
        .v1(.get, "tasks/{id}/children") { try await $0.children($2) },
        .v1(.get, "tasks/{id}/diff") { try await $0.diff($1, $2) },
        .v1(.get, "tasks/{id}/artifacts") { try await $0.artifacts($2) },
        .v1(.get, "tasks/{id}/artifacts/{name}") { try await $0.artifact($2) },
        .v1(.get, "status") { try await $0.status($1, $2) },
        .v1(.get, "events") { try await $0.hookEvents($1, $2) },
        .v1(.post, "events") { try await $0.emitEvent($1, $2) },
        .v1(.get, "hooks/poll") { try await $0.pollHooks($1, $2) },
        .v1(.post, "hooks/ack") { try await $0.ackHooks($1, $2) },
        .v1(.get, "hooks/consumers") { try await $0.hookConsumers($2) },
        .v1(.delete, "hooks/consumers/{name}") { try await $0.deleteHookConsumer($2) },
        .v1(.get, "webhooks") { server, _, context in
            reply(WireWebhookList(webhooks: try await server.scope(context).webhooks().map(WireWebhook.init)))
        },
        .v1(.post, "webhooks") { try await $0.createWebhook($1, $2) },
        .v1(.get, "webhooks/{name}") { try await $0.webhook($2) },
        .v1(.put, "webhooks/{name}") { try await $0.putWebhook($1, $2) },
        .v1(.delete, "webhooks/{name}") { try await $0.deleteWebhook($2) },
        .v1(.get, "webhooks/{name}/deliveries") { try await $0.webhookDeliveries($1, $2) },
        .v1(.post, "webhooks/{name}/redeliver") { try await $0.redeliver($1, $2) },

        .v1(.get, "agents") { server, _, context in
            reply(WireAgentList(agents: try await server.wireAgents(try await server.scope(context).agents(), context)))
        },
        .v1(.post, "agents") { try await $0.createAgent($1, $2) },
        .v1(.get, "agents/{name}") { server, _, context in reply(try await server.wireAgent(try await server.agent(context), context)) },
        .v1(.put, "agents/{name}") { server, request, context in
            let agent = try WireAgentWrite(body: try await body(request)).agent(pathName: try parameter(context, "name"))
            return reply(try await server.wireAgent(try await server.save(agent, context), context))
        },
        .v1(.post, "agents/{name}/unpark") { server, _, context in
            let agent = try await server.agent(context)
            _ = try await server.scope(context).unpark(agent: agent.name)
            return reply(try await server.wireAgent(agent, context))
        },
        .v1(.delete, "agents/{name}") { try await $0.deleteAgent($2) },
        .v1(.get, "agents/{name}/stats") { try await $0.agentRunStats($1, $2) },

        .v1(.get, "detectors") { try await $0.listDetectors($2) },
        .v1(.post, "detectors/{name}/scan") { try await $0.scanDetector($1, $2) },
        .v1(.post, "detectors/{name}/signal") { try await $0.signalDetector($1, $2) },
        .v1(.get, "lanes") { try await $0.listLanes($2) },
        .v1(.put, "lanes/{name}") { try await $0.putLane($1, $2) },
        .v1(.delete, "lanes/{name}") { try await $0.deleteLane($2) },
        .v1(.get, "schedules") { try await $0.listSchedules($2) },
        .v1(.post, "schedules") { try await $0.createSchedule($1, $2) },
        .v1(.get, "schedules/{id}") { try await $0.schedule($2) },
        .v1(.put, "schedules/{id}") { try await $0.replaceSchedule($1, $2) },
        .v1(.delete, "schedules/{id}") { try await $0.deleteSchedule($2) },
        .v1(.post, "schedules/{id}/pause") { try await $0.pauseSchedule(true, $2) },
        .v1(.post, "schedules/{id}/resume") { try await $0.pauseSchedule(false, $2) },
        .v1(.post, "schedules/{id}/trigger") { try await $0.triggerSchedule($1, $2) },

        .v1(.get, "checkpoints") { try await $0.listCheckpoints($1, $2) },
        .v1(.post, "checkpoints") { try await $0.postCheckpoint($1, $2) },
        .v1(.get, "checkpoints/quarantine") { try await $0.quarantine($1, $2) },
        .v1(.post, "checkpoints/cleanup") { try await $0.cleanupCheckpoints($1, $2) },
        .v1(.get, "checkpoints/{id}") { try await $0.checkpoint($2) },
        .v1(.post, "checkpoints/{id}/resolve") { try await $0.resolveCheckpoint($2) },

        .v1(.get, "agents/{name}/memories") { try await $0.listMemories($1, $2) },
        .v1(.get, "agents/{name}/memories/{key}") { try await $0.memory($1, $2) },
        .v1(.put, "agents/{name}/memories/{key}") { try await $0.putMemory($1, $2) },
        .v1(.delete, "agents/{name}/memories/{key}") { try await $0.deleteMemory($1, $2) },

        // Tokens for admins (of any workspace's, for an admin of `default`); workspaces for
        // admins of `default`, checked by their handlers.
        .v1(.post, "tokens", role: .admin) { try await $0.createToken($1, $2) },
        .v1(.get, "tokens", role: .admin) { try await $0.listTokens($2) },
        .v1(.delete, "tokens/{id}", role: .admin) { try await $0.revokeToken($2) },
        .v1(.post, "workspaces", role: .admin) { try await $0.createWorkspace($1, $2) },
        .v1(.get, "workspaces", role: .admin) { try await $0.listWorkspaces($2) },
    ]

    /// The router: every route of ``routes``, the open ones at the root and the `/v1` ones in a
    /// group behind bearer auth; every other method of HTTP (but HEAD and CONNECT) on a known path
    /// answers 405 with the methods it takes, token or not; a method HTTP does not define is not found.
    /// With `mcp`, also `/mcp` (``MCPEndpoint``), behind the same auth: outside ``routes`` and the
    /// OpenAPI document, since it speaks JSON-RPC as the MCP specification says, and its tools'
    /// requests go through a router of ``routes`` alone. The web dashboard's pages are added too
    /// (``Dashboard``), outside ``routes``.
    public func router(mcp: Bool = true) -> Router<APIRequestContext> {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: DrainingMiddleware(engine: engine))
        var methods: [String: [HTTPRequest.Method]] = [:]
        for route in Self.routes { methods[route.path, default: []].append(route.method) }
        for (path, allowed) in methods {
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete, .options, .trace] where !allowed.contains(method) {
                router.on(APIRoute.routerPath(path), method: method) { request, _ -> Response in
                    throw APIFailure(
                        .methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(path); use \(allow)",
                        headers: [.allow: allow])
                }
            }
        }
        addMetricsRoute(to: router)
        let authentication = BearerAuthMiddleware(authority: authority, store: engine.store)
        if mcp { MCPEndpoint(api: self.router(mcp: false).buildResponder()).add(to: router, authentication: authentication) }
        let v1 = router.group(RouterPath(Self.v1Prefix)).add(middleware: authentication)
        for route in Self.routes {
            let handler = route.handler
            if let needed = route.role {
                let (method, path) = (route.method, route.path)
                v1.on(route.routerPath, method: route.method) { request, context in
                    let principal = try Self.principal(context)
                    guard principal.has(needed) else {
                        throw APIFailure(
                            .forbidden, code: "forbidden",
                            message: "a \(principal.role) token may not \(method) \(path): it needs the \(needed) role", field: "Authorization")
                    }
                    return try await handler(self, request, context)
                }
            } else {
                router.on(route.routerPath, method: route.method) { request, context in try await handler(self, request, context) }
            }
        }
        if mcp { Dashboard(server: self).register(on: router) }
        return router
    }
}
