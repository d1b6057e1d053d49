import Foundation
import HTTPTypes
import Hummingbird
import Nightshift
import NIOCore

/// The pages of the dashboard's navigation.
enum DashboardSection: String, CaseIterable, Sendable {
    case tasks = "Tasks"
    case needsYou = "Needs you"
    case agents = "Agents & queues"

    /// Where the section lives.
    var path: String {
        switch self {
        case .tasks: "/"
        case .needsYou: "/needs-you"
        case .agents: "/agents"
        }
    }
}

/// The frame of every dashboard page and the headers every dashboard answer carries.
enum DashboardLayout {
    /// No inline script or style, no other origin, no framing: agent output that slipped through
    /// escaping still could not run.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// The headers of an HTML answer.
    static func headers(contentType: String = "text/html; charset=utf-8") -> HTTPFields {
        [
            .contentType: contentType, .cacheControl: "no-store",
            .contentSecurityPolicy: contentSecurityPolicy,
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("X-Frame-Options")!: "DENY",
            HTTPField.Name("Referrer-Policy")!: "same-origin",
        ]
    }

    /// A whole page: `body` inside the navigation, for `principal`. `started` (when the request's
    /// handling began) becomes a `Server-Timing` header, which `nightshift bench` D1 reads.
    static func page(
        _ title: String, section: DashboardSection?, request: Request, principal: Principal?, status: HTTPResponse.Status = .ok,
        started: ContinuousClock.Instant? = nil, body: HTML
    ) -> Response {
        let nav = HTML(joining: DashboardSection.allCases.map { item in
            "<a href=\"\(item.path)\"\(item == section ? " class=\"active\" aria-current=\"page\"" : HTML.empty)>\(item.rawValue)</a>"
        })
        var who = HTML.empty
        if let principal {
            let logout: HTML = DashboardCredential.csrf(request).map { csrf in
                "<form method=\"post\" action=\"/logout\">\(hiddenCSRF(csrf))<button type=\"submit\">Sign out</button></form>"
            } ?? .empty
            who = "<div class=\"who\"><span>\(principal.workspace) · \(principal.role.rawValue)</span>\(logout)</div>"
        }
        let header: HTML = principal == nil ? .empty : """
            <header class="top"><a class="brand" href="/">Nightshift</a><nav>\(nav)</nav>\(who)</header>
            """
        let html: HTML = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="color-scheme" content="light dark"><link rel="icon" href="data:,"><title>\(title) · Nightshift</title>
            <link rel="stylesheet" href="/assets/dashboard.css"><script src="/assets/dashboard.js" defer></script></head>
            <body>\(header)<main>\(body)</main></body></html>
            """
        var headers = headers()
        if let started {
            let milliseconds = (ContinuousClock.now - started).seconds * 1000
            headers[HTTPField.Name("Server-Timing")!] = String(format: "render;dur=%.3f", milliseconds)
        }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html.text)))
    }

    /// The hidden field that carries the session's CSRF token (nothing for a bearer request).
    static func hiddenCSRF(_ csrf: String?) -> HTML {
        csrf.map { "<input type=\"hidden\" name=\"csrf\" value=\"\($0)\">" } ?? .empty
    }

    /// A one-button form posting to `action`, with the CSRF token and a `back` path.
    static func button(
        _ label: String, action: String, csrf: String?, back: String? = nil, style: String? = nil, confirm: String? = nil
    ) -> HTML {
        let backField: HTML = back.map { "<input type=\"hidden\" name=\"back\" value=\"\($0)\">" } ?? .empty
        let classes: HTML = style.map { " class=\"\($0)\"" } ?? .empty
        let ask: HTML = confirm.map { " data-confirm=\"\($0)\"" } ?? .empty
        return """
            <form method="post" action="\(action)">\(hiddenCSRF(csrf))\(backField)<button type="submit"\(classes)\(ask)>\(label)</button></form>
            """
    }

    /// An HTML fragment answer (for the script's live updates).
    static func fragment(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: headers(), body: ResponseBody(byteBuffer: ByteBuffer(string: html.text)))
    }
}
