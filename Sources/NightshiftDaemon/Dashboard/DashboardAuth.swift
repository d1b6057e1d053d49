import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Nightshift

/// How a dashboard request proves who it is: the API's `Authorization: Bearer` header (scripts,
/// tests), else the cookie the login form set. The cookie holds the token itself, so a revoked or
/// rotated token stops working at once, as on the API.
enum DashboardCredential {
    /// The cookie's name.
    static let cookie = "nightshift_token"

    /// The bearer token of the request, if it sent one.
    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        return String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// The token in the request's cookie, if any.
    static func cookieToken(_ request: Request) -> String? {
        request.cookies[cookie]?.value.removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The CSRF token of a session: an HMAC of a fixed text keyed by the session's token. A page
    /// from another site cannot compute it, it needs no storage, and every node computes the same.
    static func csrf(for token: String) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("nightshift dashboard csrf v1".utf8), using: SymmetricKey(data: Data(token.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// The CSRF token the forms of a page for `request` carry: `nil` for a bearer-authenticated
    /// request, which needs none (a browser never adds that header to another site's form).
    static func csrf(_ request: Request) -> String? {
        guard bearer(request) == nil, let token = cookieToken(request) else { return nil }
        return csrf(for: token)
    }

    /// Whether `presented` is the CSRF token of `token`, compared in constant time.
    static func checkCSRF(_ presented: String?, token: String) -> Bool {
        guard let presented else { return false }
        let expected = Array(csrf(for: token).utf8)
        let given = Array(presented.utf8)
        guard given.count == expected.count else { return false }
        return zip(given, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// Whether the request came over TLS as its client sees it: the daemon's public URL is https,
    /// or a TLS-terminating proxy says so. The cookie is then `Secure`.
    static func overTLS(_ request: Request, publicURL: String?) -> Bool {
        publicURL?.lowercased().hasPrefix("https://") == true
            || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }

    /// The session cookie holding `token` (an empty value with `Max-Age=0` clears it).
    static func sessionCookie(_ token: String, secure: Bool) -> Cookie {
        let value = token.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
        return Cookie(
            name: cookie, value: value, maxAge: token.isEmpty ? 0 : nil, path: "/", secure: secure, httpOnly: true, sameSite: .strict)
    }

    /// Whether an unsafe request's `Origin` (when the browser sent one) is this host, or the
    /// daemon's public URL (behind a proxy that does not pass the `Host` on): a form posted from
    /// another site is refused even before its CSRF token is looked at.
    static func sameOrigin(_ request: Request, publicURL: String?) -> Bool {
        guard let origin = request.headers[.origin]?.lowercased() else { return true }
        if let host = request.head.authority?.lowercased(), origin.hasSuffix("//" + host) { return true }
        guard let publicURL = publicURL.flatMap(URL.init(string:)), let scheme = publicURL.scheme, let host = publicURL.host else { return false }
        return origin == "\(scheme)://\(host)\(publicURL.port.map { ":\($0)" } ?? "")".lowercased()
    }
}

/// The principal of a dashboard request, from its bearer header or its cookie. Without one that
/// a token store knows, a page request is sent to `/login` (an unknown and a revoked token alike,
/// with no detail, and the stale cookie cleared). A cookie-authenticated POST must carry
/// the session's CSRF token (form field `csrf` or header `X-CSRF-Token`) and, when the browser
/// says, come from this origin.
struct DashboardAuthMiddleware: RouterMiddleware {
    let authority: TokenAuthority
    let store: any TokenStore
    let publicURL: String?

    func handle(
        _ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        let bearer = DashboardCredential.bearer(request)
        guard let token = bearer ?? DashboardCredential.cookieToken(request),
              let principal = try await authority.principal(for: token, store: store)
        else {
            return Self.toLogin(request, clearing: DashboardCredential.cookieToken(request) != nil, publicURL: publicURL)
        }
        var context = context
        context.principal = principal
        var request = request
        if bearer == nil, request.method != .get, request.method != .head {
            guard DashboardCredential.sameOrigin(request, publicURL: publicURL) else {
                throw DashboardFailure(.forbidden, "This form came from another site and was refused.")
            }
            var presented = request.headers[HTTPField.Name("X-CSRF-Token")!]
            if presented == nil { presented = try await DashboardForm(request: &request)["csrf"] }
            guard DashboardCredential.checkCSRF(presented, token: token) else {
                throw DashboardFailure(.forbidden, "This form's CSRF token is not this session's (the page may be from an earlier sign-in). Go back, reload the page and try again.")
            }
        }
        return try await next(request, context)
    }

    /// `303 See Other` to the login page, remembering where the person was going (a GET's path).
    static func toLogin(_ request: Request, clearing: Bool, publicURL: String?) -> Response {
        var location = "/login"
        if request.method == .get, let path = request.uri.string.addingPercentEncoding(withAllowedCharacters: .alphanumerics), request.uri.path != "/" {
            location += "?next=" + path
        }
        var response = Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
        if clearing { response.setCookie(DashboardCredential.sessionCookie("", secure: DashboardCredential.overTLS(request, publicURL: publicURL))) }
        return response
    }
}
