import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Nightshift
import Synchronization

/// A real HTTP receiver of webhook deliveries on loopback, for tests: it checks each delivery's
/// signature with the secret (HMAC-SHA256 of `"<timestamp>.<body>"`, as docs/hooks.md tells a
/// receiver to), answers as `respond` says (per delivery id and the how-many-th try of it), and
/// records what it received.
public final class WebhookReceiver: Sendable {
    /// One delivery received.
    public struct Received: Sendable, Hashable {
        /// `X-Nightshift-Delivery`.
        public var deliveryID: String
        /// The event's seq, from the body.
        public var seq: Int64
        /// The event's type, from the body.
        public var type: String
        /// The body.
        public var body: JSONValue
        /// Whether the signature was right.
        public var signed: Bool
        /// The how-many-th try of this delivery id (1-based).
        public var attempt: Int
        /// The status answered.
        public var status: Int
    }

    private struct State {
        var received: [Received] = []
        var tries: [String: Int] = [:]
    }

    private let state = Mutex(State())
    private let secret: String
    private let respond: @Sendable (_ deliveryID: String, _ attempt: Int) async -> (status: Int, headers: [String: String])

    /// A receiver checking signatures with `secret`; `respond` decides each answer (it may sleep to
    /// hang); by default 200.
    public init(
        secret: String, respond: @escaping @Sendable (_ deliveryID: String, _ attempt: Int) async -> (status: Int, headers: [String: String]) = { _, _ in (200, [:]) }
    ) {
        self.secret = secret
        self.respond = respond
    }

    /// Everything received so far, in order of arrival.
    public var received: [Received] { state.withLock { $0.received } }

    /// The deliveries answered 2xx, in order of arrival.
    public var accepted: [Received] { received.filter { (200..<300).contains($0.status) } }

    /// Runs the receiver on 127.0.0.1 (a free port) around `body`, which gets its URL.
    public func serving<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            let text = String(buffer: buffer)
            let timestamp = request.headers[HTTPField.Name("X-Nightshift-Timestamp")!] ?? ""
            let signature = request.headers[HTTPField.Name("X-Nightshift-Signature")!] ?? ""
            let deliveryID = request.headers[HTTPField.Name("X-Nightshift-Delivery")!] ?? ""
            let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(text)".utf8), using: SymmetricKey(data: Data(self.secret.utf8)))
            let expected = "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
            let json = (try? JSONValue(jsonText: text)) ?? .null
            let attempt = self.state.withLock { state -> Int in
                state.tries[deliveryID, default: 0] += 1
                return state.tries[deliveryID]!
            }
            let (status, headers) = await self.respond(deliveryID, attempt)
            self.state.withLock { state in
                state.received.append(Received(
                    deliveryID: deliveryID, seq: Int64(json["seq"]?.doubleValue ?? -1), type: json["type"]?.stringValue ?? "", body: json,
                    signed: signature == expected, attempt: attempt, status: status))
            }
            var fields = HTTPFields()
            for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
            return Response(status: .init(code: status), headers: fields)
        }
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "receiver"),
            onServerRunning: { channel in
                bound.yield(channel.localAddress?.port ?? 0)
                bound.finish()
            },
            logger: Logger(label: "webhook-receiver"))
        return try await withServices([app], logger: Logger(label: "webhook-receiver")) {
            var port = 0
            for await value in ports { port = value }
            return try await body("http://127.0.0.1:\(port)/hook")
        }
    }
}
