import Foundation
import HTTPTypes
import Nightshift
import NightshiftDaemon
import Synchronization
import Testing

/// Every exchange an ``APIHarness`` had with its daemon, and the check that each JSON answer is
/// what the OpenAPI document says the route answers with that status.
final class ExchangeRecorder: Sendable {
    /// One request and its answer.
    struct Exchange: Sendable {
        var method: String
        /// The path without the query.
        var path: String
        var status: Int
        var contentType: String?
        var body: String
    }

    private let exchanges = Mutex<[Exchange]>([])

    func record(_ exchange: Exchange) {
        exchanges.withLock { $0.append(exchange) }
    }

    /// What was recorded so far.
    var recorded: [Exchange] { exchanges.withLock { $0 } }

    /// The routes of ``APIServer/routes`` answered with a success, as `METHOD /path/{param}`.
    var routesAnswered: Set<String> {
        Set(recorded.filter { (200..<300).contains($0.status) }.compactMap { exchange in
            Self.route(exchange.method, exchange.path).map { "\(exchange.method) \($0)" }
        })
    }

    /// The route template `path` is on, if any: literal segments win over `{parameters}`.
    static func route(_ method: String, _ path: String) -> String? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return APIServer.routes.map(\.path).filter { template in
            let parts = template.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == segments.count && zip(parts, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }.max { $0.filter { $0 == "{" }.count > $1.filter { $0 == "{" }.count }
    }

    /// Why `exchange`'s answer is not what the document says; empty when it is.
    static func violations(of exchange: Exchange, in document: JSONValue) -> [String] {
        let label = "\(exchange.method) \(exchange.path) → \(exchange.status)"
        let validator = JSONSchemaValidator(document: document)
        let error: JSONValue = ["$ref": "#/components/schemas/Error"]
        guard let route = route(exchange.method, exchange.path),
              let operation = document["paths"]?[route]?[exchange.method.lowercased()]
        else {
            // No route (404) or not this method (405): the error shape.
            guard let json = try? JSONValue(jsonText: exchange.body) else { return ["\(label): not JSON: \(exchange.body.prefix(200))"] }
            return validator.violations(of: json, against: error).map { "\(label): \($0)" }
        }
        guard let answer = operation["responses"]?[String(exchange.status)] else {
            return ["\(label): the status is not documented for \(exchange.method) \(route)"]
        }
        guard exchange.contentType?.hasPrefix("application/json") == true else {
            if exchange.body.isEmpty, answer["content"] == nil { return [] }
            let documented = answer["content"]?.objectValue?.keys.contains { exchange.contentType?.hasPrefix($0) == true } ?? false
            return documented ? [] : ["\(label): content type \(exchange.contentType ?? "none") is not documented"]
        }
        guard let schema = answer["content"]?["application/json"]?["schema"] else {
            return ["\(label): a JSON body where the document has none"]
        }
        guard let json = try? JSONValue(jsonText: exchange.body) else { return ["\(label): not JSON: \(exchange.body.prefix(200))"] }
        return validator.violations(of: json, against: schema).map { "\(label): \($0)" }
    }

    /// Records an issue for every answer the document does not describe.
    func expectDocumented(sourceLocation: SourceLocation = #_sourceLocation) {
        let document = OpenAPIDocument.document
        for exchange in recorded {
            for violation in Self.violations(of: exchange, in: document) {
                Issue.record(Comment(rawValue: violation), sourceLocation: sourceLocation)
            }
        }
    }
}
