import Foundation
import HTTPTypes
import Hummingbird
import Nightshift
import NIOCore

/// The web dashboard at `/` (docs/dashboard.md): server-rendered pages over the same engine,
/// tokens and workspace scope as the API, with a small script for live updates. Its routes are
/// not API routes (they are not in ``APIServer/routes`` nor in the OpenAPI document).
struct Dashboard: Sendable {
    let server: APIServer

    /// Adds the dashboard's routes to `router`: the login page and the assets open, every other
    /// page behind ``DashboardAuthMiddleware``; errors answered as HTML pages.
    func register(on router: Router<APIRequestContext>) {
        let publicURL = server.engine.configuration.publicURL
        router.get("/assets/dashboard.css") { _, _ in Self.asset(DashboardStyle.css, type: "text/css; charset=utf-8") }
        router.get("/assets/dashboard.js") { _, _ in Self.asset(DashboardScript.js, type: "text/javascript; charset=utf-8") }

        let open = router.group().add(middleware: DashboardErrorMiddleware())
        open.get("/login") { request, _ in self.loginPage(request) }
        open.post("/login") { request, context in try await self.login(request, context) }

        let pages = router.group().add(middleware: DashboardErrorMiddleware())
            .add(middleware: DashboardAuthMiddleware(authority: server.authority, store: server.engine.store, publicURL: publicURL))
        pages.post("/logout") { request, _ in self.logout(request) }
        pages.get("/") { request, context in try await self.tasksPage(request, context) }
        pages.post("/tasks/bulk") { request, context in try await self.bulk(request, context) }
        pages.get("/tasks/:id") { request, context in try await self.taskPage(request, context) }
        pages.get("/tasks/:id/row") { request, context in try await self.taskRow(request, context) }
        pages.get("/tasks/:id/live") { request, context in try await self.liveConversation(request, context) }
        pages.get("/tasks/:id/artifacts/:name") { _, context in try await self.server.artifact(context) }
        for action in TaskButton.allCases {
            pages.post("/tasks/:id/\(action.rawValue)") { request, context in try await self.perform(action, request, context) }
        }
        pages.post("/tasks/:id/input") { request, context in try await self.sendInput(request, context) }
        pages.get("/needs-you") { request, context in try await self.needsYouPage(request, context) }
        pages.get("/agents") { request, context in try await self.agentsPage(request, context) }
        // The list's live feed: each half second's changed tasks (``TaskChangeDigest``).
        pages.get("/feed") { _, context in try self.changeFeed(context) }
    }

    /// A static asset: cached for an hour (the binary's version is in no URL, so not for long).
    static func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: type, .cacheControl: "public, max-age=3600", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Refuses (403) a token that may only read.
    static func requireMember(_ context: APIRequestContext) throws {
        let principal = try APIServer.principal(context)
        guard principal.has(.member) else {
            throw DashboardFailure(.forbidden, "A \(principal.role.rawValue) token may look but not change anything.")
        }
    }

    /// `303 See Other` to the form's `back` path when it is one of this site's, else to `fallback`.
    static func redirect(back: String?, fallback: String) -> Response {
        Response(status: .seeOther, headers: [.location: safeBack(back) ?? fallback, .cacheControl: "no-store"])
    }

    /// `path` if it is a path on this site (`/…`, not `//host` nor `/\host`), else `nil`.
    static func safeBack(_ path: String?) -> String? {
        guard let path, path.hasPrefix("/"), !path.hasPrefix("//"), !path.hasPrefix("/\\"),
              !path.contains(where: { $0.isNewline || $0 == "\0" })
        else { return nil }
        return path
    }
}

/// A dashboard error answered as a page: its status and a sentence for a person.
struct DashboardFailure: Error, Sendable {
    /// The HTTP status.
    var status: HTTPResponse.Status
    /// What went wrong.
    var message: String

    /// A failure with `status` saying `message`.
    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// Answers a dashboard route's errors as an HTML page with the error's status and message (an
/// API failure keeps its status and message, a framework error its status); a 401 sends the
/// person to the login page instead, with no detail.
struct DashboardErrorMiddleware: RouterMiddleware {
    func handle(
        _ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let (status, message): (HTTPResponse.Status, String)
            if let failure = error as? DashboardFailure {
                (status, message) = (failure.status, failure.message)
            } else {
                let failure = APIFailure(error)
                if failure.status == .internalServerError {
                    context.logger.error("dashboard request failed", metadata: ["nightshift.error": "\(error)", "nightshift.path": "\(request.uri.path)"])
                }
                (status, message) = (failure.status, failure.code == "not_found" && failure.field == nil ? "There is no such page." : failure.message)
            }
            if status == .unauthorized { return DashboardAuthMiddleware.toLogin(request, clearing: false, publicURL: nil) }
            let body: HTML = """
                <h1>\(status.reasonPhrase)</h1><section class="panel"><p>\(message)</p></section><p><a href="/">Back to the tasks</a></p>
                """
            return DashboardLayout.page(status.reasonPhrase, section: nil, request: request, principal: context.principal, status: status, body: body)
        }
    }
}
