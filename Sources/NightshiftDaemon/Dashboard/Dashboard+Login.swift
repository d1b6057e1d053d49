import Foundation
import Hummingbird
import Nightshift

/// Signing in and out: the login form takes a token (the one in the data directory, or one made
/// with `nightshift tokens create`), checks it as the API would, and keeps it in an HttpOnly,
/// SameSite=Strict cookie (Secure over TLS).
extension Dashboard {
    /// `GET /login` (`next`: where to go after): the form.
    /// `GET /login` (`next`: where to go after; `failed`: a token was just refused): the form.
    func loginPage(_ request: Request) -> Response {
        let query = DashboardForm(encoded: request.uri.query ?? "")
        let next = Self.safeBack(query["next"]) ?? "/"
        let failed = query["failed"] != nil
        let notice: HTML = failed ? "<p class=\"notice\" role=\"alert\">That token was not accepted.</p>" : .empty
        let body: HTML = """
            <section class="panel login"><h1>Nightshift</h1>\(notice)
            <form method="post" action="/login"><input type="hidden" name="next" value="\(next)">
            <label for="token">API token</label>
            <input type="password" id="token" name="token" autocomplete="current-password" required autofocus>
            <button type="submit" class="primary">Sign in</button></form>
            <p class="muted small">The token is in <code>token</code> in the daemon's data directory, or make one with <code>nightshift tokens create</code>.</p>
            </section>
            """
        return DashboardLayout.page("Sign in", section: nil, request: request, principal: nil, body: body)
    }

    /// `POST /login` (`token`, `next`): with a token a store knows, the cookie and `303` to `next`;
    /// otherwise `303` back to the form, which says only that the token was not accepted.
    func login(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        var request = request
        guard DashboardCredential.sameOrigin(request, publicURL: server.engine.configuration.publicURL) else { throw DashboardFailure(.forbidden, "This form came from another site and was refused.") }
        let form = try await DashboardForm(request: &request)
        let token = (form["token"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty, try await server.authority.principal(for: token, store: server.engine.store) != nil else {
            let next = Self.safeBack(form["next"]).flatMap { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) } ?? "%2F"
            return Response(status: .seeOther, headers: [.location: "/login?failed=1&next=\(next)", .cacheControl: "no-store"])
        }
        var response = Self.redirect(back: form["next"], fallback: "/")
        response.setCookie(DashboardCredential.sessionCookie(
            token, secure: DashboardCredential.overTLS(request, publicURL: server.engine.configuration.publicURL)))
        return response
    }

    /// `POST /logout`: clears the cookie; back to the login page.
    func logout(_ request: Request) -> Response {
        var response = Response(status: .seeOther, headers: [.location: "/login", .cacheControl: "no-store"])
        response.setCookie(DashboardCredential.sessionCookie(
            "", secure: DashboardCredential.overTLS(request, publicURL: server.engine.configuration.publicURL)))
        return response
    }
}
